import { Actor, ActorMembership } from './actor';
import { Permission } from './permissions';
import {
  allows,
  canActOnUser,
  canChangeRolesOf,
  canGrantRole,
  canManageContact,
  canManageIdentityProviders,
  canManageOrganization,
  canSeeOrganization,
  canSeeUser,
  canSeeUserDetails,
  inScope,
} from './policy';

// Global ⊃ A ⊃ A1 ⊃ A11, and a sibling B of A.
const GLOBAL = '/1/';
const A = '/1/2/';
const A1 = '/1/2/3/';
const A11 = '/1/2/3/4/';
const B = '/1/5/';

function membership(path: string, isAdmin = false): ActorMembership {
  return { organizationId: Number(path.split('/').filter(Boolean).pop()), organizationName: path, path, isAdmin };
}

function actor(options: { memberships: ActorMembership[]; current: string; permissions?: Permission[]; administratorRole?: boolean }): Actor {
  const current = options.memberships.find((m) => m.path === options.current)!;
  return {
    userId: 99,
    username: 'someone',
    displayName: 'Someone',
    ip: null,
    currentOrganization: current,
    memberships: options.memberships,
    permissions: new Set(options.permissions ?? []),
    hasAdministratorRole: options.administratorRole ?? false,
    isAdministrator: (options.administratorRole ?? false) && current.path === GLOBAL,
    isOrganizationAdmin: options.memberships.some((m) => m.isAdmin && current.path.startsWith(m.path)),
    startPage: 'administrator',
    mustChangePassword: false,
  };
}

const ALL: Permission[] = [
  'manage_users',
  'manage_contacts',
  'manage_organizations',
  'import_export_users',
  'send_credentials',
  'manage_settings',
  'view_audit_log',
];
const administrator = actor({ memberships: [membership(GLOBAL, true)], current: GLOBAL, permissions: ALL, administratorRole: true });
const adminOfA1WithUsers = actor({ memberships: [membership(A1, true)], current: A1, permissions: ['manage_users', 'manage_contacts'] });
const adminOfA1WithoutUsers = actor({ memberships: [membership(A1, true)], current: A1, permissions: [] });
const plainMemberOfA1 = actor({ memberships: [membership(A1)], current: A1, permissions: ['manage_users'] });

const user = (paths: string[], hasAdministratorRole = false) => ({ membershipPaths: paths, hasAdministratorRole });

