import { AccessService } from '../../src/access/access.service';
import type { Actor } from '../../src/access/actor';
import { ForbiddenError, NotFoundError } from '../../src/common/errors';
import { createTestApp, TestApp } from '../support/app';
import { createUser, OrgRow, UserRow } from '../support/factories';
import { buildWorld } from '../support/world';

/** The access core against real rows: actors resolved from the database, scope queries. */
describe('AccessService', () => {
  let t: TestApp;
  let A: OrgRow, A1: OrgRow, A11: OrgRow, B: OrgRow;
  let user1: UserRow, user2: UserRow, user3: UserRow, user4: UserRow, userB: UserRow, admin: { id: number };

  beforeAll(async () => {
    t = await createTestApp();
    const world = await buildWorld(t, {
      admins: { A: { username: 'user1', roles: ['user_manager'], memberships: ['A1'] }, A1: { username: 'user2', roles: ['user_manager'] } },
      users: { user3: { memberships: ['A'] }, user4: { memberships: ['A11'] }, userb: { memberships: ['B', 'A11'] } },
    });
    ({ A, A1, A11, B } = world.org);
    ({ A: user1, A1: user2 } = world.admin);
    ({ user3, user4, userb: userB } = world.user);
    [admin] = await t.sql<{ id: number }>(`select id from users where username = 'admin'`);
  });
  afterAll(async () => {
    await t.close();
  });

  const service = () => new AccessService(t.em());

  async function actorFor(userId: number, currentOrganizationId: number | null): Promise<Actor> {
    const [{ session_version }] = await t.sql<{ session_version: number }>('select session_version from users where id = $1', [userId]);
    const resolution = await service().resolve({ userId, sessionVersion: session_version, currentOrganizationId, ip: '127.0.0.1' });
    if (resolution.kind !== 'actor') throw new Error(`expected an actor, got ${resolution.kind}`);
    return resolution.actor;
  }

  async function visibleUsernames(actor: Actor): Promise<string[]> {
    const condition = service().visibleUsersCondition(actor, 'u');
    const rows: { username: string }[] = await t
      .em()
      .getConnection()
      .execute(`select username from users u where ${condition.sql} order by username`, condition.params);
    return rows.map((r) => r.username);
  }

  it('resolves the built-in admin in Global as an Administrator', async () => {
    const actor = await actorFor(admin.id, null);
    expect(actor.isAdministrator).toBe(true);
    expect(actor.currentOrganization.organizationName).toBe('Global');
    expect(await visibleUsernames(actor)).toEqual(['admin', 'user1', 'user2', 'user3', 'user4', 'userb']);
  });

  it('asks a user with several memberships to choose, and refuses a current organization they are not in', async () => {
    const s = service();
    const [{ session_version }] = await t.sql<{ session_version: number }>('select session_version from users where id = $1', [user1.id]);
    expect((await s.resolve({ userId: user1.id, sessionVersion: session_version, currentOrganizationId: null, ip: null })).kind).toBe(
      'choose-organization',
    );
    expect((await s.resolve({ userId: user1.id, sessionVersion: session_version, currentOrganizationId: B.id, ip: null })).kind).toBe(
      'choose-organization',
    );
  });

  it('ends the session of a disabled user or after a session-version bump', async () => {
    const s = service();
    const temp = await createUser(t, { username: 'temp', memberships: [{ org: B }] });
    expect((await s.resolve({ userId: temp.id, sessionVersion: 1, currentOrganizationId: null, ip: null })).kind).toBe('actor');
    expect((await s.resolve({ userId: temp.id, sessionVersion: 0, currentOrganizationId: null, ip: null })).kind).toBe('ended');
    await t.sql('update users set enabled = false where id = $1', [temp.id]);
    expect((await service().resolve({ userId: temp.id, sessionVersion: 1, currentOrganizationId: null, ip: null })).kind).toBe('ended');
  });

  it('scenario 1: user1 (admin of A) logged in to A sees the users of A, A1 and A11', async () => {
    const actor = await actorFor(user1.id, A.id);
    expect(actor.isOrganizationAdmin).toBe(true);
    expect(await visibleUsernames(actor)).toEqual(['user1', 'user2', 'user3', 'user4', 'userb']);
  });

  it('scenario 2: user2 (admin of A1) logged in to A1 sees A1 and A11, never users only in A', async () => {
    const actor = await actorFor(user2.id, A1.id);
    expect(await visibleUsernames(actor)).toEqual(['user1', 'user2', 'user4', 'userb']);
  });

  it('scenario 3: user1 logged in to A1 sees only the users of A1 and A11', async () => {
    const actor = await actorFor(user1.id, A1.id);
    expect(actor.isOrganizationAdmin).toBe(true);
    expect(await visibleUsernames(actor)).toEqual(['user1', 'user2', 'user4', 'userb']);
  });

  it('acting on a user: not found outside the scope, forbidden when not all memberships are inside', async () => {
    const actor = await actorFor(user2.id, A1.id);
    const s = service();
    await expect(s.assertCanActOnUser(actor, user4.id)).resolves.toBeUndefined();
    await expect(s.assertCanActOnUser(actor, user3.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(s.assertCanActOnUser(actor, userB.id)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(s.assertCanActOnUser(actor, user1.id)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(s.assertCanActOnUser(actor, 999999)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('nobody but an Administrator acts on an Administrator', async () => {
    const actor = await actorFor(user1.id, A.id);
    const boss = await createUser(t, { username: 'boss', roles: ['administrator'], memberships: [{ org: A1 }] });
    await expect(service().assertCanActOnUser(actor, boss.id)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(service().assertCanActOnUser(await actorFor(admin.id, null), boss.id)).resolves.toBeUndefined();
  });
});
