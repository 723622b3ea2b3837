import type { EntityManager } from '@mikro-orm/postgresql';
import type { SqlCondition } from '../common/search';
import type { ContactKind } from './contact.entity';
import { KeyColumns, SortKey, keyColumns, keyOrder } from '../common/pagination';

/**
 * The SQL of the contacts feature, as typed functions. Each takes the entity manager to run on:
 * inside `em.transactional` pass the transaction's `tx`, whose `execute` joins the transaction.
 */

/** The stored fields of a contact, as a create or an edit writes them. */
export interface ContactFields {
  firstName: string | null;
  lastName: string | null;
  fullName: string;
  email: string | null;
  mobile: string | null;
  phone: string | null;
  department: string | null;
  jobTitle: string | null;
  employerId: number | null;
  organizationId: number;
}

/** A contact with its home organization, its employer and its user (if any). */
export interface ContactDetails extends ContactFields {
  id: number;
  kind: ContactKind;
  employerName: string | null;
  employerPath: string | null;
  organizationName: string;
  organizationPath: string;
  userId: number | null;
  username: string | null;
}

/** A row of the contacts list. */
export interface ContactListEntry {
  id: number;
  kind: ContactKind;
  fullName: string;
  email: string | null;
  organizationId: number;
  organizationName: string;
  userId: number | null;
  username: string | null;
}

/** A list row as read, with the sort keys `k0`, `k1`, … for the next page's cursor. */
export type ContactListDbRow = ContactListEntry & { organizationPath: string } & KeyColumns;

export interface OrganizationRow {
  id: number;
  name: string;
  path: string;
}

const CONTACT_COLUMNS = `c.id, c.kind, c.first_name as "firstName", c.last_name as "lastName", c.full_name as "fullName", c.email,
  c.mobile, c.phone, c.department, c.job_title as "jobTitle", c.employer_id as "employerId",
  e.full_name as "employerName", eo.path as "employerPath",
  o.id as "organizationId", o.name as "organizationName", o.path as "organizationPath",
  u.id as "userId", u.username`;
const CONTACT_FROM = `contacts c
  join organizations o on o.id = c.organization_id
  left join contacts e on e.id = c.employer_id
  left join organizations eo on eo.id = e.organization_id
  left join users u on u.contact_id = c.id`;

/** The contact, locked (`for update`) when `lock`: Enable Access and delete lock it, and so wait for each other. */
export async function findContact(em: EntityManager, id: number, lock = false): Promise<ContactDetails | null> {
  const rows: ContactDetails[] = await em.execute(`select ${CONTACT_COLUMNS} from ${CONTACT_FROM} where c.id = ?${lock ? ' for update of c' : ''}`, [id]);
  return rows[0] ?? null;
}

export async function findOrganization(em: EntityManager, id: number): Promise<OrganizationRow | null> {
  const [org]: OrganizationRow[] = await em.execute('select id, name, path from organizations where id = ?', [id]);
  return org ?? null;
}

/** One page of the list: `limit` rows matching `where`, ordered by the sort's keys. */
export async function contactListPage(em: EntityManager, keys: SortKey[], where: SqlCondition, limit: number): Promise<ContactListDbRow[]> {
  return em.execute(
    `select c.id, c.kind, c.full_name as "fullName", c.email, o.id as "organizationId", o.name as "organizationName", o.path as "organizationPath",
            u.id as "userId", u.username, ${keyColumns(keys)}
       from contacts c join organizations o on o.id = c.organization_id left join users u on u.contact_id = c.id
      where ${where.sql}
      order by ${keys.map((k) => k.sql).join(', ')}
      limit ?`,
    [...where.params, limit],
  );
}

/** How many contacts name this one as their employer. */
export async function employeeCount(em: EntityManager, contactId: number): Promise<number> {
  const [{ count }]: { count: number }[] = await em.execute('select count(*)::int as count from contacts where employer_id = ?', [contactId]);
  return count;
}

/** The organization contacts in `scope` (organizations `o`) that may be an employer, except `exceptId`. */
export async function employerOptions(em: EntityManager, scope: SqlCondition, exceptId: number | null): Promise<{ id: number; name: string }[]> {
  return em.execute(
    `select c.id, c.full_name as name from contacts c join organizations o on o.id = c.organization_id
      where c.kind = 'organization' and c.id <> ? and ${scope.sql}
      order by lower(c.full_name), c.id`,
    [exceptId ?? 0, ...scope.params],
  );
}

/** The organizations in `scope` (alias `o`), in tree order. */
export async function organizationsIn(em: EntityManager, scope: SqlCondition): Promise<{ id: number; name: string; depth: number }[]> {
  return em.execute(`select o.id, o.name, o.depth from organizations o where ${scope.sql} order by o.path`, scope.params);
}

/** The managed list of departments, by name. */
export async function departmentNames(em: EntityManager): Promise<string[]> {
  const rows: { name: string }[] = await em.execute('select name from departments order by lower(name)');
  return rows.map((r) => r.name);
}

/** The department of the list with this name (any case), as the list spells it. */
export async function departmentNamed(em: EntityManager, name: string): Promise<string | null> {
  const [row]: { name: string }[] = await em.execute('select name from departments where lower(name) = lower(?)', [name]);
  return row?.name ?? null;
}

export async function insertContact(tx: EntityManager, kind: ContactKind, v: ContactFields): Promise<number> {
  const [created]: { id: number }[] = await tx.execute(
    `insert into contacts (kind, first_name, last_name, full_name, email, mobile, phone, department, job_title, employer_id, organization_id)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning id`,
    [kind, v.firstName, v.lastName, v.fullName, v.email, v.mobile, v.phone, v.department, v.jobTitle, v.employerId, v.organizationId],
  );
  return created.id;
}

export async function updateContact(tx: EntityManager, id: number, v: ContactFields): Promise<void> {
  await tx.execute(
    `update contacts set first_name = ?, last_name = ?, full_name = ?, email = ?, mobile = ?, phone = ?, department = ?, job_title = ?,
            employer_id = ?, organization_id = ?, updated_at = now()
      where id = ?`,
    [v.firstName, v.lastName, v.fullName, v.email, v.mobile, v.phone, v.department, v.jobTitle, v.employerId, v.organizationId, id],
  );
}

export async function deleteContact(tx: EntityManager, id: number): Promise<void> {
  await tx.execute('delete from contacts where id = ?', [id]);
}
