import { compactMemberCounts, findOrganizationPage, FOLDABLE_COUNTS_MAX, subtreeWithMemberCounts } from '../../src/organizations/organizations.queries';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { login } from '../support/http';
import { createOrganization, createUser, OrgRow } from '../support/factories';

/**
 * The organization tree's and page's member counts come from `organization_member_counts`, which
 * statement triggers on `memberships` append to. Whatever changes the memberships — one row or a
 * set, an insert, a move, a delete, a user or organization deleted with them, a truncate — the
 * counts equal what counting the memberships gives, before and after the rows are folded.
 */
jest.setTimeout(120_000);

describe('organization member counts', () => {
  let t: TestApp;
  let a: OrgRow;
  let b: OrgRow;
  let a1: OrgRow;

  beforeAll(async () => {
    t = await createTestApp();
    a = await createOrganization(t, 'Count A');
    a1 = await createOrganization(t, 'Count A1', a);
    b = await createOrganization(t, 'Count B');
  });
  afterAll(async () => {
    await t.close();
  });

  /** Every organization's count as the tree reads it, and as counting the memberships gives it. */
  async function counts(): Promise<{ read: Record<number, number>; counted: Record<number, number> }> {
    const { rows } = await subtreeWithMemberCounts(t.em().fork(), '/');
    const read = Object.fromEntries(rows.map((r) => [r.id, r.memberCount]));
    const actual = await t.sql<{ id: number; n: number }>(
      'select o.id, (select count(*)::int from memberships m where m.organization_id = o.id) as n from organizations o',
    );
    return { read, counted: Object.fromEntries(actual.map((r) => [r.id, r.n])) };
  }

  async function expectRight(): Promise<Record<number, number>> {
    const { read, counted } = await counts();
    expect(read).toEqual(counted);
    return read;
  }

  /** The member counts of the organization page's statement, for `org` and its children. */
  async function pageCounts(org: OrgRow): Promise<{ own: number; children: Record<string, number> }> {
    const page = (await findOrganizationPage(t.em().fork(), org.id))!;
    return { own: page.memberCount, children: Object.fromEntries(page.children.map((c) => [c.name, c.memberCount])) };
  }

  it('follow single and set-based inserts, moves and deletes, on the tree and the organization page', async () => {
    const u1 = await createUser(t, { username: 'count_u1', memberships: [{ org: a }] });
    await createUser(t, { username: 'count_u2', memberships: [{ org: a }, { org: a1 }] });
    let read = await expectRight();
    expect(read[a.id]).toBe(2);
    expect(read[a1.id]).toBe(1);

    // 300 users in one statement, then 100 of their memberships moved to B in one statement.
    await t.sql(
      `with c as (insert into contacts (kind, full_name, organization_id) select 'person', 'Count ' || g, $1 from generate_series(1, 300) g returning id),
            u as (insert into users (contact_id, username) select id, 'count_bulk_' || id from c returning id)
       insert into memberships (user_id, organization_id) select id, $1 from u`,
      [a1.id],
    );
    await t.sql(`update memberships set organization_id = $1 where id in (select id from memberships where organization_id = $2 order by id limit 100)`, [b.id, a1.id]);
    // An update that changes no organization leaves the counts alone.
    await t.sql('update memberships set is_admin = is_admin where organization_id = $1', [b.id]);
    read = await expectRight();
    expect(read[a1.id]).toBe(201);
    expect(read[b.id]).toBe(100);
    expect(await pageCounts(a)).toEqual({ own: 2, children: { 'Count A1': 201 } });

    // A user deleted with their memberships, and memberships deleted as a set.
    await t.sql('delete from users where id = $1', [u1.id]);
    await t.sql(`delete from memberships where organization_id = $1 and user_id in (select id from users where username like 'count_bulk_%' order by id limit 50)`, [b.id]);
    read = await expectRight();
    expect(read[a.id]).toBe(1);
    expect(read[b.id]).toBe(50);
  });

  it('stay right when the rows are folded, and a deleted organization leaves no row behind', async () => {
    const gone = await createOrganization(t, 'Count Gone');
    await t.sql(`insert into memberships (user_id, organization_id) select id, $1 from users where username like 'count_bulk_%' limit 10`, [gone.id]);
    await t.sql('delete from memberships where organization_id = $1', [gone.id]);
    await t.sql('delete from organizations where id = $1', [gone.id]);
    const before = await expectRight();
    await compactMemberCounts(t.em().fork());
    expect(await expectRight()).toEqual(before);
    const rows = await t.sql<{ organization_id: number; parts: number }>('select organization_id, count(*)::int as parts from organization_member_counts group by 1');
    expect(rows.every((r) => r.parts === 1)).toBe(true);
    expect(rows.map((r) => r.organization_id)).not.toContain(gone.id);
  });

  it('are folded when the organization tree page is read with more than FOLDABLE_COUNTS_MAX rows waiting', async () => {
    const orgs: OrgRow[] = [];
    for (let i = 0; i < 100; i++) orgs.push(await createOrganization(t, `Count Many ${i}`, b));
    // 1,200 membership statements of one row each (a loop of separate inserts): 1,200 rows appended.
    await t.sql(
      `do $$ declare o int; u int; begin
         for o in select id from organizations where name like 'Count Many %' loop
           for u in select id from users where username like 'count_bulk_%' order by id limit 12 loop
             insert into memberships (user_id, organization_id) values (u, o);
           end loop;
         end loop;
       end $$`,
    );
    expect((await subtreeWithMemberCounts(t.em().fork(), '/')).foldableCounts).toBeGreaterThan(FOLDABLE_COUNTS_MAX);
    const admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    const page = await admin.get('/organizations');
    expect(page.status).toBe(200);
    const [{ folded }] = await t.sql<{ folded: boolean }>(
      'select count(*) = count(distinct organization_id) as folded from organization_member_counts',
    );
    expect(folded).toBe(true);
    const read = await expectRight();
    expect(read[orgs[0].id]).toBe(12);
  });

  it('start again from nothing when the memberships are truncated', async () => {
    await t.sql('truncate memberships');
    const read = await expectRight();
    expect(Object.values(read).every((n) => n === 0)).toBe(true);
    expect(await t.sql('select * from organization_member_counts')).toEqual([]);
  });
});
