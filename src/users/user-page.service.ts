import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AccessService } from '../access/access.service';
import type { Actor } from '../access/actor';
import { UserTarget, allows, canActOnUser, canListUsers, canSeeUser, canSeeUserDetails, inScope } from '../access/policy';
import { AuditQueryService } from '../audit/audit-query.service';
import { ForbiddenError, NotFoundError } from '../common/errors';
import { CustomPropertiesService } from '../custom-properties/custom-properties.service';
import { usageText } from '../licences/licence-usage';
import { UserRow, licenceUsage, userIdentity, userMemberships, userRoles, userRow } from './users.queries';

/** The newest trail entries the user page shows; the rest is on /audit. */
const TRAIL_LIMIT = 25;

/**
 * The user page as it reads (SPEC §4 "User page"): the user's details, memberships, roles,
 * properties, licences and audit trail, and the buttons the session may use. The changes those
 * buttons make are `UserAdminService`'s. Every method checks access first: out of scope answers
 * "not found", seen-but-not-allowed "forbidden".
 */
@Injectable()
export class UserPageService {
  constructor(
    private readonly em: EntityManager,
    private readonly access: AccessService,
    private readonly auditLog: AuditQueryService,
    private readonly properties: CustomPropertiesService,
  ) {}

  /**
   * The user page. A user with a membership outside the session's subtree is seen, not managed
   * (SPEC §3: adding a member "grants no other access to that user"): the page then shows only
   * who they are — name, username, e-mail — and their memberships inside the subtree.
   */
  async details(actor: Actor, id: number) {
    if (!canListUsers(actor)) throw new ForbiddenError();
    const target = await this.access.userTarget(id);
    if (!target || !canSeeUser(actor, target)) throw new NotFoundError();
    if (canSeeUserDetails(actor, target)) return { limited: false as const, ...(await this.fullDetails(actor, id, target)) };
    const user = await userIdentity(this.em, id);
    if (!user) throw new NotFoundError();
    return {
      limited: true as const,
      user: { id: user.id, username: user.username, fullName: user.full_name, email: user.email },
      ...(await this.membershipsSeenBy(actor, id)),
      can: { manage: false },
    };
  }

  /** The delete confirmation page: the user's details, for sessions that may delete them. */
  async deleteForm(actor: Actor, id: number) {
    if (!canListUsers(actor)) throw new ForbiddenError();
    await this.access.assertCanActOnUser(actor, id);
    const target = (await this.access.userTarget(id))!;
    const details = await this.fullDetails(actor, id, target);
    if (details.user.builtIn) throw new ForbiddenError('The built-in admin cannot be deleted.');
    if (id === actor.userId) throw new ForbiddenError('You cannot delete your own account.');
    return details;
  }

  private async fullDetails(actor: Actor, id: number, target: UserTarget) {
    const user = await userRow(this.em, id);
    const manage = canActOnUser(actor, target);
    const memberships = await this.membershipsSeenBy(actor, id);
    const roles = await userRoles(this.em, id);
    const defs = await this.properties.definitions();
    const values = (await this.properties.valuesFor([id])).get(id) ?? new Map<number, string[]>();
    const licences = await licenceUsage(this.em);
    const trail = await this.auditLog.userTrail(actor, user, TRAIL_LIMIT);
    return {
      user: userView(user),
      ...memberships,
      roles,
      properties: defs.map((d) => ({ name: d.name, values: values.get(d.id) ?? [] })),
      licences: licences.map((l) => ({ id: l.id, label: `${l.name} — ${usageText(l.used, l.seats)}`, selected: l.id === user.licence_id })),
      trail: trail.entries,
      trailMore: trail.more,
      auditHref: `/audit?objectType=user&q=${encodeURIComponent(user.username)}`,
      can: {
        manage,
        disable: manage && user.enabled && !user.built_in && id !== actor.userId,
        enable: manage && !user.enabled,
        unlock: manage && user.locked,
        delete: manage && !user.built_in && id !== actor.userId,
        endSessions: manage && id !== actor.userId,
        auditLog: allows(actor, 'view_audit_log'),
      },
    };
  }

  /** The user's memberships inside the session's subtree, and how many others they have. */
  private async membershipsSeenBy(actor: Actor, id: number) {
    const memberships = await userMemberships(this.em, id);
    const inScopeMemberships = memberships.filter((m) => inScope(actor, m.path));
    return {
      memberships: inScopeMemberships.map((m) => ({ id: m.organization_id, name: m.name, isAdmin: m.is_admin })),
      otherMemberships: memberships.length - inScopeMemberships.length,
    };
  }
}

/** A user row as the user page and the user forms show it. */
export function userView(u: UserRow) {
  return {
    id: u.id,
    username: u.username,
    provider: u.provider,
    enabled: u.enabled,
    builtIn: u.built_in,
    locked: u.locked,
    lockedUntil: u.locked_until,
    lastLoginAt: u.last_login_at,
    mustChangePassword: u.must_change_password,
    hasPassword: u.has_password,
    passwordSendAt: u.password_send_at,
    passwordSendStatus: u.password_send_status,
    passwordSendError: u.password_send_error,
    licence: u.licence_name,
    profile: u.profile_name,
    createdAt: u.created_at,
    contactId: u.contact_id,
    firstName: u.first_name,
    lastName: u.last_name,
    fullName: u.full_name,
    email: u.email,
    mobile: u.mobile,
    department: u.department,
    jobTitle: u.job_title,
    home: { id: u.home_id, name: u.home_name },
  };
}
