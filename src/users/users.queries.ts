import type { EntityManager } from '@mikro-orm/postgresql';
import { NotFoundError } from '../common/errors';
import { KeyColumns, SortKey, keyColumns, keyOrder } from '../common/pagination';
import type { SqlCondition } from '../common/search';
import { plainRows } from '../database/plain-query';
import type { UserListRow } from './users.service';

/**
 * The SQL of the users feature, as typed functions: each takes the entity manager it runs on
 * (inside a transaction: the transaction's `tx`, so the statement joins it). The statements of
 * the list page, read on every click, run through `plainRows` (no ORM query building).
 */

/** One user as the user page and its forms show it: account, person contact, home, licence, profile. */
export interface UserRow {
  id: number;
  username: string;
  provider: string;
  enabled: boolean;
  built_in: boolean;
  must_change_password: boolean;
  locked: boolean;
  locked_until: Date | null;
  last_login_at: Date | null;
  failed_logins: number;
  password_send_at: Date | null;
  password_send_status: string | null;
  password_send_error: string | null;
  has_password: boolean;
  licence_id: number | null;
  licence_name: string | null;
  profile_id: number | null;
  profile_name: string | null;
  created_at: Date;
  contact_id: number;
  first_name: string | null;
  last_name: string | null;
  full_name: string;
  email: string | null;
  mobile: string | null;
  department: string | null;
  job_title: string | null;
  home_id: number;
  home_name: string;
  home_path: string;
}

/** The user `id` (`lock`: its row locked for the rest of the transaction); not found → `NotFoundError`. */
export async function userRow(em: EntityManager, id: number, lock = false): Promise<UserRow> {
  const [row]: UserRow[] = await em.execute(
    `select u.id, u.username, u.provider, u.enabled, u.built_in, u.must_change_password,
            coalesce(u.locked_until > now(), false) as locked, u.locked_until, u.last_login_at, u.failed_logins,
            u.password_send_at, u.password_send_status, u.password_send_error, u.password_hash is not null as has_password,
            u.licence_id, l.name as licence_name, u.profile_id, p.name as profile_name, u.created_at,
            c.id as contact_id, c.first_name, c.last_name, c.full_name, c.email, c.mobile, c.department, c.job_title,
            o.id as home_id, o.name as home_name, o.path as home_path
       from users u
       join contacts c on c.id = u.contact_id
       join organizations o on o.id = c.organization_id
       left join licence_types l on l.id = u.licence_id
       left join user_profiles p on p.id = u.profile_id
      where u.id = ?${lock ? ' for update of u' : ''}`,
    [id],
  );
  if (!row) throw new NotFoundError();
  return row;
}

/** Who a user is, without the rest of their account (what a session that only sees them may read). */
export async function userIdentity(em: EntityManager, id: number): Promise<{ id: number; username: string; full_name: string; email: string | null } | undefined> {
  const [user]: { id: number; username: string; full_name: string; email: string | null }[] = await em.execute(
    'select u.id, u.username, c.full_name, u.email from users u join contacts c on c.id = u.contact_id where u.id = ?',
    [id],
  );
  return user;
}

/** The user's memberships, in tree order. */
export function userMemberships(em: EntityManager, id: number): Promise<{ organization_id: number; name: string; path: string; is_admin: boolean }[]> {
  return em.execute(
    'select m.organization_id, o.name, o.path, m.is_admin from memberships m join organizations o on o.id = m.organization_id where m.user_id = ? order by o.path',
    [id],
  );
}

/** The roles the user holds, by name. */
export function userRoles(em: EntityManager, id: number): Promise<{ id: number; name: string }[]> {
  return em.execute('select r.id, r.name from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = ? order by lower(r.name)', [id]);
}

/** Every licence with its seats and how many enabled users hold it, by name. */
export function licenceUsage(em: EntityManager): Promise<{ id: number; name: string; seats: number | null; used: number }[]> {
  return em.execute(
    `select l.id, l.name, l.seats, (select count(*)::int from users x where x.licence_id = l.id and x.enabled) as used
       from licence_types l order by lower(l.name)`,
  );
}

// ----- the users list --------------------------------------------------------------------------

/** One row of the users list with its sort keys (`k0`, `k1`, … of `keyColumns`). */
export type UserListDbRow = UserListRow & KeyColumns;

/**
 * One page of the users list: the users matching `where`, in the order of `keys` (`ascending`
 * or not), at most `limit`. Organizations outside `scopePath` are counted, not named.
 */
