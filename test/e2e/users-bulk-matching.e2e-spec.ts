import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createOrganization, createUser, OrgRow } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { formIn, formOf } from '../support/forms';
import { linkHref, nextPageLink, textOf, usernamesIn } from '../support/html';
import { Agent, csrfFrom, login } from '../support/http';
import { loginTo } from '../support/sessions';

/**
 * Bulk actions at scale on the users list (issue "every flow works as a person drives it", 7):
 * a page-size choice, a Previous link, "Select all N users matching this filter" with a
 * confirmation page, and every bulk action coming back to the list with its filters. Driven
 * through the rendered forms: only what a person picks or ticks is changed.
 */
jest.setTimeout(180_000);

const PASSWORD = 'Secret-pass-1';

/** `count` users named `<prefix>NNN` in `org`, inserted directly (no password, for speed). */
async function seedUsers(t: TestApp, prefix: string, count: number, org: OrgRow): Promise<void> {
  for (let i = 1; i <= count; i++) await createUser(t, { username: `${prefix}${String(i).padStart(3, '0')}`, password: null, memberships: [{ org }] });
}

function flashes(html: string): string[] {
  return [...html.matchAll(/<div class="flash flash-\w+"[^>]*>([\s\S]*?)<\/div>/g)].map((m) => textOf(m[1]));
}

/** Every form these tests press posts or gets to an absolute action: the page's own path does not matter. */
const ON_USERS = '/users';

