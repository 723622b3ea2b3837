import request from 'supertest';
import { AccessService } from '../../src/access/access.service';
import type { Actor } from '../../src/access/actor';
import { AuditService } from '../../src/audit/audit.service';
import { OrganizationTreePanel } from '../../src/organizations/organization-tree-panel';
import * as plainQuery from '../../src/database/plain-query';
import { UsersService } from '../../src/users/users.service';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createUser, OrgRow, UserRow } from '../support/factories';
import { nextPageLink, usernamesIn } from '../support/html';
import { login } from '../support/http';
import { loginTo } from '../support/sessions';

/**
 * SPEC §2 "Subtree queries must be index-backed and must not load the tree into memory (measure at
 * 1,000+ organizations)". A tree of 1,000+ organizations six levels deep and 10,000 users, seeded
 * with set-based SQL; the query plan of the users list of a mid-level organization administrator
 * must reach `users` through an index, never a sequential scan. Then 10,000 members in one
 * organization: its page still answers with the first page of 50 and the full count. No timings
 * are asserted anywhere: only plans, statuses and contents.
 */
jest.setTimeout(180_000);

/** Children per organization at each level below Global: 4·3·3·3·3·2 → 1,132 organizations, depth 6. */
const FAN_OUT = [4, 3, 3, 3, 3, 2];
const USERS = 10_000;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/** Every node of an EXPLAIN (FORMAT JSON) plan tree (sub-plans and init-plans included). */
function planNodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(planNodes)];
}

