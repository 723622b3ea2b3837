import ExcelJS from 'exceljs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createUser, OrgRow } from '../support/factories';
import { Agent, login } from '../support/http';
import { HEADERS, userRow, workbook } from '../support/imports-files';
import { createDepartment, createProperty, download, importFile, openWorkbook, passwordWorks } from '../support/imports-factories';
import { formIn, RenderedForm } from '../support/forms';
import { allUsernames, linkHref } from '../support/html';
import { loginTo } from '../support/sessions';
import { readUpload } from '../../src/imports/workbook-reader';
import { configureProviders } from '../support/sso';
import { buildWorld } from '../support/world';

/** What a person picks in the users list's Search form (by visible label), named in the assertions of each case. */
interface SearchChanges {
  select?: Record<string, string>;
  type?: Record<string, string>;
  check?: string[];
}

function applyChanges(form: RenderedForm, changes: SearchChanges): RenderedForm {
  for (const [label, option] of Object.entries(changes.select ?? {})) form.select(label, option);
  for (const [label, value] of Object.entries(changes.type ?? {})) form.fill(label, value);
  for (const label of changes.check ?? []) form.check(label);
  return form;
}

/**
 * SPEC §4 "Export": the users in scope as .xlsx in the template's columns, no passwords,
 * multi-valued properties one value per line, formula-safe cells; and the round trip: an export,
 * with passwords filled in, imported into a fresh database gives the same users.
 */
jest.setTimeout(180_000);

const COLUMNS = [...HEADERS, 'Gender', 'Project Code', 'Skill'];
const LIMITS = { maxBytes: 20 * 1024 * 1024, maxInflatedBytes: 200 * 1024 * 1024, maxRows: 100_000 };

async function seed(t: TestApp): Promise<{ A: OrgRow; A1: OrgRow; B: OrgRow }> {
  const { A, A1, B } = (await buildWorld(t, { orgs: ['A', 'A1', 'B'] })).org;
  await createProperty(t, 'Skill', ['Java', 'Go', 'Rust'], true);
  await createProperty(t, 'Gender', ['F', 'M', 'X']);
  await createProperty(t, 'Project Code');
  await createDepartment(t, 'Sales');
  await t.sql(`insert into licence_types (name, seats) values ('Premium', 10)`);
  return { A, A1, B };
}

/** Everything an import creates for a user, by username, in a form comparable across databases. */
async function snapshot(t: TestApp, like: string) {
  return t.sql(
    `select u.username, u.provider, u.external_id, u.enabled, c.first_name, c.last_name, c.full_name, c.email, c.mobile, c.department,
            (select name from organizations where id = c.organization_id) as home,
            array(select o.name from memberships m join organizations o on o.id = m.organization_id where m.user_id = u.id order by o.name) as orgs,
            array(select r.name from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = u.id order by r.name) as roles,
            (select name from licence_types where id = u.licence_id) as licence,
            (select name from user_profiles where id = u.profile_id) as profile,
            array(select p.name || '=' || v.value from user_property_values v join custom_properties p on p.id = v.property_id
                   where v.user_id = u.id order by 1) as props
       from users u join contacts c on c.id = u.contact_id
      where u.username like $1 order by u.username`,
    [like],
  );
}

function rowsOf(ws: ExcelJS.Worksheet): Record<string, string>[] {
  const header = (ws.getRow(1).values as unknown[]).slice(1).map(String);
  const out: Record<string, string>[] = [];
  ws.eachRow((row, n) => {
    if (n === 1) return;
    out.push(Object.fromEntries(header.map((h, i) => [h, row.getCell(i + 1).value === null ? '' : String(row.getCell(i + 1).value)])));
  });
  return out;
}

