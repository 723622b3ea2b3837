import { AccessService } from '../../src/access/access.service';
import type { Actor } from '../../src/access/actor';
import { AuditService } from '../../src/audit/audit.service';
import { OrganizationTreePanel } from '../../src/organizations/organization-tree-panel';
import * as plainQuery from '../../src/database/plain-query';
import { UserListQuery, UsersService } from '../../src/users/users.service';
import { createTestApp, TestApp } from '../support/app';
import { createUser, OrgRow } from '../support/factories';

/**
 * SPEC §4 "Users list … paging (fast at 100,000 users)". 100,000 users in 300 organizations,
 * seeded with set-based SQL; the statements `UsersService.list` sends for the default page, a
 * search, an organization filter (with and without sub-organizations), the other sort orders and
 * a later page must reach `users` and `contacts` through indexes, never a sequential scan. Only
 * plans are asserted, no timings.
 */
jest.setTimeout(180_000);

const USERS = 100_000;
const ORGS = 300;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function planNodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(planNodes)];
}

describe('users list at scale (100,000 users, 300 organizations)', () => {
  let t: TestApp;
  let admin: Actor;
  let orgAdmin: Actor;
  let parent: OrgRow;
  let leaf: OrgRow;

  async function actorFor(userId: number, organizationId: number): Promise<Actor> {
    const access = new AccessService(t.em());
    const [{ session_version }] = await t.sql<{ session_version: number }>('select session_version from users where id = $1', [userId]);
    const r = await access.resolve({ userId, sessionVersion: session_version, currentOrganizationId: organizationId, ip: null });
    if (r.kind !== 'actor') throw new Error(`expected an actor, got ${r.kind}`);
    return r.actor;
  }

  beforeAll(async () => {
    t = await createTestApp();
    // 30 parents under Global, 9 children each: 300 organizations.
    await t.sql(`insert into organizations (name, parent_id) select 'P' || g, (select id from organizations where parent_id is null) from generate_series(1, 30) g`);
    await t.sql(`insert into organizations (name, parent_id) select p.name || '-' || g, p.id from organizations p cross join generate_series(1, 9) g where p.name like 'P%'`);
    await t.sql(
      `with orgs as (select array_agg(id order by id) as ids from organizations where parent_id is not null)
       insert into contacts (kind, first_name, last_name, full_name, email, organization_id)
       select 'person', 'First' || g, 'Last' || (g % 9973), 'First' || g || ' Last' || (g % 9973), 'user' || g || '@scale.example',
              orgs.ids[1 + (g * 7919) % array_length(orgs.ids, 1)]
         from orgs, generate_series(1, $1::int) g`,
      [USERS],
    );
    await t.sql(
      `insert into users (contact_id, username, password_hash, profile_id, licence_id, last_login_at, enabled)
       select c.id, 'u' || split_part(c.email, '@', 1), null,
              (select id from user_profiles where built_in_key = 'self_service'),
              (select id from licence_types where built_in_key = 'standard'),
              case when c.id % 3 = 0 then null else now() - (c.id % 5000) * interval '1 minute' end,
              c.id % 50 <> 0
         from contacts c where c.email like '%@scale.example'`,
    );
    await t.sql(`insert into memberships (user_id, organization_id) select u.id, c.organization_id from users u join contacts c on c.id = u.contact_id where c.email like '%@scale.example'`);
    await t.sql(`insert into user_roles (user_id, role_id) select u.id, (select id from roles where built_in_key = 'member') from users u where u.username like 'uuser%'`);
    [parent] = await t.sql<OrgRow>(`select id, path, name from organizations where name = 'P7'`);
    [leaf] = await t.sql<OrgRow>(`select id, path, name from organizations where name = 'P7-3'`);
    const manager = await createUser(t, { username: 'scale_manager', roles: ['user_manager'], memberships: [{ org: parent, isAdmin: true }] });
    await t.sql('analyze');
    const [{ id: adminId }] = await t.sql<{ id: number }>('select id from users where built_in');
    const [{ id: globalId }] = await t.sql<{ id: number }>('select id from organizations where parent_id is null');
    admin = await actorFor(adminId, globalId);
    orgAdmin = await actorFor(manager.id, parent.id);
  });
  afterAll(async () => {
    await t.close();
  });

  /** A statement's plan as its nodes and a one-line summary of each. */
  async function planNodesOf([sql, params]: [string, unknown[]]) {
    const [row] = await t.em().getConnection().execute<{ 'QUERY PLAN': { Plan: PlanNode }[] }[]>(`explain (format json) ${sql}`, params);
    const nodes = planNodes(row['QUERY PLAN'][0].Plan);
    const summary = nodes.map((n) => `${n['Node Type']}${n['Relation Name'] ? ` on ${n['Relation Name']}` : ''}${n['Index Name'] ? ` using ${n['Index Name']}` : ''}`);
    return { nodes, summary };
  }

  /**
   * The page statement the list sends for `query`, its plan and SQL, the page it returned, and —
   * for a search with up to 1,000 matches, which the list finds before the page — the plan of the
   * statement finding them (`matches`).
   */
  async function planOf(actor: Actor, query: Partial<UserListQuery>) {
    const em = t.em();
    const service = new UsersService(em, new AccessService(em), new AuditService(em), new OrganizationTreePanel(em));
    // The list's statements run through plainRows (the ORM's connections, no query building).
    const spy = jest.spyOn(plainQuery, 'plainRows');
    let pageStatement: [string, unknown[]];
    let matchesStatement: [string, unknown[]] | undefined;
    let page;
    try {
      page = await service.list(actor, { sort: 'username', direction: 'asc', size: 50, ...query });
      const statement = (test: RegExp): [string, unknown[]] | undefined => {
        const call = spy.mock.calls.find(([, sql]) => test.test(sql));
        return call ? [call[1], [...(call[2] ?? [])]] : undefined;
      };
      const found = statement(/from users u join contacts c/);
      if (!found) throw new Error('UsersService.list sent no users query');
      pageStatement = found;
      matchesStatement = statement(/^with matches as materialized/);
    } finally {
      spy.mockRestore();
    }
    return { ...(await planNodesOf(pageStatement)), matches: matchesStatement ? await planNodesOf(matchesStatement) : null, page, sql: pageStatement[0] };
  }

  function expectIndexBacked(result: { nodes: PlanNode[]; summary: string[] }) {
    const { nodes, summary } = result;
    const touched = (table: string) => nodes.filter((n) => n['Relation Name'] === table);
    expect({ plan: summary, reachesUsers: touched('users').length > 0, reachesContacts: touched('contacts').length > 0 }).toEqual({
      plan: summary,
      reachesUsers: true,
      reachesContacts: true,
    });
    // (The per-row organization and role names may read the small organizations and roles tables
    // whole: a few pages at 1,000 organizations; the tables that grow with the users may not.)
    const seq = nodes.filter((n) => n['Node Type'] === 'Seq Scan' && ['users', 'contacts', 'memberships', 'user_roles', 'user_property_values'].includes(n['Relation Name'] ?? ''));
    expect({ plan: summary, seqScans: seq.map((n) => n['Relation Name']) }).toEqual({ plan: summary, seqScans: [] });
  }

  it('seeded 100,000 users in 300 organizations', async () => {
    const [c] = await t.sql<{ users: number; orgs: number }>(
      `select (select count(*)::int from users) as users, (select count(*)::int from organizations where parent_id is not null) as orgs`,
    );
    expect(c.users).toBeGreaterThanOrEqual(USERS);
    expect(c.orgs).toBe(ORGS);
  });

  it('the default page (Administrator, by username) walks the username index', async () => {
    const result = await planOf(admin, {});
    expectIndexBacked(result);
    expect(result.summary).toContain('Index Scan on users using users_username_unique');
    expect(result.page.rows).toHaveLength(50);
    expect(result.page.totalCapped).toBe(true);
  });

  it('a search goes through the trigram indexes of username, full name and e-mail', async () => {
    const result = await planOf(admin, { q: 'user4242' });
    expectIndexBacked(result);
    // One match: the list finds it through the trigram indexes, then the page reads it by id.
    expect(result.matches).not.toBeNull();
    expect(result.matches!.summary.filter((n) => n.startsWith('Seq Scan on users'))).toEqual([]);
    const indexes = [...result.nodes, ...result.matches!.nodes].map((n) => n['Index Name']).filter(Boolean);
    expect(indexes).toEqual(expect.arrayContaining(['users_username_trgm_idx', 'users_full_name_trgm_idx', 'users_email_trgm_idx']));
    expect(result.page.rows.map((r) => r.username)).toContain('uuser4242');
    const byName = await planOf(admin, { q: 'Last4242 ', sort: 'name' });
    expectIndexBacked(byName);
  });

  it('a broad search (about a thousand matches) is index-backed, never reading the whole users table', async () => {
    // "Last12" matches Last12, Last120…Last129 and Last1200…Last1299: about 1,100 users.
    const result = await planOf(admin, { q: 'Last12' });
    // Either the trigram indexes or a walk of the username index, as the statistics suggest;
    // never a sequential scan of users (which the old contacts-to-users search made).
    expectIndexBacked(result);
    expect(result.page.rows).toHaveLength(50);
    for (const row of result.page.rows) expect(row.fullName).toContain('Last12');
    // More than COUNT_EXACT_MAX match, so the total is the planner's estimate. ANALYZE samples
    // rows at random, so that estimate of a trigram search may land either side of 1,000: above,
    // it is shown as "about N"; at or below, the list says only "more than 1,000".
    expect(result.page.totalCapped).toBe(true);
    if (result.page.totalAtLeast) expect(result.page.total).toBe(1000);
    else expect(result.page.total).toBeGreaterThan(1000);
  });

  it('an organization filter, with and without sub-organizations, starts from the memberships index', async () => {
    const exact = await planOf(admin, { organizationId: leaf.id });
    expectIndexBacked(exact);
    expect(exact.nodes.map((n) => n['Index Name'])).toContain('memberships_organization_idx');
    expect(exact.page.rows.length).toBeGreaterThan(0);
    const subtree = await planOf(admin, { organizationId: parent.id, withSubOrganizations: true, status: 'enabled' });
    expectIndexBacked(subtree);
    expect(subtree.page.rows).toHaveLength(50);
  });

  it('an organization administrator\'s organization filter checks the organization, not each user\'s scope again', async () => {
    // The organization lies in the scope (else 404), so its members are in scope: the statement
    // carries no scope condition (which cost a memberships-and-path check per candidate row).
    const subtree = await planOf(orgAdmin, { organizationId: leaf.id, withSubOrganizations: true });
    expectIndexBacked(subtree);
    expect(subtree.sql).not.toMatch(/\bsm\.user_id\b/);
    expect(subtree.page.rows.length).toBeGreaterThan(0);
    const scoped = await planOf(orgAdmin, {});
    expect(scoped.sql).toMatch(/\bsm\.user_id\b/);
  });

  it('a Previous page seeks backwards on the same index and returns the page before', async () => {
    const first = await planOf(admin, {});
    const second = await planOf(admin, { after: first.page.next! });
    expect(second.page.previous).not.toBeNull();
    const back = await planOf(admin, { before: second.page.previous! });
    expectIndexBacked(back);
    // (EXPLAIN names a backward scan "Index Scan" too, with "Scan Direction": "Backward".)
    expect(back.summary).toContain('Index Scan on users using users_username_unique');
    expect(back.page.rows.map((r) => r.username)).toEqual(first.page.rows.map((r) => r.username));
    expect(back.page.previous).toBeNull();
    const byLogin = await planOf(admin, { sort: 'lastLogin', direction: 'desc' });
    const byLogin2 = await planOf(admin, { sort: 'lastLogin', direction: 'desc', after: byLogin.page.next! });
    const byLoginBack = await planOf(admin, { sort: 'lastLogin', direction: 'desc', before: byLogin2.page.previous! });
    expectIndexBacked(byLoginBack);
    expect(byLoginBack.page.rows.map((r) => r.id)).toEqual(byLogin.page.rows.map((r) => r.id));
  });

  it('the tree panel of 300 organizations is one query showing only the chosen branch', async () => {
    const em = t.em();
    const service = new UsersService(em, new AccessService(em), new AuditService(em), new OrganizationTreePanel(em));
    const spy = jest.spyOn(plainQuery, 'plainRows');
    try {
      const tree = await service.organizationTree(admin, leaf.id);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(tree.collapsed).toBe(true);
      expect(tree.total).toBe(ORGS + 1);
      const count = (nodes: typeof tree.roots): number => nodes.reduce((n, node) => n + 1 + count(node.children), 0);
      // Global, its 30 parents, P7's 9 children (P7-3 has none).
      expect(count(tree.roots)).toBe(1 + 30 + 9);
      expect(tree.selected?.name).toBe('P7-3');
      const scoped = await service.organizationTree(orgAdmin, undefined);
      expect(scoped.roots.map((r) => r.name)).toEqual(['P7']);
      expect(count(scoped.roots)).toBe(10);
    } finally {
      spy.mockRestore();
    }
  });

  it('the other sort orders and a later page are index-backed too, also for an organization administrator', async () => {
    const byName = await planOf(admin, { sort: 'name', direction: 'desc' });
    expectIndexBacked(byName);
    expect(byName.summary.join()).toContain('contacts_full_name_idx');
    const page2 = await planOf(admin, { sort: 'name', direction: 'desc', after: byName.page.next! });
    expectIndexBacked(page2);
    expect(page2.page.rows[0].fullName.toLowerCase() <= byName.page.rows[49].fullName.toLowerCase()).toBe(true);
    const byLogin = await planOf(admin, { sort: 'lastLogin', direction: 'desc' });
    expectIndexBacked(byLogin);
    expect(byLogin.summary.join()).toContain('users_last_login_sort_idx');
    const scoped = await planOf(orgAdmin, {});
    expectIndexBacked(scoped);
    expect(scoped.page.rows).toHaveLength(50);
  });
});
