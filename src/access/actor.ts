import type { ProfileStartPage } from '../profiles/user-profile.entity';
import type { Permission } from './permissions';

export interface ActorMembership {
  organizationId: number;
  organizationName: string;
  /** Materialized path of the organization, e.g. `/1/5/`. */
  path: string;
  isAdmin: boolean;
}

/**
 * The signed-in session as every service sees it: who acts, from where, in which organization,
 * with which permissions. Built once per request by the access guard; passed explicitly to
 * services (`create(actor, dto)`).
 */
export interface Actor {
  userId: number;
  username: string;
  displayName: string;
  ip: string | null;
  /** The organization the session works in; its subtree is the session's scope. */
  currentOrganization: ActorMembership;
  memberships: ActorMembership[];
  permissions: ReadonlySet<Permission>;
  /** Holds the Administrator role (anywhere). */
  hasAdministratorRole: boolean;
  /** Administrator role while logged in to Global: may do everything (SPEC §3). */
  isAdministrator: boolean;
  /** Flagged administrator of the current organization or of one of its ancestors. */
  isOrganizationAdmin: boolean;
  startPage: ProfileStartPage;
  mustChangePassword: boolean;
}

/** Paths look like `/1/` (Global) or `/1/5/23/`. */
export function isRootPath(path: string): boolean {
  return /^\/\d+\/$/.test(path);
}

/** Whether `path` lies in the subtree rooted at `rootPath` (itself included). */
export function isInside(path: string, rootPath: string): boolean {
  return path.startsWith(rootPath);
}