export function userListRows(em: EntityManager, scopePath: string, where: SqlCondition, keys: SortKey[], ascending: boolean, limit: number): Promise<UserListDbRow[]> {
  return plainRows(
    em,
    `select u.id, u.username, c.full_name as "fullName", c.email, u.enabled,
            coalesce(u.locked_until > now(), false) as locked, u.last_login_at as "lastLoginAt",
            u.password_send_at as "passwordSendAt", u.password_send_status as "passwordSendStatus", u.password_send_error as "passwordSendError",
            (select l.name from licence_types l where l.id = u.licence_id) as licence,
            array(select o.name from memberships m join organizations o on o.id = m.organization_id
                   where m.user_id = u.id and o.path like ? order by o.path) as organizations,
            (select count(*)::int from memberships m join organizations o on o.id = m.organization_id
              where m.user_id = u.id and o.path not like ?) as "otherOrganizations",
            array(select r.name from user_roles ur join roles r on r.id = ur.role_id
                   where ur.user_id = u.id order by r.name) as roles,
            ${keyColumns(keys)}
       from users u join contacts c on c.id = u.contact_id
      where ${where.sql}
      order by ${keyOrder(keys, ascending)}
      limit ?`,
    [`${scopePath}%`, `${scopePath}%`, ...where.params, limit],
  );
}

/**
 * The users list's total: the users matching `where` (conditions over `u` alone), counted up to
 * `cap + 1` — the LIMIT bounds the work at any size, and the list says "10,000+" beyond `cap`.
 */
export async function countListedUsers(em: EntityManager, where: SqlCondition, cap: number): Promise<number> {
  const [{ n }] = await plainRows<{ n: number }>(em, `select count(*)::int as n from (select 1 from users u where ${where.sql} limit ${cap + 1}) x`, where.params);
  return n;
}

/** A user the list's condition selects, with the contact it reads the name and e-mail from. */
export interface ListedUserMatch {
  id: number;
  contactId: number;
}

/**
 * The users `where` selects, at most `max + 1` of them (in no particular order). The LIMIT stands
 * outside a materialized CTE, which PostgreSQL plans on its own and runs only as far as the LIMIT
 * reads: with the LIMIT on the scan itself the planner takes a sequential scan of `users` (stopping
 * at the 1,001st match) whenever its estimate of a search's matches is high, and for a search that
 * matches about a thousand users that reads most of the table; planned alone, it takes the trigram
 * indexes unless the search really matches most users.
 */
export function listedUserMatches(em: EntityManager, where: SqlCondition, max: number): Promise<ListedUserMatch[]> {
  return plainRows<ListedUserMatch>(
    em,
    `with matches as materialized (select u.id, u.contact_id as "contactId" from users u where ${where.sql})
     select id, "contactId" from matches limit ${max + 1}`,
    where.params,
  );
}

/**
 * The condition "one of `matches`", for `userListRows`: both sides of its join by primary key (with
 * the users side alone the planner hashes the whole contacts table), the ids as array literals.
 */
export function amongMatches(matches: ListedUserMatch[]): SqlCondition {
  return {
    sql: 'u.id = any(cast(? as int[])) and c.id = any(cast(? as int[]))',
    params: [`{${matches.map((m) => m.id).join(',')}}`, `{${matches.map((m) => m.contactId).join(',')}}`],
  };
}

/** The planner's estimate of how many users `where` selects (it reads statistics, not rows). */
export async function estimatedListedUsers(em: EntityManager, where: SqlCondition): Promise<number> {
  const [plan] = await plainRows<{ 'QUERY PLAN': { Plan: { 'Plan Rows': number } }[] }>(em, `explain (format json) select 1 from users u where ${where.sql}`, where.params);
  return Math.round(plan['QUERY PLAN'][0].Plan['Plan Rows']);
}

/** How many users "all users matching this filter" would take: counted up to `max + 1`. */
export async function countMatchingUsers(em: EntityManager, where: SqlCondition, max: number): Promise<number> {
  const [{ n }]: { n: number }[] = await em.execute(`select count(*)::int as n from (select 1 from users u where ${where.sql} limit ${max + 1}) x`, where.params);
  return n;
}

/** The ids of the users matching `where`, in id order, at most `limit`. */
export async function matchingUserIds(em: EntityManager, where: SqlCondition, limit: number): Promise<number[]> {
  const rows: { id: number }[] = await em.execute(`select u.id from users u where ${where.sql} order by u.id limit ${limit}`, where.params);
  return rows.map((r) => r.id);
}