describe('users export', () => {
  let t: TestApp;
  let admin: Agent;
  let orgs: { A: OrgRow; A1: OrgRow; B: OrgRow };
  let fresh: TestApp | null = null;

  beforeAll(async () => {
    t = await createTestApp({ env: { IMPORT_POLL_SECONDS: '0' } });
    await configureProviders(t, ['azure']);
    orgs = await seed(t);
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    const file = await workbook(
      [
        userRow(1, { UserName: 'rt1', Email: 'rt1@example.org', Password: 'Passw0rd-rt1', Mobile: 4915112345678, Roles: 'Member, User manager', Organizations: 'A/A1\nB', Department: 'Sales', Skill: 'Java\nRust', Gender: 'F', Licence: 'Premium', Profile: 'Administrator', 'Project Code': 'P-1' }),
        userRow(2, { UserName: 'rt2', Email: 'rt2@example.org', Password: 'Passw0rd-rt2', Enabled: false, Organizations: 'A' }),
        { Id: 'ext-3', UserName: 'rt3', Email: 'rt3@example.org', Provider: 'azure', FullName: 'Third Person' },
        userRow(4, { UserName: 'rt4', Email: 'rt4@example.org', Password: 'Passw0rd-rt4', FirstName: '=1+1', LastName: '+49 151', FullName: '-2 minus', 'Project Code': '@SUM(A1)', Organizations: 'B' }),
        userRow(5, { UserName: 'rt5', Email: 'rt5@example.org', Password: 'Passw0rd-rt5', FirstName: '\tTabbed', 'Project Code': '=HYPERLINK("http://evil.example","click")' }),
      ],
      COLUMNS,
    );
    const { job } = await importFile(t, admin, file, 'seed.xlsx');
    if (job.status !== 'succeeded') throw new Error(`seed import failed: ${job.message}`);
  });
  afterAll(async () => {
    await t.close();
    await fresh?.close();
  });

  it('downloads the users in the template columns, without passwords, multi-valued one per line', async () => {
    const res = await download(admin, '/users/export?q=rt');
    expect(res.status).toBe(200);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="users-\d{4}-\d{2}-\d{2}\.xlsx"/);
    const ws = (await openWorkbook(res.body)).worksheets[0];
    expect((ws.getRow(1).values as unknown[]).slice(1)).toEqual(COLUMNS);
    const rows = rowsOf(ws);
    expect(rows.map((r) => r.UserName)).toEqual(['rt1', 'rt2', 'rt3', 'rt4', 'rt5']);
    expect(rows[0]).toMatchObject({
      UserName: 'rt1',
      Mobile: '4915112345678',
      Password: '',
      Provider: 'local',
      Roles: 'Member, User manager',
      Enabled: 'true',
      Department: 'Sales',
      Organizations: 'A/A1\nB',
      Licence: 'Premium',
      Profile: 'Administrator',
      Skill: 'Java\nRust',
      Gender: 'F',
    });
    expect(rows[1]).toMatchObject({ Enabled: 'false', Organizations: 'A' });
    expect(rows[2]).toMatchObject({ Id: 'ext-3', Provider: 'azure', FullName: 'Third Person', Organizations: 'Global' });
    expect(rows.every((r) => r.Password === '')).toBe(true);
    const [audit] = await t.sql<{ actor_name: string; detail: string }>(`select actor_name, detail from audit_events where action = 'users.exported' order by id desc limit 1`);
    expect(audit).toEqual({ actor_name: 'admin', detail: 'Exported 5 users.' });
  });

  it('writes text that looks like a formula as a string cell in Text format, and the import reads it back unchanged', async () => {
    const res = await download(admin, '/users/export?q=rt');
    const ws = (await openWorkbook(res.body)).worksheets[0];
    const header = (ws.getRow(1).values as unknown[]).slice(1).map(String);
    const cellOf = (row: number, column: string) => ws.getRow(row).getCell(header.indexOf(column) + 1);
    for (const [row, column, value] of [
      [5, 'FirstName', '=1+1'],
      [5, 'LastName', '+49 151'],
      [5, 'FullName', '-2 minus'],
      [5, 'Project Code', '@SUM(A1)'],
      [6, 'FirstName', '\tTabbed'],
      [6, 'Project Code', '=HYPERLINK("http://evil.example","click")'],
    ] as const) {
      const cell = cellOf(row, column);
      expect(cell.type).toBe(ExcelJS.ValueType.String);
      expect(cell.formula).toBeUndefined();
      expect(cell.value).toBe(value);
      expect(cell.numFmt).toBe('@');
    }
    expect(cellOf(2, 'FirstName').numFmt).not.toBe('@');
    // The sheet XML holds no formula at all.
    expect(res.body.includes(Buffer.from('<f>'))).toBe(false);

    const sheet = await readUpload(res.body, 'export.xlsx', LIMITS);
    const rt4 = sheet.rows.find((r) => r.cells[1]?.text === 'rt4')!;
    const rt5 = sheet.rows.find((r) => r.cells[1]?.text === 'rt5')!;
    const text = (row: typeof rt4, column: string) => row.cells[sheet.headers.indexOf(column)]?.text;
    expect([text(rt4, 'FirstName'), text(rt4, 'LastName'), text(rt4, 'FullName'), text(rt4, 'Project Code')]).toEqual(['=1+1', '+49 151', '-2 minus', '@SUM(A1)']);
    expect([text(rt5, 'FirstName'), text(rt5, 'Project Code')]).toEqual(['\tTabbed', '=HYPERLINK("http://evil.example","click")']);
  });

  it('exports only the users in the scope of an organization administrator, with their memberships in scope', async () => {
    await createUser(t, { username: 'scoped', roles: ['user_manager'], memberships: [{ org: orgs.A1, isAdmin: true }] });
    const scoped = await loginTo(t, 'scoped', 'Secret-pass-1', orgs.A1);
    const res = await download(scoped, '/users/export');
    expect(res.status).toBe(200);
    const rows = rowsOf((await openWorkbook(res.body)).worksheets[0]);
    expect(rows.map((r) => r.UserName).sort()).toEqual(['rt1', 'scoped']);
    expect(rows.find((r) => r.UserName === 'rt1')?.Organizations).toBe('A/A1');
    // The users list filters narrow the scope, never widen it: rt4 (member of B only) stays out.
    const searched = await download(scoped, '/users/export?q=rt4');
    expect(searched.status).toBe(200);
    expect(rowsOf((await openWorkbook(searched.body)).worksheets[0])).toEqual([]);
  });

  it('applies the users list filters (status, role, licence, organization)', async () => {
    const names = async (query: string) => rowsOf((await openWorkbook((await download(admin, `/users/export?q=rt&${query}`)).body)).worksheets[0]).map((r) => r.UserName);
    const [role] = await t.sql<{ id: number }>(`select id from roles where built_in_key = 'user_manager'`);
    const [premium] = await t.sql<{ id: number }>(`select id from licence_types where name = 'Premium'`);
    expect(await names('status=disabled')).toEqual(['rt2']);
    expect(await names(`role=${role.id}`)).toEqual(['rt1']);
    expect(await names(`licence=${premium.id}`)).toEqual(['rt1']);
    // As on the list: the organization's own members, with its sub-organizations only when asked.
    expect(await names(`org=${orgs.A.id}`)).toEqual(['rt2']);
    expect(await names(`org=${orgs.A.id}&sub=1`)).toEqual(['rt1', 'rt2']);
    expect(await names(`org=${orgs.B.id}`)).toEqual(['rt1', 'rt4']);
  });
  it('records the export in the audit log before the download ends, whatever the timing', async () => {
    // The audit table is locked, so the export's audit row cannot be written until the test
    // lets it. The server's response must not end before that: 'finish' of the response (the
    // last byte handed to the socket) has to come after the release, and see the row.
    const exports = async () => (await t.sql<{ n: number }>(`select count(*)::int as n from audit_events where action = 'users.exported'`))[0].n;
    const before = await exports();
    const holder = new Client({ connectionString: t.db.url });
    await holder.connect();
    await holder.query('begin');
    await holder.query('lock table audit_events in exclusive mode');
    let released = false;
    const atFinish = new Promise<{ released: boolean; rows: number }>((resolve, reject) => {
      const onRequest = (req: IncomingMessage, res: ServerResponse) => {
        if (!req.url?.startsWith('/users/export?q=ordering')) return;
        t.http.off('request', onRequest);
        res.once('finish', () => {
          const releasedThen = released;
          exports().then((n) => resolve({ released: releasedThen, rows: n - before }), reject);
        });
      };
      t.http.on('request', onRequest);
    });
    try {
      const downloading = download(admin, '/users/export?q=ordering');
      // Wait (by state, not by time) until the export's audit insert queues behind the lock.
      while ((await t.sql(`select 1 from pg_locks l join pg_class c on c.oid = l.relation where c.relname = 'audit_events' and not l.granted`)).length === 0) {
        await sleep(20);
      }
      released = true;
      await holder.query('commit');
      const res = await downloading;
      expect(res.status).toBe(200);
      expect(await atFinish).toEqual({ released: true, rows: 1 });
    } finally {
      await holder.end();
    }
  });

  it('answers 404 for an organization outside the scope, exactly as the list does, and exports nothing', async () => {
    await createUser(t, { username: 'scoped_a1', roles: ['user_manager'], memberships: [{ org: orgs.A1, isAdmin: true }] });
    const scoped = await loginTo(t, 'scoped_a1', 'Secret-pass-1', orgs.A1);
    expect((await scoped.get(`/users?org=${orgs.B.id}`)).status).toBe(404);
    const res = await download(scoped, `/users/export?org=${orgs.B.id}`);
    expect(res.status).toBe(404);
    expect(res.headers['content-disposition']).toBeUndefined();
    expect(await t.sql(`select 1 from audit_events where action = 'users.exported' and actor_name = 'scoped_a1'`)).toEqual([]);
    // Inside the scope the same filter works.
    expect((await download(scoped, `/users/export?org=${orgs.A1.id}`)).status).toBe(200);
  });

  it('the users list has an Export button that exports exactly the users the list shows for its filters', async () => {
    await t.sql(`update users set locked_until = now() + interval '1 hour' where username = 'rt4'`);
    try {
      const list = await admin.get('/users?q=rt');
      expect(list.status).toBe(200);
      // The person filters (form fields, or an organization chosen in the tree panel) and then presses Export.
      const cases: { org?: string; changes: SearchChanges; expected: string[] }[] = [
        { changes: { select: { Status: 'Locked' } }, expected: ['rt4'] },
        // "Enabled" on the list means enabled and not locked.
        { changes: { select: { Status: 'Enabled' } }, expected: ['rt1', 'rt3', 'rt5'] },
        { changes: { select: { 'Custom property': 'Skill' }, type: { 'Property value': 'rust' } }, expected: ['rt1'] },
        // How they sign in: through the identity provider azure, or with a Tessera password.
        { changes: { select: { 'Signs in with': 'azure' } }, expected: ['rt3'] },
        { changes: { select: { 'Signs in with': 'Tessera password' } }, expected: ['rt1', 'rt2', 'rt4', 'rt5'] },
        { org: 'A', changes: {}, expected: ['rt2'] },
        { org: 'A', changes: { check: ['with sub-organizations'] }, expected: ['rt1', 'rt2'] },
      ];
      for (const { org, changes, expected } of cases) {
        const start = org ? await admin.get(linkHref(list.text, org)) : list;
        const search = applyChanges(formIn(start.text, 'Search', { url: '/users' }), changes);
        const path = `${search.action}?${new URLSearchParams(search.entries('Search')).toString()}`;
        const shown = await allUsernames(admin, path);
        expect({ org, changes, shown }).toEqual({ org, changes, shown: expected });
        const page = await admin.get(path);
        const exported = await download(admin, linkHref(page.text, 'Export'));
        expect(exported.status).toBe(200);
        const names = rowsOf((await openWorkbook(exported.body)).worksheets[0]).map((r) => r.UserName).sort();
        expect({ org, changes, names }).toEqual({ org, changes, names: shown });
      }
    } finally {
      await t.sql(`update users set locked_until = null where username = 'rt4'`);
    }
  });

  it('round trip: the export with passwords filled in, imported into a fresh database, reproduces the users', async () => {
    const res = await download(admin, '/users/export?q=rt');
    const wb = await openWorkbook(res.body);
    const ws = wb.worksheets[0];
    const header = (ws.getRow(1).values as unknown[]).slice(1).map(String);
    ws.eachRow((row, n) => {
      if (n === 1) return;
      const username = String(row.getCell(header.indexOf('UserName') + 1).value);
      if (String(row.getCell(header.indexOf('Provider') + 1).value) === 'local') row.getCell(header.indexOf('Password') + 1).value = `Passw0rd-${username}`;
    });
    const file = Buffer.from(await wb.xlsx.writeBuffer());

    // Closed in afterAll, after `t`: closing a second test app first breaks the first one's pool.
    fresh = await createTestApp({ env: { IMPORT_POLL_SECONDS: '0' } });
    await configureProviders(fresh, ['azure']);
    await seed(fresh);
    const freshAdmin = await login(fresh.http, 'admin', ADMIN_PASSWORD);
    const { job } = await importFile(fresh, freshAdmin, file, 'export.xlsx');
    expect(job.message).toBe('Imported 5 users.');
    const original = await snapshot(t, 'rt%');
    expect(original).toHaveLength(5);
    expect(await snapshot(fresh, 'rt%')).toEqual(original);
    for (const username of ['rt1', 'rt2', 'rt4', 'rt5']) expect(await passwordWorks(fresh, username, `Passw0rd-${username}`)).toBe(true);
    expect(await fresh.sql(`select username from users where username = 'rt3' and password_hash is not null`)).toEqual([]);
  });

});
