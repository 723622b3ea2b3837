import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuditChanges } from '../audit/audit-event.entity';
import type { AuditSource } from '../audit/audit.service';
import { phoneKey } from '../people/person-rules';
import { TakenKeys, UserKeys, externalKey } from './user-keys';

/**
 * The SQL of the provisioning core (`provisioning.service.ts`), as typed functions. Every one
 * takes the entity manager to run on: inside `em.transactional` the transaction's `tx`, whose
 * `execute` joins the transaction. The set-based writes pass their rows as one JSON parameter
 * (`jsonb_to_recordset`), 5,000 rows a statement.
 */

const json = (value: unknown) => JSON.stringify(value);
export const CHUNK = 5000;

/** What Settings → Interface decides for every new user that does not say otherwise. */
export interface ProvisioningDefaults {
  usernameFormat: string;
  roleIds: number[];
  profileId: number | null;
  licenceId: number | null;
  mustChangeAtFirstLogin: boolean;
}

export async function provisioningDefaults(em: EntityManager): Promise<ProvisioningDefaults> {
  const [settings]: { username_format: string; default_profile_id: number | null; default_licence_id: number | null; must_change_at_first_login: boolean }[] =
    await em.execute('select username_format, default_profile_id, default_licence_id, must_change_at_first_login from client_settings where id = 1');
  const roles: { role_id: number }[] = await em.execute('select role_id from client_settings_default_roles where settings_id = 1 order by role_id');
  return {
    usernameFormat: settings.username_format,
    roleIds: roles.map((r) => r.role_id),
    profileId: settings.default_profile_id,
    licenceId: settings.default_licence_id,
    mustChangeAtFirstLogin: settings.must_change_at_first_login,
  };
}

export interface RoleRow {
  id: number;
  name: string;
  built_in_key: string | null;
  permissions: string[] | null;
}

/** The roles of these ids that exist, by name. */
export async function rolesById(em: EntityManager, ids: number[]): Promise<RoleRow[]> {
  if (ids.length === 0) return [];
  return em.execute('select id, name, built_in_key, permissions from roles where id in (?) order by lower(name)', [ids]);
}

export async function organizationById(em: EntityManager, id: number): Promise<{ name: string; path: string } | null> {
  const [org]: { name: string; path: string }[] = await em.execute('select name, path from organizations where id = ?', [id]);
  return org ?? null;
}

/** The name of a user profile or licence type, `null` when there is none of this id. */
export async function nameOf(em: EntityManager, table: 'user_profiles' | 'licence_types', id: number): Promise<string | null> {
  const [row]: { name: string }[] = await em.execute(`select name from ${table} where id = ?`, [id]);
  return row?.name ?? null;
}

/** Id → name of the rows of `table` with these ids (for audit entries). */
export async function namesById(em: EntityManager, table: 'roles' | 'organizations' | 'user_profiles' | 'licence_types', ids: number[]): Promise<Map<number, string>> {
  if (ids.length === 0) return new Map();
  const rows: { id: number; name: string }[] = await em.execute(`select id, name from ${table} where id in (?)`, [ids]);
  return new Map(rows.map((r) => [r.id, r.name] as const));
}

export interface ContactForUser {
  kind: 'person' | 'organization';
  first_name: string | null;
  last_name: string | null;
  full_name: string;
  email: string | null;
  linked_username: string | null;
}

/** The contact a user is made for, locked until commit (Enable Access and contact delete wait for each other). */
export async function lockContact(tx: EntityManager, contactId: number): Promise<ContactForUser | null> {
  const [contact]: ContactForUser[] = await tx.execute(
    `select c.kind, c.first_name, c.last_name, c.full_name, c.email,
            (select u.username from users u where u.contact_id = c.id) as linked_username
       from contacts c where c.id = ? for update`,
    [contactId],
  );
  return contact ?? null;
}

