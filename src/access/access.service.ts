import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { ForbiddenError, NotFoundError } from '../common/errors';
import { membershipPathsOf, resolvedUser, type ResolvedUserRow } from './access.queries';
import { Actor, ActorMembership, isInside, isRootPath } from './actor';
import { isPermission, Permission } from './permissions';
import { UserTarget, canActOnUser, canSeeUser } from './policy';

export interface SessionIdentity {
  userId: number;
  sessionVersion: number;
  currentOrganizationId: number | null;
  ip: string | null;
}

/** What the guard learns when it resolves a session. */
export type ActorResolution =
  | { kind: 'actor'; actor: Actor }
  | { kind: 'choose-organization'; memberships: ActorMembership[] }
  | { kind: 'ended' };

/**
 * The access core: builds the `Actor` of a session from the database and answers the scope
 * questions of SPEC §3 for objects stored there. The rules themselves live in `policy.ts`.
 */
@Injectable()
export class AccessService {
  constructor(private readonly em: EntityManager) {}

  /**
   * The session's actor. `preloaded`: the user's row as read with the session itself in this
   * request (`null`: no such user), which saves a round trip; otherwise it is read here.
   */
  async resolve(identity: SessionIdentity, preloaded?: ResolvedUserRow | null): Promise<ActorResolution> {
    const user = preloaded === undefined || (preloaded !== null && preloaded.id !== identity.userId) ? await resolvedUser(this.em, identity.userId) : preloaded;
    if (!user || !user.enabled || user.sessionVersion !== identity.sessionVersion) return { kind: 'ended' };

    const memberships: ActorMembership[] = user.memberships.sort(
      (a, b) => a.path.length - b.path.length || a.organizationName.localeCompare(b.organizationName),
    );
    if (memberships.length === 0) return { kind: 'ended' };

    const current =
      memberships.find((m) => m.organizationId === identity.currentOrganizationId) ?? (memberships.length === 1 ? memberships[0] : null);
    if (!current) return { kind: 'choose-organization', memberships };

    const permissions = new Set<Permission>();
    for (const role of user.roles) for (const p of role.permissions ?? []) if (isPermission(p)) permissions.add(p);
    const hasAdministratorRole = user.roles.some((r) => r.builtInKey === 'administrator');

    const actor: Actor = {
      userId: user.id,
      username: user.username,
      displayName: user.fullName,
      ip: identity.ip,
      currentOrganization: current,
      memberships,
      permissions,
      hasAdministratorRole,
      isAdministrator: hasAdministratorRole && isRootPath(current.path),
      isOrganizationAdmin: memberships.some((m) => m.isAdmin && isInside(current.path, m.path)),
      startPage: user.startPage ?? 'self_service',
      mustChangePassword: user.mustChangePassword,
    };
    return { kind: 'actor', actor };
  }

  /** The facts about a user that the policy needs, or `null` for an unknown user. */
  async userTarget(userId: number): Promise<UserTarget | null> {
    const rows = await membershipPathsOf(this.em, userId);
    if (rows.length === 0) return null;
    return {
      membershipPaths: rows.map((r) => r.path).filter((p): p is string => p !== null),
      hasAdministratorRole: rows[0].is_admin_role,
    };
  }

  /**
   * Throws unless the session may act on the user: "not found" when it may not even see them,
   * "forbidden" when it sees them but may not do this.
   */
  async assertCanActOnUser(actor: Actor, userId: number, permission: Permission = 'manage_users'): Promise<void> {
    const target = await this.userTarget(userId);
    if (!target || !canSeeUser(actor, target)) throw new NotFoundError();
    if (!canActOnUser(actor, target, permission)) throw new ForbiddenError('You may not manage this user.');
  }

  /**
   * SQL condition (over a users alias) selecting the users the session may see, for lists:
   * Administrators see everyone, others the users with a membership in their subtree.
   */
  visibleUsersCondition(actor: Actor, alias = 'u'): { sql: string; params: unknown[] } {
    if (actor.isAdministrator) return { sql: 'true', params: [] };
    return {
      sql: `exists (select 1 from memberships sm join organizations so on so.id = sm.organization_id
                     where sm.user_id = ${alias}.id and so.path like ?)`,
      params: [`${actor.currentOrganization.path}%`],
    };
  }

  /** SQL condition (over an organizations alias) selecting the organizations in scope. */
  organizationsInScopeCondition(actor: Actor, alias = 'o'): { sql: string; params: unknown[] } {
    if (actor.isAdministrator) return { sql: 'true', params: [] };
    return { sql: `${alias}.path like ?`, params: [`${actor.currentOrganization.path}%`] };
  }
}
