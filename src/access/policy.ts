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

/** Contacts are scoped by their home organization. */
export function canSeeContact(actor: Actor, homeOrganizationPath: string): boolean {
  if (actor.isAdministrator) return true;
  return (allows(actor, 'manage_contacts') || allows(actor, 'manage_users')) && inScope(actor, homeOrganizationPath);
}

export function canManageContact(actor: Actor, homeOrganizationPath: string): boolean {
  return allows(actor, 'manage_contacts') && inScope(actor, homeOrganizationPath);
}