/** A new person contact for a user made with it (Create User; later the identity sources). */
export async function insertPersonContact(
  tx: EntityManager,
  person: { firstName: string | null; lastName: string | null; fullName: string; email: string | null; mobile: string | null; department: string | null; jobTitle: string | null },
  organizationId: number,
): Promise<number> {
  const [contact]: { id: number }[] = await tx.execute(
    `insert into contacts (kind, first_name, last_name, full_name, email, mobile, department, job_title, organization_id)
     values ('person', ?, ?, ?, ?, ?, ?, ?, ?) returning id`,
    [person.firstName, person.lastName, person.fullName, person.email, person.mobile, person.department, person.jobTitle, organizationId],
  );
  return contact.id;
}

export interface UserInsert {
  contactId: number;
  username: string;
  passwordHash: string | null;
  provider: string;
  externalId: string | null;
  enabled: boolean;
  mustChangePassword: boolean;
  passwordExpiresAt: Date | null;
  profileId: number | null;
  licenceId: number | null;
}

/**
 * Inserts one user; `null` when a unique rule (username, e-mail, contact, provider + external
 * id) already holds the value. `on conflict do nothing` waits for a concurrent insert of the
 * same key to commit or roll back, so the caller learns the outcome instead of an error.
 */
export async function insertUserUnlessTaken(tx: EntityManager, u: UserInsert): Promise<number | null> {
  const [row]: { id: number }[] = await tx.execute(
    `insert into users (contact_id, username, password_hash, provider, external_id, enabled, must_change_password,
                        password_expires_at, profile_id, licence_id)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     on conflict do nothing
     returning id`,
    [u.contactId, u.username, u.passwordHash, u.provider, u.externalId, u.enabled, u.mustChangePassword, u.passwordExpiresAt, u.profileId, u.licenceId],
  );
  return row?.id ?? null;
}

/** The taken usernames (lower-case) of the form `base`, `base2`, `base3`, … as committed right now. */
export async function takenUsernamesLike(em: EntityManager, base: string): Promise<string[]> {
  const taken: { name: string }[] = await em.execute(
    `select lower(username) as name from users where username ilike ? escape '\\' and lower(username) ~ ?`,
    [`${base.replace(/[\\%_]/g, (c) => `\\${c}`)}%`, `^${base.replace(/[.\\+*?^$()[\]{}|-]/g, (c) => `\\${c}`)}[0-9]*$`],
  );
  return taken.map((t) => t.name);
}

/** The username of the user of this contact, if it has one. */
export async function usernameOfContact(em: EntityManager, contactId: number): Promise<string | null> {
  const [row]: { username: string }[] = await em.execute('select username from users where contact_id = ?', [contactId]);
  return row?.username ?? null;
}

/** Whether a user has this username (case-insensitive). */
export async function usernameTaken(em: EntityManager, username: string): Promise<boolean> {
  const rows = await em.execute('select 1 from users where lower(username) = lower(?)', [username]);
  return rows.length > 0;
}

/**
 * Another user with this e-mail address (case-insensitive), leaving out a user or a contact's
 * user: their username, and whether they have a membership under `scopePath` (`null`: everyone
 * counts as visible).
 */
export async function userWithEmail(
  em: EntityManager,
  email: string,
  except: { userId?: number; contactId?: number } = {},
  scopePath: string | null = null,
): Promise<{ username: string; visible: boolean } | null> {
  const [row]: { username: string; visible: boolean }[] = await em.execute(
    `select username, ${VISIBLE_SQL} as visible from users u where lower(email) = lower(?) and id <> ? and contact_id <> ?`,
    [scopePath, scopePath, email, except.userId ?? 0, except.contactId ?? 0],
  );
  return row ?? null;
}

/** The user with this id at this provider: username and visibility, as `userWithEmail`. */
export async function userWithExternalId(em: EntityManager, provider: string, externalId: string, scopePath: string | null = null): Promise<{ username: string; visible: boolean } | null> {
  const [row]: { username: string; visible: boolean }[] = await em.execute(`select username, ${VISIBLE_SQL} as visible from users u where provider = ? and external_id = ?`, [
    scopePath,
    scopePath,
    provider,
    externalId,
  ]);
  return row ?? null;
}

