import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createUser, OrgRow, UserRow } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { allUsernames } from '../support/html';
import { Agent, csrfToken, login } from '../support/http';
import { loginTo } from '../support/sessions';
import { buildWorld } from '../support/world';

/**
 * SPEC §3 "Visibility": the three source scenarios with A ⊃ A1 ⊃ A11 (and a sibling B of A),
 * through the real pages, for "Limit Organization Members Visibility" Yes and No:
 *
 *  - the member picker (GET /organizations/:current/members/add) follows the setting:
 *    Yes → users with a membership in the session's subtree, No → every user;
 *  - the users list (GET /users) always shows only the subtree;
 *  - the picker's POST is checked on the server: a forged id the picker does not offer → 404.
 *
 * Administrators are never offered to a non-Administrator (nobody but an Administrator acts on an
 * Administrator), and current members of the organization are never offered.
 */
const PASSWORD = 'Secret-pass-1';

describe('visibility scenarios (SPEC §3)', () => {
  let t: TestApp;
  let admin: Agent;
  let A: OrgRow, A1: OrgRow, A11: OrgRow, B: OrgRow;
  const users: Record<string, UserRow> = {};

  beforeAll(async () => {
    t = await createTestApp();
    // Only the users who sign in (user1, user2) get a password: hashing costs time.
    const world = await buildWorld(t, {
      users: {
        user1: { password: PASSWORD, memberships: [{ org: 'A', isAdmin: true }, 'A1'], roles: ['user_manager'] },
        user2: { password: PASSWORD, memberships: [{ org: 'A1', isAdmin: true }], roles: ['user_manager'] },
        user3: { password: null, memberships: ['A'] },
        user4: { password: null, memberships: ['A11'] },
        user5: { password: null, memberships: ['A1'] },
        user6: { password: null, memberships: ['A11'] },
        user7: { password: null, memberships: ['A', 'B'] },
        user8: { password: null, memberships: ['B', 'A11'] },
        userb1: { password: null, memberships: ['B'] },
        userb2: { password: null, memberships: [{ org: 'B', isAdmin: true }], roles: ['user_manager'] },
        // An Administrator-role holder inside the subtree: listed, never offered to non-Administrators.
        boss: { password: null, memberships: ['A11'], roles: ['administrator'] },
      },
    });
    ({ A, A1, A11, B } = world.org);
    Object.assign(users, world.user);
    const [builtIn] = await t.sql<{ id: number }>(`select id from users where username = 'admin'`);
    users.admin = { id: builtIn.id, username: 'admin', password: ADMIN_PASSWORD };
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
  });
  afterAll(async () => {
    await t.close();
  });

  /** Sets the client setting through its page, as an Administrator does. */
  async function setLimitVisibility(value: 'yes' | 'no') {
    const token = await csrfToken(admin, '/settings/portal');
    const res = await admin.post('/settings/portal').type('form').send({ _csrf: token, limitMemberVisibility: value });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/settings/portal');
    const page = await admin.get('/settings/portal');
    expect(page.text).toMatch(new RegExp(`id="limit-${value}" name="limitMemberVisibility" value="${value}" checked`));
    expect(await t.sql('select limit_member_visibility from client_settings')).toEqual([{ limit_member_visibility: value === 'yes' }]);
  }

  const sorted = (names: string[]) => [...names].sort();

  // Users with a membership in the subtree of A, and of A1 (A11 is inside both).
  const SUBTREE_A = ['boss', 'user1', 'user2', 'user3', 'user4', 'user5', 'user6', 'user7', 'user8'];
  const SUBTREE_A1 = ['boss', 'user1', 'user2', 'user4', 'user5', 'user6', 'user8'];
  const EVERYONE = ['admin', 'boss', 'user1', 'user2', 'user3', 'user4', 'user5', 'user6', 'user7', 'user8', 'userb1', 'userb2'];
  const ADMINISTRATORS = ['admin', 'boss'];
  const MEMBERS_OF_A = ['user1', 'user3', 'user7'];
  const MEMBERS_OF_A1 = ['user1', 'user2', 'user5'];
  const minus = (names: string[], ...without: string[][]) => sorted(names.filter((n) => !without.some((w) => w.includes(n))));

  interface Scenario {
    name: string;
    username: string;
    org: () => OrgRow;
    /** The users list: the subtree, whatever the setting. */
    usersList: string[];
    picker: { yes: string[]; no: string[] };
    /** A user the picker must not offer with Yes (only outside the subtree). */
    outsider: string;
  }

  const scenarios: Scenario[] = [
    {
      name: 'scenario 1: user1 (admin of A) logged in to A sees the users of A, A1 and A11',
      username: 'user1',
      org: () => A,
      usersList: SUBTREE_A,
      picker: { yes: minus(SUBTREE_A, MEMBERS_OF_A, ADMINISTRATORS), no: minus(EVERYONE, MEMBERS_OF_A, ADMINISTRATORS) },
      outsider: 'userb1',
    },
    {
      name: 'scenario 2: user2 (admin of A1) logged in to A1 sees only the users of A1 and A11, never those only in A',
      username: 'user2',
      org: () => A1,
      usersList: SUBTREE_A1,
      picker: { yes: minus(SUBTREE_A1, MEMBERS_OF_A1, ADMINISTRATORS), no: minus(EVERYONE, MEMBERS_OF_A1, ADMINISTRATORS) },
      outsider: 'user3',
    },
    {
      name: 'scenario 3: user1 (member of A and A1) logged in to A1 sees only the users of A1 and A11',
      username: 'user1',
      org: () => A1,
      usersList: SUBTREE_A1,
      picker: { yes: minus(SUBTREE_A1, MEMBERS_OF_A1, ADMINISTRATORS), no: minus(EVERYONE, MEMBERS_OF_A1, ADMINISTRATORS) },
      outsider: 'user7',
    },
  ];

  it('the expected sets say what the scenarios say', () => {
    // Scenario 1 includes users of A1 and A11; 2 and 3 never users only in A (user3) or only in A and B (user7).
    expect(scenarios[0].usersList).toEqual(expect.arrayContaining(['user3', 'user4', 'user5', 'user6']));
    for (const s of scenarios.slice(1)) {
      expect(s.usersList).not.toContain('user3');
      expect(s.usersList).not.toContain('user7');
      expect(s.picker.yes).not.toContain('user3');
      expect(s.picker.yes).not.toContain('user7');
    }
    for (const s of scenarios) {
      expect(s.usersList).not.toContain('userb1');
      expect(s.usersList).not.toContain('admin');
      expect(s.picker.no).toEqual(expect.arrayContaining(['userb1', 'userb2']));
    }
  });

  describe.each(['yes', 'no'] as const)('Limit Organization Members Visibility = %s', (setting) => {
    const agents = new Map<string, Agent>();

    beforeAll(async () => {
      await setLimitVisibility(setting);
    });

    async function agentFor(s: Scenario): Promise<Agent> {
      const key = `${s.username}@${s.org().name}`;
      if (!agents.has(key)) agents.set(key, await loginTo(t, s.username, PASSWORD, s.org()));
      return agents.get(key)!;
    }

    describe.each(scenarios.map((s) => [s.name, s] as const))('%s', (_name, s) => {
      it('the member picker of the current organization offers exactly the expected users', async () => {
        const agent = await agentFor(s);
        const offered = await allUsernames(agent, `/organizations/${s.org().id}/members/add`);
        expect(offered).toEqual(s.picker[setting]);
      });

      it('the users list shows exactly the users of the subtree, whatever the setting', async () => {
        const agent = await agentFor(s);
        expect(await allUsernames(agent, '/users')).toEqual(sorted(s.usersList));
        // Small pages walk the same set through the keyset cursor.
        expect(await allUsernames(agent, '/users?size=2')).toEqual(sorted(s.usersList));
      });

      it('a search in the picker never reaches past what the setting allows', async () => {
        const agent = await agentFor(s);
        const found = await allUsernames(agent, `/organizations/${s.org().id}/members/add?q=${s.outsider}`);
        expect(found).toEqual(setting === 'yes' ? [] : [s.outsider]);
        expect(await allUsernames(agent, `/organizations/${s.org().id}/members/add?q=admin`)).toEqual([]);
      });
    });

    it('an Administrator is offered every user who is not yet a member, whatever the setting', async () => {
      expect(await allUsernames(admin, `/organizations/${A1.id}/members/add`)).toEqual(minus(EVERYONE, MEMBERS_OF_A1));
      expect(await allUsernames(admin, '/users')).toEqual(sorted(EVERYONE));
    });
  });

  describe('the picker is enforced on the server (forged POST /organizations/:id/members)', () => {
    beforeAll(async () => {
      await setLimitVisibility('yes');
    });

    async function forge(agent: Agent, org: OrgRow, userIds: number[]) {
      const token = await csrfToken(agent, `/organizations/${org.id}/members/add`);
      return agent
        .post(`/organizations/${org.id}/members`)
        .type('form')
        .send({ _csrf: token, userIds: userIds.map(String) });
    }

    it.each([
      ['user2 in A1 adds userb1 (only in B)', 'user2', () => A1, ['userb1']],
      ['user2 in A1 adds user3 (only in A, above A1)', 'user2', () => A1, ['user3']],
      ['user1 in A1 adds user7 (in A and B)', 'user1', () => A1, ['user7']],
      ['user1 in A adds userb1 (only in B)', 'user1', () => A, ['userb1']],
      ['user2 in A1 adds user4 (allowed) together with userb1 (not): all or nothing', 'user2', () => A1, ['user4', 'userb1']],
      ['user2 in A1 adds boss (an Administrator inside the subtree)', 'user2', () => A1, ['boss']],
      ['user2 in A1 adds admin', 'user2', () => A1, ['admin']],
    ] as const)('with Yes, %s → 404 and nothing changes', async (_name, username, org, picked) => {
      const agent = await loginTo(t, username, PASSWORD, org());
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await forge(agent, org(), picked.map((name) => users[name].id));
      expect(res.status).toBe(404);
      expect(res.text).not.toContain('did not come from Tessera'); // refused by the rule, not by CSRF
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it('the same POST for a user the picker offers succeeds (the check is not a blanket refusal)', async () => {
      const agent = await loginTo(t, 'user2', PASSWORD, A1);
      const res = await forge(agent, A1, [users.user4.id]);
      expect(res.status).toBe(303);
      expect(await t.sql('select 1 from memberships where user_id = $1 and organization_id = $2', [users.user4.id, A1.id])).toHaveLength(1);
      await t.sql('delete from memberships where user_id = $1 and organization_id = $2', [users.user4.id, A1.id]);
    });

    it('with No, a user outside the subtree may be added (name, username and e-mail only: no other access)', async () => {
      await setLimitVisibility('no');
      const outsider = await createUser(t, { username: 'outsider', password: null, memberships: [{ org: B }] });
      const agent = await loginTo(t, 'user2', PASSWORD, A1);
      const res = await forge(agent, A1, [outsider.id]);
      expect(res.status).toBe(303);
      expect(await t.sql('select 1 from memberships where user_id = $1 and organization_id = $2', [outsider.id, A1.id])).toHaveLength(1);
      // An Administrator is still not offered and still refused.
      const before = await databaseFingerprint(t, { includeAudit: true });
      expect((await forge(agent, A1, [users.boss.id])).status).toBe(404);
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });
  });
});
