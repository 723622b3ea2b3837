import type { Actor } from '../access/actor';
import { allows, inScope } from '../access/policy';

/**
 * The contact rules of SPEC §3 that `policy.ts` does not already hold, as pure functions
 * (`canSeeContact` / `canManageContact` live there).
 */

/** May open the contacts list (it shows only the contacts whose home lies in the session's subtree). */
export function canListContacts(actor: Actor): boolean {
  return actor.isAdministrator || allows(actor, 'manage_contacts') || allows(actor, 'manage_users');
}

/**
 * "Enable Access" and "Open User" on a contact: the session may manage users, and the contact's
 * home organization lies in its scope (Administrators always).
 */
export function canManageUsersOfContact(actor: Actor, homeOrganizationPath: string): boolean {
  if (actor.isAdministrator) return true;
  return allows(actor, 'manage_users') && inScope(actor, homeOrganizationPath);
}