describe('users list: bulk actions at scale', () => {
  let t: TestApp;
  let admin: Agent;
  let S: OrgRow, T: OrgRow;

  beforeAll(async () => {
    t = await createTestApp();
    S = await createOrganization(t, 'Sales');
    T = await createOrganization(t, 'Tech');
    await seedUsers(t, 'sel_', 120, S);
    await seedUsers(t, 'pg_', 130, T);
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
  });
  afterAll(async () => {
    await t.close();
  });

  it('offers 50, 100 or 200 users per page and a Previous link back to the page before', async () => {
    const list = await admin.get('/users?q=pg_');
    const form = formOf(admin, list.text, 'Search', ON_USERS);
    expect(form.optionsOf('Users per page')).toEqual(['50', '100', '200']);
    const page1 = await form.select('Users per page', '100').submit('Search');
    expect(page1.status).toBe(200);
    const first = usernamesIn(page1.text);
    expect(first).toHaveLength(100);
    expect(first[0]).toBe('pg_001');
    expect(page1.text).not.toContain('Previous page');

    const page2 = await admin.get(nextPageLink(page1.text)!);
    expect(usernamesIn(page2.text)).toEqual(Array.from({ length: 30 }, (_, i) => `pg_${String(101 + i).padStart(3, '0')}`));
    // The size picked stays selected on the next page.
    expect(formIn(page2.text, 'Search').valueOf('Users per page')).toBe('100');

    const back = await admin.get(linkHref(page2.text, '‹ Previous page'));
    expect(back.status).toBe(200);
    expect(usernamesIn(back.text)).toEqual(first);
    // Back on the first page: no page before it.
    expect(back.text).not.toContain('Previous page');
    expect(nextPageLink(back.text)).not.toBeNull();

    // Previous works in the other sort orders too (here: full name, descending).
    const byName = await admin.get('/users?q=pg_&sort=name&dir=desc&size=50');
    const p2 = await admin.get(nextPageLink(byName.text)!);
    const p3 = await admin.get(nextPageLink(p2.text)!);
    expect(usernamesIn(p3.text)).toHaveLength(30);
    const p2again = await admin.get(linkHref(p3.text, '‹ Previous page'));
    expect(usernamesIn(p2again.text)).toEqual(usernamesIn(p2.text));
    const p1again = await admin.get(linkHref(p2again.text, '‹ Previous page'));
    expect(usernamesIn(p1again.text)).toEqual(usernamesIn(byName.text));
  });

  it('"Select all N users matching this filter": a confirmation page with the count, then every matching user in scope, the same per-user rules', async () => {
    const manager = await createUser(t, { username: 'sel_manager', roles: ['user_manager'], memberships: [{ org: S, isAdmin: true }] });
    const outside = await createUser(t, { username: 'sel_outside', password: null, memberships: [{ org: T }] });
    const agent = await loginTo(t, 'sel_manager', PASSWORD, S);

    // The manager filters the list (search "sel_", status Enabled) as a person does.
    const start = await agent.get('/users');
    const search = formOf(agent, start.text, 'Search', ON_USERS).fill('Search (username, name, e-mail)', 'sel_').select('Status', 'Enabled');
    const filtered = await search.submit('Search');
    expect(filtered.status).toBe(200);
    expect(usernamesIn(filtered.text)).toHaveLength(50);
    const listUrl = `${search.action}?${new URLSearchParams(search.entries('Search')).toString()}`;

    // 120 seeded users and the manager: sel_outside is in Tech, outside the manager's scope.
    const before = await databaseFingerprint(t, { includeAudit: true });
    const confirm = await formOf(agent, filtered.text, 'Disable', ON_USERS).check('Select all 121 users matching this filter').submit('Disable');
    expect(confirm.status).toBe(200);
    const text = textOf(confirm.text);
    expect(text).toContain('121 users match the filter of the users list');
    expect(text).toContain('Username, name or e-mail contains “sel_”');
    expect(text).toContain('Status: Enabled');
    expect(text).toContain('Each of them is disabled and their sessions end at once.');
    // Nothing has changed yet.
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);

    const done = await formOf(agent, confirm.text, 'Disable 121 users', ON_USERS).submit('Disable 121 users');
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe(listUrl);
    const after = await agent.get(done.headers.location);
    expect(flashes(after.text)).toEqual(expect.arrayContaining([expect.stringMatching(/^Disabled 120 users: sel_001, sel_002, .*sel_120\.$/), expect.stringContaining('sel_manager: you cannot disable yourself.')]));
    const states = await t.sql<{ username: string; enabled: boolean }>(`select username, enabled from users where username like 'sel\\_%' order by username`);
    expect(states.filter((s) => !s.enabled).map((s) => s.username)).toEqual(Array.from({ length: 120 }, (_, i) => `sel_${String(i + 1).padStart(3, '0')}`));
    expect(states.find((s) => s.username === 'sel_manager')?.enabled).toBe(true);
    expect(states.find((s) => s.username === 'sel_outside')?.enabled).toBe(true);
    expect(await t.sql(`select 1 from audit_events where action = 'user.disabled' and actor_name = 'sel_manager'`)).toHaveLength(120);

    // And back: enable everyone matching "sel_" + Disabled, from the page the redirect showed.
    const disabledList = await formOf(agent, after.text, 'Search', ON_USERS).select('Status', 'Disabled').submit('Search');
    const confirmEnable = await formOf(agent, disabledList.text, 'Enable', ON_USERS).check('Select all 120 users matching this filter').submit('Enable');
    const enabled = await formOf(agent, confirmEnable.text, 'Enable 120 users', ON_USERS).submit('Enable 120 users');
    expect(enabled.status).toBe(303);
    expect((await t.sql(`select 1 from users where username like 'sel\\_%' and not enabled`)).length).toBe(0);
    void manager;
    void outside;
  });

  it('re-asks when the matching users changed after the confirmation, changing nothing', async () => {
    const list = await admin.get('/users?q=pg_');
    const confirm = await formOf(admin, list.text, 'Disable', ON_USERS).check('Select all 130 users matching this filter').submit('Disable');
    expect(textOf(confirm.text)).toContain('130 users match');
    await createUser(t, { username: 'pg_late', password: null, memberships: [{ org: T }] });
    const before = await databaseFingerprint(t, { includeAudit: true });
    const again = await formOf(admin, confirm.text, 'Disable 130 users', ON_USERS).submit('Disable 130 users');
    expect(again.status).toBe(200);
    expect(textOf(again.text)).toContain('131 users match this filter now, not 130 as when you confirmed. Nothing was changed');
    expect(formIn(again.text, 'Disable 131 users').action).toBe('/users/bulk/disable');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    await t.sql(`delete from users where username = 'pg_late'`);
  });

  it('is all or nothing: a failure at one matching user leaves every one of them unchanged', async () => {
    // A real failure inside the transaction, raised by the database itself at the 65th user.
    await t.sql(`create function refuse_pg_065() returns trigger language plpgsql as $$
                 begin if new.username = 'pg_065' and not new.enabled then raise exception 'refused for this test'; end if; return new; end $$`);
    await t.sql('create trigger refuse_pg_065 before update on users for each row execute function refuse_pg_065()');
    try {
      const list = await admin.get('/users?q=pg_');
      const confirm = await formOf(admin, list.text, 'Disable', ON_USERS).check('Select all 130 users matching this filter').submit('Disable');
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await formOf(admin, confirm.text, 'Disable 130 users', ON_USERS).submit('Disable 130 users');
      expect(res.status).toBe(500);
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
      expect(await t.sql(`select 1 from users where username like 'pg\\_%' and not enabled`)).toEqual([]);
    } finally {
      await t.sql('drop trigger refuse_pg_065 on users');
      await t.sql('drop function refuse_pg_065()');
    }
  });

  it('the password send date bulk actions keep the filters too, and take all matching users', async () => {
    await t.sql(`update contacts set email = 'x' || id || '@corp.example' where id in (select contact_id from users where username like 'pg\\_%')`);
    const list = await admin.get('/users?q=pg_1&size=100');
    const shown = usernamesIn(list.text);
    expect(shown).toHaveLength(31); // pg_100…pg_130
    const ticked = await formOf(admin, list.text, 'Set password send date for selected users', ON_USERS)
      .check('Select pg_100')
      .check('Select pg_101')
      .fill('Password send date', '2030-06-01T09:00')
      .submit('Set password send date for selected users');
    expect(ticked.status).toBe(303);
    expect(ticked.headers.location).toBe('/users?q=pg_1&size=100');
    expect(flashes((await admin.get(ticked.headers.location)).text).join(' ')).toContain('for 2 users: pg_100, pg_101.');

    const page = await admin.get('/users?q=pg_1&size=100');
    const confirm = await formOf(admin, page.text, 'Set password send date for selected users', ON_USERS)
      .check('Select all 31 users matching this filter')
      .fill('Password send date', '2030-07-01T10:30')
      .submit('Set password send date for selected users');
    expect(confirm.status).toBe(200);
    expect(textOf(confirm.text)).toContain('Each of them gets a new password e-mailed at 2030-07-01 10:30');
    const done = await formOf(admin, confirm.text, 'Set password send date for 31 users', ON_USERS).submit('Set password send date for 31 users');
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/users?q=pg_1&size=100');
    const pending = await t.sql<{ n: number }>(`select count(*)::int as n from users where username like 'pg\\_1%' and password_send_status = 'pending'`);
    expect(pending[0].n).toBe(31);
  });

  it('refuses "all matching" for an organization outside the scope (404) and for sessions without the permission, changing nothing', async () => {
    await createUser(t, { username: 'tech_admin', roles: ['user_manager'], memberships: [{ org: T, isAdmin: true }] });
    await createUser(t, { username: 'tech_member_admin', roles: ['member'], memberships: [{ org: T, isAdmin: true }] });
    const techAdmin = await loginTo(t, 'tech_admin', PASSWORD, T);
    const memberAdmin = await loginTo(t, 'tech_member_admin', PASSWORD, T);
    const before = await databaseFingerprint(t, { includeAudit: true });
    // Forged forms: the list never renders these.
    const token = csrfFrom((await techAdmin.get('/users')).text);
    const forged = { _csrf: token, matching: '1', org: String(S.id), back: '/users' };
    expect((await techAdmin.post('/users/bulk/disable').type('form').send(forged)).status).toBe(404);
    expect((await techAdmin.post('/users/bulk/disable').type('form').send({ ...forged, confirmed: '121' })).status).toBe(404);
    const memberToken = csrfFrom((await memberAdmin.get('/users')).text);
    expect((await memberAdmin.post('/users/bulk/disable').type('form').send({ _csrf: memberToken, matching: '1', back: '/users' })).status).toBe(403);
    expect((await memberAdmin.post('/users/bulk/disable').type('form').send({ _csrf: memberToken, matching: '1', confirmed: '131', back: '/users' })).status).toBe(403);
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });
});