/** The path of an organization, for filters and scope checks; `undefined` when there is none. */
export async function organizationPath(em: EntityManager, id: number): Promise<string | undefined> {
  const [org] = await plainRows<{ path: string }>(em, 'select path from organizations where id = ?', [id]);
  return org?.path;
}

/** The names a filter refers to by id (`null` where none is given or it no longer exists). */
export async function filterNames(
  em: EntityManager,
  ids: { organizationId?: number; roleId?: number; licenceId?: number; provider?: string; propertyId?: number },
): Promise<{ org: string | null; role: string | null; licence: string | null; provider: string | null; prop: string | null }> {
  const [names]: { org: string | null; role: string | null; licence: string | null; provider: string | null; prop: string | null }[] = await em.execute(
    `select (select name from organizations where id = ?) as org, (select name from roles where id = ?) as role,
            (select name from licence_types where id = ?) as licence, (select label from identity_providers where key = ?) as provider,
            (select name from custom_properties where id = ?) as prop`,
    [ids.organizationId ?? null, ids.roleId ?? null, ids.licenceId ?? null, ids.provider ?? null, ids.propertyId ?? null],
  );
  return names;
}

/** The choices of the list's filter pull-downs, each by name, in one round trip (each list aggregated as JSON). */
export interface FilterChoices {
  roles: { id: number; name: string }[];
  licences: { id: number; name: string }[];
  /** The identity providers (key and label); `local` is always a choice besides them. */
  providers: { key: string; label: string }[];
  properties: { id: number; name: string }[];
}

export async function filterChoices(em: EntityManager): Promise<FilterChoices> {
  const [options] = await plainRows<FilterChoices>(
    em,
    `select
       (select coalesce(json_agg(json_build_object('id', r.id, 'name', r.name) order by lower(r.name), r.id), '[]') from roles r) as roles,
       (select coalesce(json_agg(json_build_object('id', l.id, 'name', l.name) order by lower(l.name), l.id), '[]') from licence_types l) as licences,
       (select coalesce(json_agg(json_build_object('key', i.key, 'label', i.label) order by lower(i.label), i.key), '[]') from identity_providers i) as providers,
       (select coalesce(json_agg(json_build_object('id', p.id, 'name', p.name) order by lower(p.name), p.id), '[]') from custom_properties p) as properties`,
  );
  return options;
}

// ----- one user's status -----------------------------------------------------------------------

/** The user's status, its row locked for the rest of the transaction; `undefined` when gone. */
export async function lockUserStatus(
  tx: EntityManager,
  id: number,
): Promise<{ username: string; enabled: boolean; built_in: boolean; licence_id: number | null; locked: boolean } | undefined> {
  const [user]: { username: string; enabled: boolean; built_in: boolean; licence_id: number | null; locked: boolean }[] = await tx.execute(
    'select username, enabled, built_in, licence_id, coalesce(locked_until > now(), false) as locked from users where id = ? for update',
    [id],
  );
  return user;
}

/** Enables or disables the user; disabling also ends their sessions. */
export async function setUserEnabled(tx: EntityManager, id: number, enabled: boolean): Promise<void> {
  await tx.execute(
    enabled
      ? 'update users set enabled = true, updated_at = now() where id = ?'
      : 'update users set enabled = false, session_version = session_version + 1, updated_at = now() where id = ?',
    [id],
  );
}

/** Ends the user's lock-out and the failed sign-ins counted on their account. */
export async function clearLockout(tx: EntityManager, id: number): Promise<void> {
  await tx.execute('update users set locked_until = null, failed_logins = 0, updated_at = now() where id = ?', [id]);
}

/** Forgets the sign-in throttle's counts under `key`. */
export async function forgetThrottle(tx: EntityManager, key: string): Promise<void> {
  await tx.execute('delete from login_throttle where key = ?', [key]);
}

/** Ends every session of the user (each checks the session version). */
export async function endUserSessions(tx: EntityManager, id: number): Promise<void> {
  await tx.execute('update users set session_version = session_version + 1 where id = ?', [id]);
}

export async function setUserLicence(tx: EntityManager, id: number, licenceId: number | null): Promise<void> {
  await tx.execute('update users set licence_id = ?, updated_at = now() where id = ?', [licenceId, id]);
}

