import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createOrganization, createUser, OrgRow } from '../support/factories';
import { allUsernames, linkHref, nextPageLink, textOf, usernamesIn } from '../support/html';
import { Agent, login } from '../support/http';

/**
 * The users list's count: exact up to 1,000 matching users, an estimate above ("About 1,500
 * users."), so that a page never counts thousands of rows. Paging is unaffected by the estimate.
 */
jest.setTimeout(120_000);

describe('users list count', () => {
  let t: TestApp;
  let admin: Agent;
  let manager: Agent;
  let big: OrgRow;
  let small: OrgRow;

  beforeAll(async () => {
    t = await createTestApp();
    big = await createOrganization(t, 'Big');
    small = await createOrganization(t, 'Small');
    // 1,500 users in Big, 1,000 of them also in Small (set-based: the factories would take minutes).
    await t.sql(
      `insert into contacts (kind, full_name, email, organization_id)
       select 'person', 'Count Person ' || g, 'count' || g || '@count.example', $1 from generate_series(1, 1500) g`,
      [big.id],
    );
    await t.sql(
      `insert into users (contact_id, username, password_hash, profile_id, licence_id)
       select c.id, 'count' || lpad(split_part(split_part(c.email, '@', 1), 't', 2), 4, '0'), null,
              (select id from user_profiles where built_in_key = 'self_service'), (select id from licence_types where built_in_key = 'standard')
         from contacts c where c.email like '%@count.example'`,
    );
    await t.sql(`insert into memberships (user_id, organization_id) select u.id, $1 from users u where u.username like 'count%'`, [big.id]);
    await t.sql(`insert into memberships (user_id, organization_id) select u.id, $1 from users u where u.username between 'count0001' and 'count1000'`, [small.id]);
    await createUser(t, { username: 'big_manager', password: 'Manager-pass-1', roles: ['user_manager'], memberships: [{ org: big, isAdmin: true }] });
    await t.sql('analyze');
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    manager = await login(t.http, 'big_manager', 'Manager-pass-1');
  });
  afterAll(async () => {
    await t.close();
  });

  /** The sentence above the table, e.g. "All users. About 1,500 users." */
  async function countLine(agent: Agent, path: string): Promise<string> {
    const res = await agent.get(path);
    expect(res.status).toBe(200);
    return textOf(/<h1>Users<\/h1>\s*<p>([\s\S]*?)<\/p>/.exec(res.text)![1]);
  }

  function estimateIn(line: string): number {
    const m = /About ([\d,]+) users/.exec(line);
    if (!m) throw new Error(`No estimate in “${line}”`);
    return Number(m[1].replace(/,/g, ''));
  }

  it('above 1,000 matching users the Administrator sees an estimate, rounded', async () => {
    const line = await countLine(admin, '/users');
    const estimate = estimateIn(line);
    // 1,502 users; the planner's estimate from the statistics, to three significant digits.
    expect(estimate).toBeGreaterThanOrEqual(1400);
    expect(estimate).toBeLessThanOrEqual(1600);
    expect(estimate % 10).toBe(0);
    const filtered = await countLine(admin, `/users?org=${big.id}`);
    expect(filtered).toMatch(/About [\d,]+ users match\./);
  });

  it('an organization administrator above 1,000 users in scope sees an estimate too, never less than what was counted', async () => {
    // The planner's estimate of a subtree scope may be low: then the page says what it knows.
    const line = await countLine(manager, '/users');
    const m = /(About|More than) ([\d,]+) users\./.exec(line);
    expect(m).not.toBeNull();
    const n = Number(m![2].replace(/,/g, ''));
    if (m![1] === 'More than') expect(n).toBe(1000);
    else expect(n).toBeGreaterThan(1000);
    expect(n).toBeLessThanOrEqual(1600);
  });

  it('up to 1,000 matching users the count is exact', async () => {
    expect(await countLine(admin, `/users?org=${small.id}`)).toContain('1,000 users match.');
    expect(await countLine(admin, '/users?q=count00')).toContain('99 users match.');
    expect(await countLine(manager, '/users?q=count1500')).toContain('1 user match.');
  });

  it('with an estimate, the bulk form still offers every matching user, naming the estimate', async () => {
    const res = await admin.get(`/users?org=${big.id}`);
    expect(textOf(res.text)).toMatch(/Select all \(about [\d,]+\) users matching this filter/);
  });

  it('paging through an estimated result still reaches every user once', async () => {
    const names = await allUsernames(admin, `/users?org=${big.id}&size=200`, 20);
    expect(names.filter((n) => n.startsWith('count'))).toHaveLength(1500);
    expect(new Set(names).size).toBe(names.length);
  });

  it('a search with up to 1,000 matches pages through them in order, forwards and back', async () => {
    // "count0" matches count0001 … count0999: the search finds its matches once and the page
    // sorts those; the count is exact.
    const first = '/users?q=count0&sort=username&dir=desc&size=200';
    expect(await countLine(admin, first)).toContain('999 users match.');
    const pages: string[][] = [];
    let next: string | null = first;
    let last = '';
    while (next !== null) {
      const res = await admin.get(next);
      pages.push(usernamesIn(res.text));
      last = res.text;
      next = nextPageLink(res.text);
    }
    const names = pages.flat();
    const expected = Array.from({ length: 999 }, (_, i) => `count${String(999 - i).padStart(4, '0')}`);
    expect(names).toEqual(expected);
    // Back from the last page, by its "Previous page" link, to the first.
    const back: string[][] = [];
    for (let html = last; ; ) {
      const href = /rel="prev"/.test(html) ? linkHref(html, '‹ Previous page') : null;
      if (href === null) break;
      html = (await admin.get(href)).text;
      back.unshift(usernamesIn(html));
    }
    expect(back).toEqual(pages.slice(0, -1));
    // The organization administrator's search is limited to the scope the same way.
    expect(await countLine(manager, '/users?q=count0')).toContain('999 users match.');
  });

  it('"more than 1,000" is kept for a few seconds per filter, an exact count never', async () => {
    // Big was counted beyond 1,000 above: paging on, within ESTIMATE_KEEP_MS, does not count it
    // again, so 600 members fewer still read as the estimate (it is one either way).
    const big1 = await countLine(admin, `/users?org=${big.id}`);
    expect(big1).toMatch(/About [\d,]+ users match\./);
    await t.sql(`delete from memberships where organization_id = $1 and user_id in (select id from users where username > 'count0900' and username like 'count%')`, [big.id]);
    expect(await countLine(admin, `/users?org=${big.id}`)).toBe(big1);
    // Small is counted exactly, on every page: one member fewer shows at once.
    expect(await countLine(admin, `/users?org=${small.id}`)).toContain('1,000 users match.');
    await t.sql(`delete from memberships where organization_id = $1 and user_id = (select id from users where username = 'count0001')`, [small.id]);
    expect(await countLine(admin, `/users?org=${small.id}`)).toContain('999 users match.');
  });
});