describe('access policy (SPEC §3)', () => {
  it('an Administrator (Administrator role, logged in to Global) may do everything', () => {
    for (const p of ALL) expect(allows(administrator, p)).toBe(true);
    expect(canActOnUser(administrator, user([B], true))).toBe(true);
    expect(canManageOrganization(administrator, B)).toBe(true);
  });

  it('the Administrator role outside Global acts only inside the current subtree', () => {
    const roleHolderInA = actor({ memberships: [membership(A, true)], current: A, permissions: ALL, administratorRole: true });
    expect(roleHolderInA.isAdministrator).toBe(false);
    expect(inScope(roleHolderInA, A11)).toBe(true);
    expect(inScope(roleHolderInA, B)).toBe(false);
    expect(allows(roleHolderInA, 'manage_settings')).toBe(false);
  });

  it('an organization administrator manages sub-organizations and memberships of their subtree only', () => {
    expect(canManageOrganization(adminOfA1WithoutUsers, A1)).toBe(true);
    expect(canManageOrganization(adminOfA1WithoutUsers, A11)).toBe(true);
    expect(canManageOrganization(adminOfA1WithoutUsers, A)).toBe(false);
    expect(canSeeOrganization(adminOfA1WithoutUsers, GLOBAL)).toBe(false);
    expect(canManageOrganization(plainMemberOfA1, A1)).toBe(false);
  });

  it('managing users needs the organization-administrator flag AND "manage users"', () => {
    expect(canActOnUser(adminOfA1WithUsers, user([A11]))).toBe(true);
    expect(canActOnUser(adminOfA1WithoutUsers, user([A11]))).toBe(false);
    expect(canActOnUser(plainMemberOfA1, user([A11]))).toBe(false);
  });

  it('a user is manageable only when ALL their memberships are inside the subtree', () => {
    expect(canActOnUser(adminOfA1WithUsers, user([A1, A11]))).toBe(true);
    expect(canActOnUser(adminOfA1WithUsers, user([A11, B]))).toBe(false);
    expect(canSeeUser(adminOfA1WithUsers, user([A11, B]))).toBe(true);
    expect(canActOnUser(adminOfA1WithUsers, user([]))).toBe(false);
  });

  it('nobody but an Administrator acts on an Administrator', () => {
    expect(canActOnUser(adminOfA1WithUsers, user([A11], true))).toBe(false);
    expect(canActOnUser(administrator, user([A11], true))).toBe(true);
  });

  it('scenario 1: admin of A logged in to A sees the users of A1 and A11', () => {
    const user1 = actor({ memberships: [membership(A, true)], current: A, permissions: ['manage_users'] });
    expect(canSeeUser(user1, user([A1]))).toBe(true);
    expect(canSeeUser(user1, user([A11]))).toBe(true);
    expect(canSeeUser(user1, user([B]))).toBe(false);
  });

  it('scenario 2: admin of A1 logged in to A1 sees A1 and A11, never users only in A', () => {
    const user2 = actor({ memberships: [membership(A1, true)], current: A1, permissions: ['manage_users'] });
    expect(canSeeUser(user2, user([A11]))).toBe(true);
    expect(canSeeUser(user2, user([A1]))).toBe(true);
    expect(canSeeUser(user2, user([A]))).toBe(false);
  });

  it('scenario 3: admin of A who is also a member of A1, logged in to A1, sees only A1 and A11', () => {
    const user1 = actor({ memberships: [membership(A, true), membership(A1)], current: A1, permissions: ['manage_users'] });
    expect(user1.isOrganizationAdmin).toBe(true);
    expect(canSeeUser(user1, user([A11]))).toBe(true);
    expect(canSeeUser(user1, user([A]))).toBe(false);
    expect(canActOnUser(user1, user([A, A1]))).toBe(false);
  });

  it('global permissions (settings, audit log) apply only while logged in to Global', () => {
    const auditorInGlobal = actor({ memberships: [membership(GLOBAL)], current: GLOBAL, permissions: ['view_audit_log'] });
    const auditorInA = actor({ memberships: [membership(A)], current: A, permissions: ['view_audit_log'] });
    expect(allows(auditorInGlobal, 'view_audit_log')).toBe(true);
    expect(allows(auditorInA, 'view_audit_log')).toBe(false);
    expect(allows(auditorInGlobal, 'manage_settings')).toBe(false);
  });

  it('contacts are scoped by their home organization', () => {
    expect(canManageContact(adminOfA1WithUsers, A11)).toBe(true);
    expect(canManageContact(adminOfA1WithUsers, A)).toBe(false);
    expect(canManageContact(adminOfA1WithoutUsers, A11)).toBe(false);
  });

  it('the contact of a user is changed only by sessions that may act on that user (the e-mail is where credentials go)', () => {
    expect(canManageContact(adminOfA1WithUsers, A11, user([A11]))).toBe(true);
    // An Administrator whose contact lives in A11, a user also in B, a user only outside: refused.
    expect(canManageContact(adminOfA1WithUsers, A11, user([GLOBAL], true))).toBe(false);
    expect(canManageContact(adminOfA1WithUsers, A11, user([A11], true))).toBe(false);
    expect(canManageContact(adminOfA1WithUsers, A11, user([A11, B]))).toBe(false);
    expect(canManageContact(adminOfA1WithUsers, A11, user([B]))).toBe(false);
    const contactsOnly = actor({ memberships: [membership(A1, true)], current: A1, permissions: ['manage_contacts'] });
    expect(canManageContact(contactsOnly, A11, null)).toBe(true);
    expect(canManageContact(contactsOnly, A11, user([A11]))).toBe(false);
    expect(canManageContact(administrator, A11, user([GLOBAL], true))).toBe(true);
  });

  it('a role is given or taken away only by holders of all its permissions, never the Administrator role, never on oneself', () => {
    const role = (permissions: Permission[], isAdministratorRole = false) => ({ permissions, isAdministratorRole });
    expect(canGrantRole(adminOfA1WithUsers, role(['manage_users']))).toBe(true);
    expect(canGrantRole(adminOfA1WithUsers, role([]))).toBe(true);
    expect(canGrantRole(adminOfA1WithUsers, role(['manage_users', 'send_credentials']))).toBe(false);
    expect(canGrantRole(adminOfA1WithUsers, role(['manage_users', 'manage_contacts'], true))).toBe(false);
    expect(canGrantRole(administrator, role(ALL, true))).toBe(true);
    expect(canChangeRolesOf(adminOfA1WithUsers, adminOfA1WithUsers.userId)).toBe(false);
    expect(canChangeRolesOf(adminOfA1WithUsers, 1)).toBe(true);
    expect(canChangeRolesOf(administrator, administrator.userId)).toBe(true);
  });

  it('the whole user page is for users fully inside the subtree; one membership inside shows only who they are', () => {
    expect(canSeeUserDetails(adminOfA1WithUsers, user([A11]))).toBe(true);
    expect(canSeeUserDetails(adminOfA1WithUsers, user([A11], true))).toBe(true);
    expect(canSeeUser(adminOfA1WithUsers, user([A11, B]))).toBe(true);
    expect(canSeeUserDetails(adminOfA1WithUsers, user([A11, B]))).toBe(false);
    expect(canSeeUserDetails(adminOfA1WithUsers, user([B]))).toBe(false);
    expect(canSeeUserDetails(administrator, user([B]))).toBe(true);
  });

  it('only an Administrator signed in to Global configures identity providers', () => {
    const global = membership(GLOBAL, true);
    const a = membership(A, true);
    expect(canManageIdentityProviders(actor({ memberships: [global], current: GLOBAL, administratorRole: true }))).toBe(true);
    // The Administrator role signed in to A, an organization administrator, or "manage settings" alone: no.
    expect(canManageIdentityProviders(actor({ memberships: [global, a], current: A, administratorRole: true }))).toBe(false);
    expect(canManageIdentityProviders(actor({ memberships: [a], current: A, permissions: ALL }))).toBe(false);
    expect(canManageIdentityProviders(actor({ memberships: [global], current: GLOBAL, permissions: ['manage_settings'] }))).toBe(false);
  });
});