describe('subtree queries at scale (1,000+ organizations, 10,000 users)', () => {
  let t: TestApp;
  let mid: OrgRow;
  let midAdmin: UserRow;

  beforeAll(async () => {
    t = await createTestApp();

    // The tree, one set-based insert per level (the trigger sets path and depth from the parent).
    for (const [i, children] of FAN_OUT.entries()) {
      await t.sql(
        `insert into organizations (name, parent_id)
         select 'L' || $1::int || '-' || p.id || '-' || g, p.id
           from organizations p cross join generate_series(1, $2::int) g
          where p.depth = $1::int - 1`,
        [i + 1, children],
      );
    }

    // Contacts spread over every organization below Global, then their users and memberships.
    await t.sql(
      `with orgs as (select array_agg(id order by id) as ids from organizations where depth > 0)
       insert into contacts (kind, full_name, email, organization_id)
       select 'person', 'Scale Person ' || g, 'scale' || lpad(g::text, 5, '0') || '@example.test',
              orgs.ids[1 + (g * 7919) % array_length(orgs.ids, 1)]
         from orgs, generate_series(1, $1::int) g`,
      [USERS],
    );
    await t.sql(
      `insert into users (contact_id, username, password_hash, profile_id, licence_id)
       select c.id, split_part(c.email, '@', 1), null,
              (select id from user_profiles where built_in_key = 'self_service'),
              (select id from licence_types where built_in_key = 'standard')
         from contacts c where c.email like 'scale%@example.test'`,
    );
    await t.sql(
      `insert into memberships (user_id, organization_id)
       select u.id, c.organization_id from users u join contacts c on c.id = u.contact_id where u.username like 'scale%'`,
    );
    // Every tenth user also belongs to a second organization somewhere else in the tree.
    await t.sql(
      `with orgs as (select array_agg(id order by id) as ids from organizations where depth > 0)
       insert into memberships (user_id, organization_id)
       select u.id, orgs.ids[1 + (u.id * 104729) % array_length(orgs.ids, 1)]
         from users u, orgs where u.username like 'scale%' and u.id % 10 = 0
       on conflict (user_id, organization_id) do nothing`,
    );
    await t.sql(
      `insert into user_roles (user_id, role_id)
       select u.id, (select id from roles where built_in_key = 'member') from users u where u.username like 'scale%'`,
    );

    // A mid-level organization (depth 3 of 6) with a good share of the users below it.
    [mid] = await t.sql<OrgRow>(
      `select o.id, o.path, o.name from organizations o
        where o.depth = 3
        order by (select count(*) from memberships m join organizations s on s.id = m.organization_id where s.path like o.path || '%') desc, o.id
        limit 1`,
    );
    midAdmin = await createUser(t, { username: 'mid_admin', roles: ['user_manager'], memberships: [{ org: mid, isAdmin: true }] });
    await t.sql('analyze');
  });
  afterAll(async () => {
    await t.close();
  });

  it('seeded 1,000+ organizations six levels deep and 10,000 users with memberships', async () => {
    const [counts] = await t.sql<{ organizations: number; depth: number; users: number; memberships: number; below_mid: number }>(
      `select (select count(*)::int from organizations) as organizations,
              (select max(depth) from organizations) as depth,
              (select count(*)::int from users where username like 'scale%') as users,
              (select count(*)::int from memberships) as memberships,
              (select count(distinct m.user_id)::int from memberships m join organizations o on o.id = m.organization_id where o.path like $1) as below_mid`,
      [`${mid.path}%`],
    );
    expect(counts.organizations).toBeGreaterThanOrEqual(1000);
    expect(counts.depth).toBe(6);
    expect(counts.users).toBe(USERS);
    expect(counts.memberships).toBeGreaterThan(USERS);
    expect(counts.below_mid).toBeGreaterThan(51); // more than one page: the LIMIT has work to do
  });

  it("the users list of a mid-level organization administrator reaches users through an index, never a Seq Scan", async () => {
    const em = t.em();
    const access = new AccessService(em);
    const [{ session_version }] = await t.sql<{ session_version: number }>('select session_version from users where id = $1', [midAdmin.id]);
    const resolution = await access.resolve({ userId: midAdmin.id, sessionVersion: session_version, currentOrganizationId: mid.id, ip: null });
    if (resolution.kind !== 'actor') throw new Error(`expected an actor, got ${resolution.kind}`);
    const actor: Actor = resolution.actor;
    expect(actor.isAdministrator).toBe(false);
    expect(actor.isOrganizationAdmin).toBe(true);
    expect(access.visibleUsersCondition(actor, 'u').sql).not.toBe('true');

    // The exact statement UsersService.list sends (with the condition of AccessService.visibleUsersCondition).
    const connection = em.getConnection();
    // The list's statements run through plainRows (the ORM's connections, no query building).
    const spy = jest.spyOn(plainQuery, 'plainRows');
    let statement: [string, unknown[]];
    try {
      const page = await new UsersService(em, access, new AuditService(em), new OrganizationTreePanel(em)).list(actor, { size: 50, sort: 'username', direction: 'asc' });
      expect(page.rows).toHaveLength(50);
      expect(page.next).not.toBeNull();
      const call = spy.mock.calls.find(([, sql]) => /from users u join contacts c/.test(sql));
      if (!call) throw new Error('UsersService.list sent no users query');
      statement = [call[1], [...(call[2] ?? [])]];
    } finally {
      spy.mockRestore();
    }
    expect(statement[0]).toMatch(/order by lower\(u\.username\) asc\s+limit \?/);
    expect(statement[1][statement[1].length - 1]).toBe(51);

    const [row] = await connection.execute<{ 'QUERY PLAN': { Plan: PlanNode }[] }[]>(`explain (format json) ${statement[0]}`, statement[1]);
    const nodes = planNodes(row['QUERY PLAN'][0].Plan);
    const summary = nodes.map((n) => `${n['Node Type']}${n['Relation Name'] ? ` on ${n['Relation Name']}` : ''}${n['Index Name'] ? ` using ${n['Index Name']}` : ''}`);
    const onUsers = nodes.filter((n) => n['Relation Name'] === 'users');
    // The walk found the users table (so the assertion below is not vacuous)…
    expect({ plan: summary, usersNodes: onUsers.length > 0 }).toEqual({ plan: summary, usersNodes: true });
    // …and never scans it sequentially.
    expect({ plan: summary, seqScansOnUsers: onUsers.filter((n) => n['Node Type'] === 'Seq Scan').length }).toEqual({ plan: summary, seqScansOnUsers: 0 });
    // The subtree itself is found through the organizations index, not by reading the tree.
    const onOrganizations = nodes.filter((n) => n['Relation Name'] === 'organizations');
    expect({ plan: summary, seqScansOnOrganizations: onOrganizations.filter((n) => n['Node Type'] === 'Seq Scan').length }).toEqual({
      plan: summary,
      seqScansOnOrganizations: 0,
    });
  });

  it('GET /users as that organization administrator answers 200 with the first page of the subtree', async () => {
    const agent = await loginTo(t, 'mid_admin', 'Secret-pass-1', mid);
    const res = await agent.get('/users');
    expect(res.status).toBe(200);
    const expected = await t.sql<{ username: string }>(
      `select u.username from users u
        where exists (select 1 from memberships m join organizations o on o.id = m.organization_id where m.user_id = u.id and o.path like $1)
        order by lower(u.username) limit 50`,
      [`${mid.path}%`],
    );
    expect(usernamesIn(res.text)).toEqual(expected.map((r) => r.username));
    expect(nextPageLink(res.text)).not.toBeNull();
  });

  describe('10,000 members in one organization', () => {
    let big: OrgRow;

    beforeAll(async () => {
      [big] = await t.sql<OrgRow>(
        `insert into organizations (name, parent_id) select 'Big', id from organizations where parent_id is null returning id, path, name`,
      );
      await t.sql(`insert into memberships (user_id, organization_id) select u.id, $1 from users u where u.username like 'scale%'`, [big.id]);
      await t.sql('analyze memberships');
    });

    it('its page answers 200 with the count, the first 50 members in order and a "Next page" link', async () => {
      const admin = await login(t.http, 'admin', ADMIN_PASSWORD);
      const res = await admin.get(`/organizations/${big.id}`);
      expect(res.status).toBe(200);
      expect(res.text).toContain('Members <span class="muted">(10,000)</span>');
      const first = usernamesIn(res.text);
      expect(first).toHaveLength(50);
      expect(first).toEqual(Array.from({ length: 50 }, (_v, i) => `scale${String(i + 1).padStart(5, '0')}`));
      const next = nextPageLink(res.text);
      expect(next).toBe(`/organizations/${big.id}?after=scale00050`);
      expect(res.text).toContain('Next page');

      const second = await admin.get(next!);
      expect(second.status).toBe(200);
      expect(usernamesIn(second.text)).toEqual(Array.from({ length: 50 }, (_v, i) => `scale${String(i + 51).padStart(5, '0')}`));
    });

    it('the organization administrator page of the mid-level organization still answers (Big is outside its subtree)', async () => {
      const agent = await loginTo(t, 'mid_admin', 'Secret-pass-1', mid);
      expect((await agent.get(`/organizations/${big.id}`)).status).toBe(404);
      expect((await agent.get(`/organizations/${mid.id}`)).status).toBe(200);
      expect((await request(t.http).get(`/organizations/${big.id}`)).status).toBe(303);
    });
  });
});