/** Deletes the user row; memberships, roles and property values go with it (cascades), the contact stays. */
export async function deleteUser(tx: EntityManager, id: number): Promise<void> {
  await tx.execute('delete from users where id = ?', [id]);
}

// ----- the choices of the user forms -----------------------------------------------------------

export interface RoleRow {
  id: number;
  name: string;
  built_in_key: string | null;
  permissions: string[] | null;
}

/** Every role with its permissions, by name. */
export function roleRows(em: EntityManager): Promise<RoleRow[]> {
  return em.execute('select id, name, built_in_key, permissions from roles order by lower(name)');
}

/** The ids of the roles the user holds. */
export async function userRoleIds(em: EntityManager, id: number): Promise<number[]> {
  const rows: { role_id: number }[] = await em.execute('select role_id from user_roles where user_id = ?', [id]);
  return rows.map((r) => r.role_id);
}

export function profileChoices(em: EntityManager): Promise<{ id: number; name: string }[]> {
  return em.execute('select id, name from user_profiles order by lower(name)');
}

export async function departmentNames(em: EntityManager): Promise<string[]> {
  const rows: { name: string }[] = await em.execute('select name from departments order by lower(name)');
  return rows.map((r) => r.name);
}

export async function profileExists(em: EntityManager, id: number): Promise<boolean> {
  return (await em.execute('select 1 from user_profiles where id = ?', [id])).length > 0;
}

/** The licence's name; `undefined` when there is no such licence. */
export async function licenceName(em: EntityManager, id: number): Promise<string | undefined> {
  const [l]: { name: string }[] = await em.execute('select name from licence_types where id = ?', [id]);
  return l?.name;
}

/** The defaults of Settings → Interface that Create User preselects. */
export async function createDefaults(em: EntityManager): Promise<{ roleIds: number[]; profileId: number | null; licenceId: number | null }> {
  const roles: { role_id: number }[] = await em.execute('select role_id from client_settings_default_roles where settings_id = 1');
  const [settings]: { default_profile_id: number | null; default_licence_id: number | null }[] = await em.execute(
    'select default_profile_id, default_licence_id from client_settings where id = 1',
  );
  return { roleIds: roles.map((r) => r.role_id), profileId: settings.default_profile_id, licenceId: settings.default_licence_id };
}

/** An organization by id; `undefined` when there is none. */
export async function organizationById(em: EntityManager, id: number): Promise<{ id: number; name: string; path: string } | undefined> {
  const [org]: { id: number; name: string; path: string }[] = await em.execute('select id, name, path from organizations where id = ?', [id]);
  return org;
}

/** The organizations matching `scope` (a condition over `o`), in tree order. */
export function organizationsIn(em: EntityManager, scope: SqlCondition): Promise<{ id: number; name: string; depth: number }[]> {
  return em.execute(`select o.id, o.name, o.depth from organizations o where ${scope.sql} order by o.path`, scope.params);
}

// ----- the changes of the Edit form -------------------------------------------------------------

/** The name of a user profile. */
export async function profileNameOf(em: EntityManager, id: number): Promise<string> {
  const [row]: { name: string }[] = await em.execute('select name from user_profiles where id = ?', [id]);
  return row.name;
}

/** Writes the person fields of the Edit form into the user's contact. */
export async function updatePersonContact(
  tx: EntityManager,
  contactId: number,
  person: { firstName: string | null; lastName: string | null; fullName: string; email: string | null; mobile: string | null; department: string | null; jobTitle: string | null },
): Promise<void> {
  await tx.execute(
    `update contacts set first_name = ?, last_name = ?, full_name = ?, email = ?, mobile = ?, department = ?, job_title = ?, updated_at = now() where id = ?`,
    [person.firstName, person.lastName, person.fullName, person.email, person.mobile, person.department, person.jobTitle, contactId],
  );
}

export async function setUserProfile(tx: EntityManager, id: number, profileId: number | null): Promise<void> {
  await tx.execute('update users set profile_id = ?, updated_at = now() where id = ?', [profileId, id]);
}

/** The user holds exactly these roles afterwards. */
export async function replaceUserRoles(tx: EntityManager, id: number, roleIds: number[]): Promise<void> {
  await tx.execute('delete from user_roles where user_id = ? and not (role_id = any(?::int[]))', [id, `{${roleIds.join(',')}}`]);
  if (roleIds.length > 0) await tx.execute('insert into user_roles (user_id, role_id) select ?, unnest(?::int[]) on conflict do nothing', [id, `{${roleIds.join(',')}}`]);
}