/** Whether user `u` has a membership in the subtree of the path bound twice (`null`: true). */
const VISIBLE_SQL = `(?::text is null or exists (select 1 from memberships vm join organizations vo on vo.id = vm.organization_id
  where vm.user_id = u.id and vo.path like ? || '%'))`;

export async function insertUserRoles(tx: EntityManager, userId: number, roleIds: number[]): Promise<void> {
  if (roleIds.length > 0) await tx.execute('insert into user_roles (user_id, role_id) select ?, id from roles where id in (?)', [userId, roleIds]);
}

export async function insertMembership(tx: EntityManager, userId: number, organizationId: number): Promise<void> {
  await tx.execute('insert into memberships (user_id, organization_id) values (?, ?)', [userId, organizationId]);
}

/** The custom properties of these ids: name and whether they take several values. */
export async function propertiesById(em: EntityManager, ids: number[]): Promise<{ id: number; name: string; multiValued: boolean }[]> {
  if (ids.length === 0) return [];
  const rows: { id: number; name: string; multi_valued: boolean }[] = await em.execute(
    'select id, name, multi_valued from custom_properties where id in (?) order by lower(name), id',
    [ids],
  );
  return rows.map((r) => ({ id: r.id, name: r.name, multiValued: r.multi_valued }));
}

// ----- set-based (batch) ----------------------------------------------------------------------

export interface ContactRow {
  firstName: string | null;
  lastName: string | null;
  fullName: string;
  email: string | null;
  mobile: string | null;
  department: string | null;
  organizationId: number;
}

export interface BatchUserRow extends Omit<UserInsert, 'passwordExpiresAt'> {
  id: number;
}

/** `count` fresh ids of `table`'s sequence, so that the rows of one batch can refer to each other. */
export async function allocateIds(tx: EntityManager, table: 'contacts' | 'users', count: number): Promise<number[]> {
  const rows: { id: number }[] = await tx.execute(`select nextval(pg_get_serial_sequence('${table}', 'id'))::int as id from generate_series(1, ?)`, [count]);
  return rows.map((r) => r.id);
}

export async function insertPersonContacts(tx: EntityManager, rows: (ContactRow & { id: number })[]): Promise<void> {
  const data = rows.map((c) => ({
    id: c.id,
    first_name: c.firstName,
    last_name: c.lastName,
    full_name: c.fullName,
    email: c.email,
    mobile: c.mobile,
    department: c.department,
    organization_id: c.organizationId,
  }));
  await tx.execute(
    `insert into contacts (id, kind, first_name, last_name, full_name, email, mobile, department, organization_id)
     select id, 'person', first_name, last_name, full_name, email, mobile, department, organization_id
       from jsonb_to_recordset(?::jsonb) as x(id int, first_name text, last_name text, full_name text, email text, mobile text, department text, organization_id int)`,
    [json(data)],
  );
}

/** Inserts the users; a password set here counts as changed now. Uniqueness is the constraints' (a violation fails the statement). */
export async function insertUserRows(tx: EntityManager, rows: BatchUserRow[]): Promise<void> {
  const data = rows.map((u) => ({
    id: u.id,
    contact_id: u.contactId,
    username: u.username,
    password_hash: u.passwordHash,
    provider: u.provider,
    external_id: u.externalId,
    enabled: u.enabled,
    must_change_password: u.mustChangePassword,
    licence_id: u.licenceId,
    profile_id: u.profileId,
  }));
  await tx.execute(
    `insert into users (id, contact_id, username, password_hash, provider, external_id, enabled, must_change_password, password_changed_at, licence_id, profile_id)
     select id, contact_id, username, password_hash, provider, external_id, enabled, must_change_password,
            case when password_hash is null then null else now() end, licence_id, profile_id
       from jsonb_to_recordset(?::jsonb) as x(id int, contact_id int, username text, password_hash text, provider text, external_id text,
                                             enabled boolean, must_change_password boolean, licence_id int, profile_id int)`,
    [json(data)],
  );
}

