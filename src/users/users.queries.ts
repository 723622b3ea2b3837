import type { EntityManager } from '@mikro-orm/postgresql';
import { NotFoundError } from '../common/errors';

/**
 * The SQL of the users feature, as typed functions: each takes the entity manager it runs on
 * (inside a transaction: the transaction's `tx`, so the statement joins it).
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
