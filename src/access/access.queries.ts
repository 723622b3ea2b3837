import type { EntityManager } from '@mikro-orm/postgresql';
import type { ProfileStartPage } from '../profiles/user-profile.entity';
import type { ActorMembership } from './actor';

/** The row `resolve` reads: a user with everything the actor needs. */
export interface ResolvedUserRow {
  id: number;
  username: string;
  enabled: boolean;
  sessionVersion: number;
  mustChangePassword: boolean;
  fullName: string;
  startPage: ProfileStartPage | null;
  memberships: ActorMembership[];
  roles: { permissions: string[] | null; builtInKey: string | null }[];
}

/**
 * The statement that reads a user with contact name, profile, memberships and roles, for the user
 * whose id `userId` (an SQL expression: a placeholder, or a column of an outer query) gives; no
 * row for an unknown user. Shared by `resolvedUser` and the session read, which runs it with the
 * session's own row (`src/auth/session.queries.ts`).
 */
export function resolvedUserStatement(userId: string): string {
  return `select u.id, u.username, u.enabled, u.session_version as "sessionVersion", u.must_change_password as "mustChangePassword",
              c.full_name as "fullName", p.start_page as "startPage",
              coalesce((select json_agg(json_build_object('organizationId', o.id, 'organizationName', o.name, 'path', o.path, 'isAdmin', m.is_admin))
                          from memberships m join organizations o on o.id = m.organization_id where m.user_id = u.id), '[]') as memberships,
              coalesce((select json_agg(json_build_object('permissions', r.permissions, 'builtInKey', r.built_in_key))
                          from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = u.id), '[]') as roles
         from users u
         join contacts c on c.id = u.contact_id
         left join user_profiles p on p.id = u.profile_id
        where u.id = ${userId}`;
}

/**
 * The session's user with everything the actor needs, in one statement (run when the session
 * read did not bring it along, instead of loading and hydrating five entity types through the ORM); null when unknown.
 */
export async function resolvedUser(db: EntityManager, userId: number): Promise<ResolvedUserRow | null> {
  const [user]: ResolvedUserRow[] = await db.execute(resolvedUserStatement('?'), [userId]);
  return user ?? null;
}

/** One row per membership of the user (one row with a null path when none; no row for an unknown user), with whether they hold the Administrator role. */
export function membershipPathsOf(db: EntityManager, userId: number): Promise<{ path: string | null; is_admin_role: boolean }[]> {
  return db.execute(
    `select o.path,
              exists (select 1 from user_roles ur join roles r on r.id = ur.role_id
                      where ur.user_id = u.id and r.built_in_key = 'administrator') as is_admin_role
         from users u
         left join memberships m on m.user_id = u.id
         left join organizations o on o.id = m.organization_id
        where u.id = ?`,
    [userId],
  );
}
