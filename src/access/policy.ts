import { Actor, isInside, isRootPath } from './actor';
import { GLOBAL_PERMISSIONS, Permission } from './permissions';

/**
 * The rules of SPEC §3 as pure functions over an `Actor` and the organization paths of the
 * object at hand. `AccessService` feeds them from the database; they are unit tested here.
 */

/** Menu-level question: may this session use permission `p` at all (somewhere in its scope)? */
export function allows(actor: Actor, permission: Permission): boolean {
  if (actor.isAdministrator) return true;
  if (GLOBAL_PERMISSIONS.has(permission)) {
    return actor.permissions.has(permission) && isRootPath(actor.currentOrganization.path);
  }
  if (permission === 'manage_organizations') return actor.isOrganizationAdmin;
  return actor.isOrganizationAdmin && actor.permissions.has(permission);
}

/** Whether the organization with this path is inside the session's scope (its current subtree). */
export function inScope(actor: Actor, organizationPath: string): boolean {
  return actor.isAdministrator || isInside(organizationPath, actor.currentOrganization.path);
}

/** May list / open this organization. */
export function canSeeOrganization(actor: Actor, organizationPath: string): boolean {
  return inScope(actor, organizationPath);
}

/** May create sub-organizations of it, rename it, manage its memberships. */
export function canManageOrganization(actor: Actor, organizationPath: string): boolean {
  return allows(actor, 'manage_organizations') && inScope(actor, organizationPath);
}

export interface UserTarget {
  /** Paths of every organization the user is a member of. */
  membershipPaths: string[];
  /** The target holds the Administrator role. */
  hasAdministratorRole: boolean;
}

/** May open the users list (it shows only the users of the session's subtree). */
export function canListUsers(actor: Actor): boolean {
  return actor.isAdministrator || actor.isOrganizationAdmin || allows(actor, 'manage_users');
}

/**
 * A user is visible to a non-Administrator when at least one of their memberships lies in the
 * session's subtree (the users list shows the subtree of the current organization).
 */
export function canSeeUser(actor: Actor, target: UserTarget): boolean {
  if (actor.isAdministrator) return true;
  if (!canListUsers(actor)) return false;
  return target.membershipPaths.some((path) => inScope(actor, path));
}

/**
 * Managing a user (edit, enable/disable, delete, credentials) needs `permission` and, for a
 * non-Administrator, a target with **all** memberships inside the subtree who is not an
 * Administrator (SPEC §3: an admin of a sub-organization never resets a higher admin's password).
 */
export function canActOnUser(actor: Actor, target: UserTarget, permission: Permission = 'manage_users'): boolean {
  if (actor.isAdministrator) return true;
  if (!allows(actor, permission)) return false;
  if (target.hasAdministratorRole) return false;
  return target.membershipPaths.length > 0 && target.membershipPaths.every((path) => inScope(actor, path));
}

/**
 * May see the whole user page (contact details, custom properties, licence, audit trail): the
 * user is fully inside the subtree, as for management (SPEC §3). A user who merely has one
 * membership in the subtree — e.g. added from another branch through the member picker, which
 * "grants no other access to that user" — shows only name, username, e-mail and the memberships
 * in the subtree.
 */
export function canSeeUserDetails(actor: Actor, target: UserTarget): boolean {
  if (actor.isAdministrator) return true;
  return canSeeUser(actor, target) && target.membershipPaths.every((path) => inScope(actor, path));
}

/** What the role rules need to know about a role. */
export interface RoleFacts {
  permissions: readonly string[];
  isAdministratorRole: boolean;
}

/**
 * May give or take away this role: an Administrator any role; anyone else only a role whose
 * permissions they hold themselves (never the Administrator role). Otherwise an organization
 * administrator holding only "manage users" could hand out "send credentials" or "import/export".
 */
export function canGrantRole(actor: Actor, role: RoleFacts): boolean {
  if (actor.isAdministrator) return true;
  if (role.isAdministratorRole) return false;
  return role.permissions.every((p) => (actor.permissions as ReadonlySet<string>).has(p));
}

/** May change the roles of this user at all: nobody but an Administrator changes their own roles. */
export function canChangeRolesOf(actor: Actor, userId: number): boolean {
  return actor.isAdministrator || userId !== actor.userId;
}

/** Contacts are scoped by their home organization. */
export function canSeeContact(actor: Actor, homeOrganizationPath: string): boolean {
  if (actor.isAdministrator) return true;
  return (allows(actor, 'manage_contacts') || allows(actor, 'manage_users')) && inScope(actor, homeOrganizationPath);
}

/**
 * Changing or deleting a contact: its home lies in the subtree and, when the contact has a user,
 * the session may act on that user too (SPEC §3) — the contact's e-mail address is the user's,
 * where credential e-mails go, so the home alone would let an organization administrator take
 * over an Administrator whose contact lives in their organization.
 */
export function canManageContact(actor: Actor, homeOrganizationPath: string, linkedUser: UserTarget | null = null): boolean {
  if (!allows(actor, 'manage_contacts') || !inScope(actor, homeOrganizationPath)) return false;
  return linkedUser === null || canActOnUser(actor, linkedUser);
}

/**
 * May configure identity providers (Settings → Authentication → Identity providers): only an
 * Administrator signed in to Global. A provider decides who may sign in as whom, so the
 * "manage settings" permission alone (or being an organization administrator) is not enough.
 */
export function canManageIdentityProviders(actor: Actor): boolean {
  return actor.isAdministrator;
}
