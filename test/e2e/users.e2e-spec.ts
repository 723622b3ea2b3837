import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createUser, OrgRow, UserRow } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { allUsernames, columnValues, dataTable, nextPageLink, usernamesIn } from '../support/html';
import { openForm } from '../support/forms';
import { Agent, csrfFrom, login } from '../support/http';
import { loginTo } from '../support/sessions';
import { createLicence, createProperty, setLicence, setPropertyValues } from '../support/users-factories';
import { buildWorld } from '../support/world';

/** The users list (SPEC §4 "Users list"): columns, search, filters, sort, paging, scope, bulk enable/disable. */
const PASSWORD = 'Secret-pass-1';

describe('users list', () => {
  let t: TestApp;
  let admin: Agent;
  let A: OrgRow, A1: OrgRow, A11: OrgRow, B: OrgRow;
  const u: Record<string, UserRow> = {};

  beforeAll(async () => {
    t = await createTestApp();
    const world = await buildWorld(t, {
      names: { A: 'UA', A1: 'UA1', A11: 'UA11', B: 'UB' },
      admins: { A1: { username: 'ua1_manager', fullName: 'Mona Manager', roles: ['user_manager'] } },
      users: {
        anna: { fullName: 'Anna Zeta', email: 'anna@corp.example', memberships: ['A11'] },
        bert: { username: 'Bert', fullName: 'Bert Young', email: 'bert@corp.example', memberships: ['A1', 'B'] },
        carl: { fullName: 'Carl Xavier', email: 'carl@other.example', memberships: ['B'], enabled: false },
        dora: { fullName: 'Dora Walker', email: 'dora@corp.example', memberships: ['A'] },
        boss: { fullName: 'Big Boss', roles: ['administrator'], memberships: ['A11'] },
      },
    });
    ({ A, A1, A11, B } = world.org);
    Object.assign(u, { manager: world.admin.A1 }, world.user);
    await t.sql(`update users set locked_until = now() + interval '1 hour' where id = $1`, [u.dora.id]);
    await t.sql(`update users set last_login_at = now() - interval '1 day' where id = $1`, [u.anna.id]);
    await t.sql(`update users set last_login_at = now() - interval '2 days' where id = $1`, [u.bert.id]);
    await t.sql(`update users set password_send_at = '2026-12-01T09:00:00Z', password_send_status = 'pending' where id = $1`, [u.anna.id]);
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
  });
  afterAll(async () => {
    await t.close();
  });

  it('shows every column, the password send date last, "—" when there is none', async () => {
    const res = await admin.get('/users?q=corp.example');
    expect(res.status).toBe(200);
    const table = dataTable(res.text);
    expect(table.headers).toEqual(['Select', 'Username', 'Full name', 'E-mail', 'Organizations', 'Roles', 'Licence', 'Status', 'Last login', 'Password send date'].map((h) => (h === 'Select' ? '' : h)));
    const anna = table.rows.find((r) => r[1] === 'anna')!;
    expect(anna.slice(1, 8)).toEqual(['anna', 'Anna Zeta', 'anna@corp.example', 'UA11', 'Member', 'Standard', 'Enabled']);
    // The list names the client time zone once, above the table; the cells show the date and its status.
    expect(res.text).toContain('Dates in UTC time.');
    expect(anna[9]).toMatch(/^01 Dec 2026, 09:00 \(pending\)$/);
    expect(table.rows.find((r) => r[1] === 'Bert')![9]).toBe('—');
    expect(table.rows.find((r) => r[1] === 'dora')![7]).toBe('Locked');
    expect(res.text).toContain('formaction="/users/password-send-date"');
    expect(res.text).toContain('formaction="/users/password-send-date/clear"');
    expect(res.text).toContain('type="datetime-local" name="sendAt"');
    expect(res.text).toContain('>Set password send date for selected users</button>');
  });

  it('searches username, name and e-mail, case-insensitively, with LIKE characters taken literally', async () => {
    expect(usernamesIn((await admin.get('/users?q=BERT')).text)).toEqual(['Bert']);
    expect(usernamesIn((await admin.get('/users?q=xavier')).text)).toEqual(['carl']);
    expect(usernamesIn((await admin.get('/users?q=other.example')).text)).toEqual(['carl']);
    expect(usernamesIn((await admin.get('/users?q=%25')).text)).toEqual([]);
  });

  it('filters by organization (with or without sub-organizations), role, status, licence and custom property', async () => {
    expect(usernamesIn((await admin.get(`/users?org=${A1.id}`)).text)).toEqual(['Bert', 'ua1_manager']);
    expect(usernamesIn((await admin.get(`/users?org=${A1.id}&sub=1`)).text)).toEqual(['anna', 'Bert', 'boss', 'ua1_manager']);
    const [adminRole] = await t.sql<{ id: number }>(`select id from roles where built_in_key = 'administrator'`);
    expect(usernamesIn((await admin.get(`/users?role=${adminRole.id}`)).text)).toEqual(['admin', 'boss']);
    expect(usernamesIn((await admin.get('/users?status=disabled')).text)).toEqual(['carl']);
    expect(usernamesIn((await admin.get('/users?status=locked')).text)).toEqual(['dora']);
    expect(usernamesIn((await admin.get('/users?status=enabled&q=corp')).text)).toEqual(['anna', 'Bert']);
    const gold = await createLicence(t, 'Gold', 10);
    await setLicence(t, u.bert.id, gold);
    expect(usernamesIn((await admin.get(`/users?licence=${gold}`)).text)).toEqual(['Bert']);
    const site = await createProperty(t, 'Site', { allowedValues: ['Berlin', 'Paris'] });
    await setPropertyValues(t, u.anna.id, site, ['Paris']);
    await setPropertyValues(t, u.carl.id, site, ['Berlin']);
    expect(usernamesIn((await admin.get(`/users?prop=${site}&value=paris`)).text)).toEqual(['anna']);
    expect(usernamesIn((await admin.get(`/users?prop=${site}`)).text)).toEqual(['anna', 'carl']);
    const filtered = await admin.get(`/users?org=${A1.id}&sub=1&status=enabled`);
    // The organization is chosen in the tree panel and kept by the filter form as a hidden field.
    expect(filtered.text).toMatch(new RegExp(`<a href="[^"]*org&#x3D;${A1.id}[^"]*" aria-current="true">UA1</a>`));
    expect(filtered.text).toContain(`<input type="hidden" name="org" value="${A1.id}">`);
    expect(filtered.text).toContain('id="filter-sub" name="sub" value="1" checked');
    expect(filtered.text).toContain(`href="/users/new?org&#x3D;${A1.id}"`);
  });

  it('sorts by username, full name and last login in both directions', async () => {
    const q = 'q=corp.example';
    expect(usernamesIn((await admin.get(`/users?${q}`)).text)).toEqual(['anna', 'Bert', 'dora']);
    expect(usernamesIn((await admin.get(`/users?${q}&sort=username&dir=desc`)).text)).toEqual(['dora', 'Bert', 'anna']);
    expect(usernamesIn((await admin.get(`/users?${q}&sort=name`)).text)).toEqual(['anna', 'Bert', 'dora']);
    expect(columnValues((await admin.get(`/users?${q}&sort=name&dir=desc`)).text, 'Full name')).toEqual(['Dora Walker', 'Bert Young', 'Anna Zeta']);
    // Newest login first, never-signed-in users last.
    expect(usernamesIn((await admin.get(`/users?${q}&sort=lastLogin`)).text)).toEqual(['anna', 'Bert', 'dora']);
    expect(usernamesIn((await admin.get(`/users?${q}&sort=lastLogin&dir=asc`)).text)).toEqual(['dora', 'Bert', 'anna']);
    const page = await admin.get(`/users?${q}&sort=name`);
    expect(page.text).toContain('aria-sort="ascending"><a href="/users?q&#x3D;corp.example&amp;sort&#x3D;name&amp;dir&#x3D;desc">Full name</a>');
  });

  it('pages with every sort order, keeping the filters in the links, never repeating or losing a user', async () => {
    for (let i = 0; i < 12; i++) {
      const user = await createUser(t, { username: `pg${String(i).padStart(2, '0')}`, fullName: `Pager ${i % 3}`, password: null, memberships: [{ org: A11 }] });
      if (i % 2 === 0) await t.sql(`update users set last_login_at = now() - ($1 || ' minutes')::interval where id = $2`, [String(i % 4), user.id]);
    }
    const expected = Array.from({ length: 12 }, (_, i) => `pg${String(i).padStart(2, '0')}`).sort();
    for (const sort of ['username', 'name', 'lastLogin']) {
      for (const dir of ['asc', 'desc']) {
        const first = `/users?q=pg&sort=${sort}&dir=${dir}&size=5`;
        expect(await allUsernames(admin, first)).toEqual(expected);
        const next = nextPageLink((await admin.get(first)).text)!;
        expect(next).toContain('q=pg');
        expect(next).toContain(`sort=${sort}`);
        expect(next).toContain('after=');
      }
    }
    const res = await admin.get('/users?q=pg&size=5');
    expect(res.text).toContain('12 users match.');
    // A forged cursor is ignored (first page), never an error.
    expect((await admin.get('/users?q=pg&sort=lastLogin&after=bm9wZQ')).status).toBe(200);
  });

  it('shows an organization administrator only their subtree, hides outside organization names, and refuses an outside organization filter', async () => {
    const manager = await loginTo(t, 'ua1_manager', PASSWORD, A1);
    const names = await allUsernames(manager, '/users?size=200');
    expect(names).toEqual(expect.arrayContaining(['anna', 'Bert', 'boss', 'ua1_manager']));
    expect(names).not.toContain('carl');
    expect(names).not.toContain('dora');
    const bert = dataTable((await manager.get('/users?q=bert')).text).rows[0];
    expect(bert[4]).toBe('UA1 (+1 outside your organization)');
    expect((await manager.get(`/users?org=${B.id}`)).status).toBe(404);
    expect((await manager.get('/users')).text).not.toContain(`<option value="${B.id}"`);
  });

  /** A bulk request for these ids, whether the list shows them or not (stale pages, other scopes, unknown ids). */
  async function bulk(agent: Agent, action: 'enable' | 'disable', ids: number[], back = '/users') {
    const token = csrfFrom((await agent.get('/users')).text);
    return agent.post(`/users/bulk/${action}`).type('form').send({ _csrf: token, ids: ids.map(String), back });
  }

  it('bulk-disables the selected users, ends their sessions, and lists the skipped ones with the reason', async () => {
    const x1 = await createUser(t, { username: 'bulk_x1', memberships: [{ org: A11 }] });
    const x2 = await createUser(t, { username: 'bulk_x2', memberships: [{ org: A11 }] });
    const x1Agent = await login(t.http, 'bulk_x1', PASSWORD);
    expect((await x1Agent.get('/account')).status).toBe(200);
    const [builtIn] = await t.sql<{ id: number }>(`select id from users where built_in`);
    const res = await bulk(admin, 'disable', [x1.id, x2.id, builtIn.id, u.carl.id, 99999999], '/users?q=bulk_');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/users?q=bulk_');
    const page = await admin.get(res.headers.location);
    expect(page.text).toContain('Disabled 2 users: bulk_x1, bulk_x2.');
    expect(page.text).toContain('Skipped 3 users:');
    expect(page.text).toContain('<li>admin: the built-in admin cannot be disabled.</li>');
    expect(page.text).toContain('<li>carl: already disabled.</li>');
    expect(page.text).toContain('<li>User #99999999: not found, or outside your organization.</li>');
    expect(await t.sql(`select username from users where id in ($1, $2) and not enabled order by username`, [x1.id, x2.id])).toHaveLength(2);
    expect(await t.sql(`select 1 from audit_events where action = 'user.disabled' and object_id in ($1, $2)`, [String(x1.id), String(x2.id)])).toHaveLength(2);
    // The disabled user's session has ended.
    const after = await x1Agent.get('/account');
    expect(after.status).toBe(303);
    expect(after.headers.location).toMatch(/^\/login/);
  });

  it('skips yourself, users you may not manage, and users whose licence is full on enable', async () => {
    const manager = await loginTo(t, 'ua1_manager', PASSWORD, A1);
    const y = await createUser(t, { username: 'bulk_y', memberships: [{ org: A11 }] });
    const disable = await bulk(manager, 'disable', [u.manager.id, u.boss.id, u.bert.id, u.carl.id, y.id]);
    expect(disable.status).toBe(303);
    const page = await manager.get('/users');
    expect(page.text).toContain('Disabled 1 user: bulk_y.');
    expect(page.text).toContain('<li>ua1_manager: you cannot disable yourself.</li>');
    expect(page.text).toContain('<li>boss: you may not manage this user.</li>');
    expect(page.text).toContain('<li>Bert: you may not manage this user.</li>'); // also a member of B
    expect(page.text).toContain(`<li>User #${u.carl.id}: not found, or outside your organization.</li>`);

    const tiny = await createLicence(t, 'Tiny', 1);
    const z1 = await createUser(t, { username: 'bulk_z1', memberships: [{ org: A11 }], enabled: false });
    const z2 = await createUser(t, { username: 'bulk_z2', memberships: [{ org: A11 }], enabled: false });
    await setLicence(t, z1.id, tiny);
    await setLicence(t, z2.id, tiny);
    const enable = await bulk(admin, 'enable', [z1.id, z2.id, y.id]);
    expect(enable.status).toBe(303);
    const after = await admin.get('/users');
    expect(after.text).toContain('Enabled 2 users: bulk_y, bulk_z1.');
    expect(after.text).toContain('<li>bulk_z2: Licence &quot;Tiny&quot; is full: 1 of 1 seat used.</li>');
    expect((await t.sql<{ enabled: boolean }>('select enabled from users where id = $1', [z2.id]))[0].enabled).toBe(false);
  });

  it('refuses bulk actions to sessions without manage users, and an empty selection changes nothing', async () => {
    await createUser(t, { username: 'ua1_member_admin', roles: ['member'], memberships: [{ org: A1, isAdmin: true }] });
    const memberAdmin = await loginTo(t, 'ua1_member_admin', PASSWORD, A1);
    const before = await databaseFingerprint(t, { includeAudit: true });
    expect((await bulk(memberAdmin, 'disable', [u.anna.id])).status).toBe(403);
    expect((await memberAdmin.get('/users')).text).not.toContain('formaction="/users/bulk/disable"');
    // Disable pressed on the list with no box ticked.
    const empty = await (await openForm(admin, '/users', 'Disable')).submit('Disable');
    expect(empty.status).toBe(303);
    expect((await admin.get('/users')).text).toContain('Select at least one user.');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });
});
