import type { Actor } from '../access/actor';
import type { Permission } from '../access/permissions';
import { canListContacts, canManageUsersOfContact } from './contact-policy';

function actor(overrides: Partial<Omit<Actor, 'permissions'>> & { permissions?: Permission[] } = {}): Actor {
  const { permissions, ...rest } = overrides;
  const current = { organizationId: 5, organizationName: 'A1', path: '/1/4/5/', isAdmin: true };
  return {
    userId: 10,
    username: 'someone',
    displayName: 'Someone',
    ip: null,
    currentOrganization: current,
    memberships: [current],
    permissions: new Set(permissions ?? []),
    hasAdministratorRole: false,
    isAdministrator: false,
    isOrganizationAdmin: true,
    startPage: 'administrator',
    mustChangePassword: false,
    ...rest,
  };
}

describe('contact policy', () => {
  it('lets Administrators and organization administrators with contact or user permissions list contacts', () => {
    expect(canListContacts(actor({ isAdministrator: true, hasAdministratorRole: true, isOrganizationAdmin: false }))).toBe(true);
    expect(canListContacts(actor({ permissions: ['manage_contacts'] }))).toBe(true);
    expect(canListContacts(actor({ permissions: ['manage_users'] }))).toBe(true);
    expect(canListContacts(actor({ permissions: [] }))).toBe(false);
    expect(canListContacts(actor({ permissions: ['manage_contacts', 'manage_users'], isOrganizationAdmin: false }))).toBe(false);
  });

  it('offers Enable Access / Open User only with manage_users and a home organization in scope', () => {
    const manager = actor({ permissions: ['manage_users'] });
    expect(canManageUsersOfContact(manager, '/1/4/5/')).toBe(true);
    expect(canManageUsersOfContact(manager, '/1/4/5/9/')).toBe(true);
    expect(canManageUsersOfContact(manager, '/1/4/')).toBe(false);
    expect(canManageUsersOfContact(manager, '/1/7/')).toBe(false);
    expect(canManageUsersOfContact(actor({ permissions: ['manage_contacts'] }), '/1/4/5/')).toBe(false);
    expect(canManageUsersOfContact(actor({ isAdministrator: true, hasAdministratorRole: true }), '/1/7/')).toBe(true);
  });
});