/** `[userId, roleId]` pairs. */
export async function insertRolePairs(tx: EntityManager, pairs: [number, number][]): Promise<void> {
  if (pairs.length === 0) return;
  await tx.execute(`insert into user_roles (user_id, role_id) select (x->>0)::int, (x->>1)::int from jsonb_array_elements(?::jsonb) x`, [json(pairs)]);
}

/** `[userId, organizationId]` pairs. */
export async function insertMembershipPairs(tx: EntityManager, pairs: [number, number][]): Promise<void> {
  if (pairs.length === 0) return;
  await tx.execute(`insert into memberships (user_id, organization_id) select (x->>0)::int, (x->>1)::int from jsonb_array_elements(?::jsonb) x`, [json(pairs)]);
}

/** `[userId, propertyId, value]` triples. */
export async function insertPropertyValues(tx: EntityManager, values: [number, number, string][]): Promise<void> {
  if (values.length === 0) return;
  await tx.execute(`insert into user_property_values (user_id, property_id, value) select (x->>0)::int, (x->>1)::int, x->>2 from jsonb_array_elements(?::jsonb) x`, [
    json(values),
  ]);
}

/** One `user.created` entry per row, attributed to `source`, all with the same `detail`. */
export async function insertUserCreatedEvents(
  tx: EntityManager,
  source: AuditSource,
  detail: string | null,
  rows: { id: number; username: string; changes: AuditChanges | null }[],
): Promise<void> {
  await tx.execute(
    `insert into audit_events (actor_id, actor_name, ip, action, object_type, object_id, object_label, changes, detail)
     select ?, ?, ?, 'user.created', 'user', x.id, x.username, x.changes, ?
       from jsonb_to_recordset(?::jsonb) as x(id text, username text, changes jsonb)`,
    [
      source.actorId ?? null,
      source.actorName ? source.actorName.slice(0, 100) : null,
      source.ip ? source.ip.slice(0, 64) : null,
      detail,
      json(rows.map((r) => ({ id: String(r.id), username: r.username, changes: r.changes }))),
    ],
  );
}

/** Which of the keys are held by users already: one query per kind of key, for any number of keys. */
export async function takenKeys(em: EntityManager, keys: UserKeys): Promise<TakenKeys> {
  const usernames = await em.execute<{ k: string }[]>('select lower(username) as k from users where lower(username) in (select jsonb_array_elements_text(?::jsonb))', [json(keys.usernames)]);
  const emails = await em.execute<{ k: string }[]>('select lower(email) as k from users where lower(email) in (select jsonb_array_elements_text(?::jsonb))', [json(keys.emails)]);
  const mobiles =
    keys.mobiles.length === 0
      ? []
      : await em.execute<{ k: string }[]>(
          `select distinct regexp_replace(c.mobile, '[^0-9+]', '', 'g') as k from contacts c join users u on u.contact_id = c.id
            where c.mobile is not null and regexp_replace(c.mobile, '[^0-9+]', '', 'g') in (select jsonb_array_elements_text(?::jsonb))`,
          [json(keys.mobiles)],
        );
  const externals =
    keys.externalIds.length === 0
      ? []
      : await em.execute<{ provider: string; external_id: string }[]>(
          `select provider, external_id from users
            where external_id is not null
              and (lower(provider), external_id) in (select lower(x->>0), x->>1 from jsonb_array_elements(?::jsonb) x)`,
          [json(keys.externalIds)],
        );
  return {
    usernames: new Set(usernames.map((r) => r.k)),
    emails: new Set(emails.map((r) => r.k)),
    mobiles: new Set(mobiles.map((r) => phoneKey(r.k))),
    externalIds: new Set(externals.map((r) => externalKey(r.provider, r.external_id))),
  };
}

/** Every licence type with its seats and the enabled users holding it now. */
export async function licenceUsage(em: EntityManager): Promise<{ id: number; name: string; seats: number | null; used: number }[]> {
  return em.execute('select l.id, l.name, l.seats, (select count(*) from users u where u.licence_id = l.id and u.enabled)::int as used from licence_types l');
}
