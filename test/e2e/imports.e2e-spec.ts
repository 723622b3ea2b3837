import request from 'supertest';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createUser, OrgRow } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { formIn, openForm } from '../support/forms';
import { dataTable, textOf } from '../support/html';
import { Agent, csrfFrom, login } from '../support/http';
import { HEADERS, rawWorkbook, Row, sheetXml, userRow, workbook, zipBomb } from '../support/imports-files';
import { createDepartment, createProperty, download, IMPORT_FILE_LABEL, importErrors, openWorkbook, importFile, passwordWorks, uploadFile, userDataFingerprint } from '../support/imports-factories';
import { loginTo } from '../support/sessions';
import { configureProviders } from '../support/sso';
import { buildWorld } from '../support/world';

/**
 * SPEC §4 "Import (Excel)": the template, the upload form (CSRF, limits, hostile files), the
 * background job with its progress page, every rule on every row with all violations reported,
 * all-or-nothing writes, the error download, and the audit trail.
 */
jest.setTimeout(180_000);

const ALL = [...HEADERS, 'Gender', 'Project Code', 'Skill'];

describe('Excel import of users', () => {
  let t: TestApp;
  let admin: Agent;
  let A: OrgRow;
  let A1: OrgRow;

  beforeAll(async () => {
    t = await createTestApp({ env: { IMPORT_POLL_SECONDS: '0', IMPORT_MAX_BYTES: String(2 * 1024 * 1024) } });
    await configureProviders(t, ['azure', 'okta']);
    ({ A, A1 } = (await buildWorld(t, { orgs: ['A', 'A1', 'B'] })).org);
    await createProperty(t, 'Skill', ['Java', 'Go', 'Rust'], true);
    await createProperty(t, 'Gender', ['F', 'M', 'X']);
    await createProperty(t, 'Project Code');
    await createDepartment(t, 'Sales');
    await t.sql(`insert into licence_types (name, seats) values ('Premium', 3)`);
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
  });
  afterAll(async () => {
    await t.close();
  });

  describe('the page', () => {
    it('offers the upload form and "Export Template" to Administrators, and "Import" in the menu', async () => {
      const page = await admin.get('/imports');
      expect(page.status).toBe(200);
      expect(page.text).toContain('href="/imports/template"');
      expect(page.text).toContain('Export Template');
      expect(page.text).toMatch(/<form method="post" action="\/imports" enctype="multipart\/form-data">\s*<input type="hidden" name="_csrf"/);
      const form = formIn(page.text, 'Import');
      expect(form.enctype).toBe('multipart/form-data');
      expect(form.labels()).toEqual([IMPORT_FILE_LABEL]);
      expect(page.text).toContain('<a href="/imports">Import</a>');
    });

    it('is refused (403) to a User manager who is not an Administrator, and not in their menu', async () => {
      await createUser(t, { username: 'manager', roles: ['user_manager'], memberships: [{ org: A1, isAdmin: true }] });
      const manager = await loginTo(t, 'manager', 'Secret-pass-1', A1);
      expect((await manager.get('/imports')).status).toBe(403);
      expect((await manager.get('/imports/template')).status).toBe(403);
      const account = await manager.get('/account');
      expect(account.text).not.toContain('href="/imports"');
      // A real upload with the session's own CSRF token: refused, nothing queued, nothing changed.
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await manager.post('/imports').field('_csrf', csrfFrom(account.text)).attach('file', await workbook([userRow(1)]), 'users.xlsx');
      expect(res.status).toBe(403);
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it('is refused (403) to an Administrator who works in another organization than Global', async () => {
      await createUser(t, { username: 'admin_in_a', roles: ['administrator'], memberships: [{ org: A, isAdmin: true }] });
      const adminInA = await loginTo(t, 'admin_in_a', 'Secret-pass-1', A);
      expect((await adminInA.get('/imports')).status).toBe(403);
      const account = await adminInA.get('/account');
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await adminInA.post('/imports').field('_csrf', csrfFrom(account.text)).attach('file', await workbook([userRow(1)]), 'users.xlsx');
      expect(res.status).toBe(403);
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it('refuses an upload without CSRF token (403) and stores nothing', async () => {
      const before = await databaseFingerprint(t, { includeAudit: true });
      const file = await workbook([userRow(1)]);
      const res = await admin.post('/imports').attach('file', file, 'users.xlsx');
      expect(res.status).toBe(403);
      expect(res.text).toContain('did not come from Tessera');
      const forged = await admin.post('/imports').field('_csrf', 'forged-token').attach('file', file, 'users.xlsx');
      expect(forged.status).toBe(403);
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it('refuses an anonymous upload without parsing it', async () => {
      const anonymous = request.agent(t.http);
      const token = csrfFrom((await anonymous.get('/login')).text);
      const res = await anonymous.post('/imports').field('_csrf', token).attach('file', await workbook([userRow(1)]), 'users.xlsx');
      expect(res.status).toBe(403);
    });

    it('asks for a file when none was chosen', async () => {
      // The browser sends the file field as an empty part without a file name.
      const res = await (await openForm(admin, '/imports', 'Import')).submit('Import');
      expect(res.status).toBe(422);
      expect(res.text).toContain('Choose an Excel workbook (.xlsx) or a CSV file to import.');
    });
  });

  describe('Export Template', () => {
    it('has the columns, list validations, header notes, the column sheet and the reference sheet', async () => {
      const res = await download(admin, '/imports/template');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toContain('spreadsheetml');
      const wb = await openWorkbook(res.body);
      expect(wb.worksheets.map((w) => w.name)).toEqual(['Users', 'Columns', 'Reference data']);
      const users = wb.getWorksheet('Users')!;
      expect((users.getRow(1).values as unknown[]).slice(1)).toEqual(ALL);

      const column = (name: string) => String.fromCharCode(65 + ALL.indexOf(name));
      for (const [name, values] of [
        // local and the identity providers this file configured (the import refuses any other).
        ['Provider', ['local', 'azure', 'okta']],
        ['Enabled', ['true', 'false']],
        ['Gender', ['F', 'M', 'X']],
      ] as const) {
        const validation = users.getCell(`${column(name)}2`).dataValidation;
        expect(validation).toMatchObject({ type: 'list' });
        expect(validation.formulae?.[0]).toMatch(/^'Reference data'!\$[A-Z]+\$2:\$[A-Z]+\$\d+$/);
        expect(noteText(users.getCell(`${column(name)}1`).note)).toBe(`Allowed values: ${values.join(', ')}`);
      }
      // The lists reach far down the sheet, not only the first data row.
      expect(users.getCell(`${column('Provider')}10001`).dataValidation).toMatchObject({ type: 'list' });
      expect(noteText(users.getCell(`${column('Skill')}1`).note)).toBe('Allowed values: Java, Go, Rust (one value per line in the cell)');
      // A multi-valued property only has the note: an Excel list would refuse a cell of several lines.
      expect(users.getCell(`${column('Skill')}2`).dataValidation).toBeUndefined();
      expect(users.getCell(`${column('Project Code')}1`).note).toBeUndefined();
      expect(users.getCell(`${column('UserName')}2`).dataValidation).toBeUndefined();

      const docs = wb.getWorksheet('Columns')!;
      const documented = new Map<string, unknown[]>();
      docs.eachRow((row) => documented.set(String(row.getCell(1).value ?? ''), (row.values as unknown[]).slice(1)));
      for (const name of ALL) expect(documented.has(name)).toBe(true);
      expect(documented.get('UserName')?.[1]).toBe('yes');
      expect(documented.get('Provider')?.[3]).toBe('local');
      expect(documented.get('Gender')?.[2]).toBe('one of: F, M, X');

      const reference = wb.getWorksheet('Reference data')!;
      const listOf = (title: string) => {
        const col = (reference.getRow(1).values as unknown[]).indexOf(title);
        const out: string[] = [];
        for (let r = 2; reference.getCell(r, col).value; r++) out.push(String(reference.getCell(r, col).value));
        return out;
      };
      expect(listOf('Organizations')).toEqual(['Global', 'A', 'A/A1', 'B']);
      expect(listOf('Roles')).toEqual(['Administrator', 'Member', 'User manager']);
      expect(listOf('Licences')).toEqual(['Premium', 'Standard']);
      expect(listOf('Profiles')).toEqual(['Administrator', 'Self-service']);
    });
  });

  describe('a valid file', () => {
    const rows: Row[] = Array.from({ length: 250 }, (_, i) => {
      const n = i + 1;
      if (n % 50 === 0) return { Id: `sso-${n}`, UserName: `sso${n}`, Email: `sso${n}@example.org`, Provider: 'azure', FirstName: 'Sam', LastName: `Sso${n}` };
      return userRow(n, {
        Mobile: n % 10 === 0 ? 4915112340000 + n : undefined,
        Roles: n % 7 === 0 ? 'Member, User manager' : undefined,
        Organizations: n % 3 === 0 ? 'A/A1\nB' : n % 3 === 1 ? 'A' : undefined,
        Enabled: n % 11 === 0 ? false : undefined,
        Department: n % 5 === 0 ? 'sales' : undefined,
        Skill: n % 4 === 0 ? 'Java\nGo' : undefined,
        Gender: n % 2 === 0 ? 'F' : undefined,
        'Project Code': n === 1 ? '=HYPERLINK("http://evil")' : undefined,
      });
    });
    let file: Buffer;

    it('imports 250 users with everything that belongs to them', async () => {
      file = await workbook(rows, ALL);
      const { job, page } = await importFile(t, admin, file, 'staff.xlsx');
      expect(job).toMatchObject({ status: 'succeeded', imported_count: 250, total_rows: 250, error_count: 0 });
      expect(page).toContain('Imported 250 users.');

      const [counts] = await t.sql<{ users: number; contacts: number; sso: number; disabled: number }>(
        `select count(*)::int as users, count(distinct contact_id)::int as contacts,
                count(*) filter (where provider = 'azure')::int as sso, count(*) filter (where not enabled)::int as disabled
           from users where username like 'imp%' or username like 'sso%'`,
      );
      expect(counts).toEqual({ users: 250, contacts: 250, sso: 5, disabled: 22 });

      const [u21] = await t.sql<Record<string, unknown>>(
        `select u.username, u.provider, u.external_id, u.enabled, c.first_name, c.last_name, c.full_name, c.email, c.mobile, c.department,
                (select string_agg(o.name, ',' order by o.name) from memberships m join organizations o on o.id = m.organization_id where m.user_id = u.id) as orgs,
                (select name from organizations where id = c.organization_id) as home,
                (select string_agg(r.name, ',' order by r.name) from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = u.id) as roles,
                (select name from licence_types where id = u.licence_id) as licence,
                (select name from user_profiles where id = u.profile_id) as profile,
                u.must_change_password
           from users u join contacts c on c.id = u.contact_id where u.username = 'imp20'`,
      );
      expect(u21).toEqual({
        username: 'imp20',
        provider: 'local',
        external_id: null,
        enabled: true,
        first_name: 'First20',
        last_name: 'Last20',
        full_name: 'First20 Last20',
        email: 'imp20@example.org',
        mobile: '4915112340020',
        department: 'Sales',
        orgs: 'Global',
        home: 'Global',
        roles: 'Member',
        licence: 'Standard',
        profile: 'Self-service',
        must_change_password: true,
      });
      const [u21orgs] = await t.sql<{ orgs: string; home: string }>(
        `select (select string_agg(o.name, ',' order by o.name) from memberships m join organizations o on o.id = m.organization_id where m.user_id = u.id) as orgs,
                (select name from organizations where id = c.organization_id) as home
           from users u join contacts c on c.id = u.contact_id where u.username = 'imp21'`,
      );
      expect(u21orgs).toEqual({ orgs: 'A1,B', home: 'A1' });
      const props = await t.sql<{ name: string; value: string }>(
        `select p.name, v.value from user_property_values v join custom_properties p on p.id = v.property_id join users u on u.id = v.user_id
          where u.username = 'imp4' order by p.name, v.value`,
      );
      expect(props).toEqual([
        { name: 'Gender', value: 'F' },
        { name: 'Skill', value: 'Go' },
        { name: 'Skill', value: 'Java' },
      ]);
      const [sso] = await t.sql<{ password_hash: string | null; external_id: string }>(`select password_hash, external_id from users where username = 'sso50'`);
      expect(sso).toEqual({ password_hash: null, external_id: 'sso-50' });
      expect(await passwordWorks(t, 'imp7', 'Passw0rd-7')).toBe(true);
      // Every local user's password is an argon2id hash of its own (OWASP parameters, own salt).
      const [hashes] = await t.sql<{ local: number; argon2id: number; distinct_hashes: number }>(
        `select count(*)::int as local, count(*) filter (where password_hash like '$argon2id$v=19$m=19456,t=2,p=1$%')::int as argon2id,
                count(distinct password_hash)::int as distinct_hashes
           from users where username like 'imp%' and provider = 'local'`,
      );
      expect(hashes).toEqual({ local: 245, argon2id: 245, distinct_hashes: 245 });
      const [formula] = await t.sql<{ value: string }>(`select value from user_property_values v join users u on u.id = v.user_id where u.username = 'imp1'`);
      expect(formula.value).toBe('=HYPERLINK("http://evil")');

      const [audit] = await t.sql<{ actor_name: string; object_label: string; detail: string }>(
        `select actor_name, object_label, detail from audit_events where action = 'import.succeeded' order by id desc limit 1`,
      );
      expect(audit).toEqual({ actor_name: 'admin', object_label: 'staff.xlsx', detail: 'Imported 250 users from staff.xlsx.' });
      const secrets = await t.sql(`select 1 from audit_events where changes::text ilike '%Passw0rd%' or detail ilike '%Passw0rd%'`);
      expect(secrets).toEqual([]);
      const [stored] = await t.sql<{ file_data: Buffer | null }>('select file_data from import_jobs where id = $1', [job.id]);
      expect(stored.file_data).toBeNull();
    });

    it("starts every imported user's own audit trail with their creation by the import", async () => {
      const [job] = await t.sql<{ id: number }>(`select id from import_jobs where file_name = 'staff.xlsx' and status = 'succeeded'`);
      const [imp3] = await t.sql<{ id: number }>(`select id from users where username = 'imp3'`);
      const page = await admin.get(`/users/${imp3.id}`);
      expect(page.status).toBe(200);
      const trail = dataTable(/<section aria-labelledby="trail">([\s\S]*?)<\/section>/.exec(page.text)![1]);
      expect(trail.rows).toHaveLength(1);
      const [, who, what, changes] = trail.rows[0];
      expect(who).toBe('admin');
      expect(what).toBe(`user.created (Imported from staff.xlsx (import ${job.id}).)`);
      expect(changes).toContain('username: — → imp3');
      expect(changes).toContain('organizations: — → A1, B');
      expect(changes).toContain('roles: — → Member');
      // One entry per created user, all in the import's transaction, none with a secret.
      const [counts] = await t.sql<{ entries: number; users: number }>(
        `select (select count(*)::int from audit_events where action = 'user.created' and detail = $1) as entries,
                (select count(*)::int from users where username like 'imp%' or username like 'sso%') as users`,
        [`Imported from staff.xlsx (import ${job.id}).`],
      );
      expect(counts).toEqual({ entries: 250, users: 250 });
    });

    it('refuses the same file again: every row is already registered, nothing changes', async () => {
      const before = await userDataFingerprint(t);
      const { job, page } = await importFile(t, admin, file, 'staff.xlsx');
      expect(job.status).toBe('failed');
      expect(job.error_row_count).toBe(250);
      expect(job.message).toBe(`Import failed: ${job.error_count} errors in 250 rows.`);
      expect(page).toContain(`Import failed: ${job.error_count} errors in 250 rows.`);
      const errors = await importErrors(t, job.id);
      const rowsWithRegistered = new Set(errors.filter((e) => e.message.includes('is already registered')).map((e) => e.row_number));
      expect(rowsWithRegistered.size).toBe(250);
      expect(errors).toContainEqual({ row_number: 2, column_name: 'UserName', value: 'imp1', message: 'A user with the UserName "imp1" is already registered.' });
      expect(errors).toContainEqual({ row_number: 2, column_name: 'Email', value: 'imp1@example.org', message: 'A user with the Email "imp1@example.org" is already registered.' });
      expect(errors).toContainEqual({ row_number: 51, column_name: 'Id', value: 'sso-50', message: 'A user with the Id "sso-50" for provider "azure" is already registered.' });
      expect(errors).toContainEqual({ row_number: 11, column_name: 'Mobile', value: '4915112340010', message: 'A user with the Mobile "4915112340010" is already registered.' });
      expect(await userDataFingerprint(t)).toEqual(before);
      const [audit] = await t.sql<{ detail: string }>(`select detail from audit_events where action = 'import.failed' order by id desc limit 1`);
      expect(audit.detail).toBe(job.message);
    });
  });

  describe('errors', () => {
    it('reports every error of every row (row, column, value, message) and writes nothing', async () => {
      const before = await userDataFingerprint(t);
      const file = await workbook(
        [
          { UserName: 'bad1', Email: 'not-an-email', Password: 'Passw0rd-1', Roles: 'Member, Wizard' },
          { UserName: '', Email: 'bad2@example.org', Password: 'short' },
          userRow(900),
          { UserName: 'bad3', Email: 'bad3@example.org', Password: 'Passw0rd-3', Organizations: 'A/A9', Licence: 'Gold', Profile: 'Boss', Enabled: 'maybe' },
          { UserName: 'bad4', Email: 'bad4@example.org', Provider: 'okta', Gender: 'Q', Skill: 'Java\nCobol', Department: 'Magic' },
          userRow(900, { Email: 'other900@example.org' }),
        ],
        ALL,
      );
      const { job, page } = await importFile(t, admin, file, 'broken.xlsx');
      const errors = await importErrors(t, job.id);
      expect(errors.map((e) => [e.row_number, e.column_name, e.value, e.message])).toEqual([
        [2, 'Email', 'not-an-email', '"not-an-email" is not a valid e-mail address.'],
        [2, 'Roles', 'Member, Wizard', 'Role "Wizard" does not exist.'],
        [3, 'UserName', '', 'UserName is required.'],
        [3, 'Password', '(hidden)', 'The password needs at least 8 characters and a digit.'],
        [5, 'Enabled', 'maybe', 'Enabled must be true or false.'],
        [5, 'Organizations', 'A/A9', 'Organization "A/A9" does not exist.'],
        [5, 'Licence', 'Gold', 'Licence "Gold" does not exist.'],
        [5, 'Profile', 'Boss', 'Profile "Boss" does not exist.'],
        [6, 'Id', '', 'Id is required for provider "okta".'],
        [6, 'Department', 'Magic', 'Department "Magic" does not exist.'],
        [6, 'Gender', 'Q', '"Q" is not an allowed value of Gender (allowed: F, M, X).'],
        [6, 'Skill', 'Cobol', '"Cobol" is not an allowed value of Skill (allowed: Java, Go, Rust).'],
        [7, 'UserName', 'imp900', 'UserName "imp900" appears more than once in the file (rows 4 and 7).'],
      ]);
      expect(job.message).toBe('Import failed: 13 errors in 5 rows.');
      expect(page).toContain('Import failed: 13 errors in 5 rows.');
      expect(page).toContain('<tr><td>2</td><td>Roles</td><td>Member, Wizard</td><td>Role &quot;Wizard&quot; does not exist.</td></tr>');
      expect(page).toContain('<tr><td>3</td><td>Password</td><td>(hidden)</td><td>The password needs at least 8 characters and a digit.</td></tr>');
      expect(page).toContain(`href="/imports/${job.id}/errors"`);
      expect(await userDataFingerprint(t)).toEqual(before);

      // "Download with errors": the rows again, with an error column; importable after fixing.
      const res = await download(admin, `/imports/${job.id}/errors`);
      expect(res.status).toBe(200);
      const wb = await openWorkbook(res.body);
      const ws = wb.worksheets[0];
      const header = (ws.getRow(1).values as unknown[]).slice(1);
      expect(header).toEqual([...ALL, 'Import errors']);
      expect(ws.getRow(2).getCell(ALL.length + 1).value).toBe('Email: "not-an-email" is not a valid e-mail address.\nRoles: Role "Wizard" does not exist.');
      expect(ws.getRow(4).getCell(2).value).toBe('imp900');
      expect(ws.getRow(4).getCell(ALL.length + 1).value ?? null).toBeNull();
    });

    it('keeps the first 10,000 errors of a file that is wrong everywhere, counts them all, and says so', async () => {
      const rows = Array.from({ length: 5_001 }, (_, i) => ({ UserName: `many${i}`, Email: 'not-an-email', Password: 'Passw0rd-1', Enabled: 'maybe' }));
      const { job, page } = await importFile(t, admin, await workbook(rows, ALL), 'wrong-everywhere.xlsx');
      expect(job.message).toBe('Import failed: 10,002 errors in 5,001 rows.');
      expect(job.error_count).toBe(10_002);
      expect(await importErrors(t, job.id)).toHaveLength(10_000);
      expect(textOf(page)).toContain('The first 10,000 of the 10,002 errors are listed here and in the download: fix them, and the next import shows the rest.');
      const last = await admin.get(`/imports/${job.id}?page=50`);
      expect(textOf(last.text)).toContain('Errors (page 50 of 50)');
      expect(last.text).not.toContain('rel="next"');
    });

    it('reports header problems: unknown and missing columns', async () => {
      const { job } = await importFile(t, admin, await workbook([{ UserName: 'x', 'Shoe size': '42' }], ['UserName', 'Shoe size']), 'headers.xlsx');
      expect((await importErrors(t, job.id)).map((e) => e.message)).toEqual([
        'Unknown column "Shoe size": it is neither a column of the template nor a custom property.',
        'The required column "Email" is missing.',
      ]);
    });

    it('respects licence seats: rows beyond the free seats fail', async () => {
      const file = await workbook([1, 2, 3, 4].map((i) => userRow(800 + i, { Licence: 'Premium' })));
      const { job } = await importFile(t, admin, file, 'seats.xlsx');
      expect((await importErrors(t, job.id)).map((e) => [e.row_number, e.message])).toEqual([[5, 'Licence "Premium" is full: 3 of 3 seats used.']]);
    });

    it('answers 404 for an unknown job (the matrix covers the 403 of everyone else)', async () => {
      expect((await admin.get('/imports/999999')).status).toBe(404);
      expect((await admin.get('/imports/abc')).status).toBe(404);
    });
  });

  describe('Excel quirks and CSV', () => {
    it('imports numbers in text columns, formulas, rich text, trailing spaces and header spacing', async () => {
      const file = await workbook(
        [{ ' user name ': 31415, ' EMAIL': { formula: 'LOWER("Pi@Example.org")', result: 'pi@example.org' }, password: 'Passw0rd-pi  ', Mobile: 4915112345678, FirstName: { richText: [{ text: 'P', font: { bold: true } }, { text: 'i' }] } }, {}],
        [' user name ', ' EMAIL', 'password', 'Mobile', 'FirstName'],
      );
      const { job } = await importFile(t, admin, file, 'quirks.xlsx');
      expect(job.status).toBe('succeeded');
      const [u] = await t.sql<Record<string, unknown>>(`select u.username, c.email, c.mobile, c.first_name from users u join contacts c on c.id = u.contact_id where u.username = '31415'`);
      expect(u).toEqual({ username: '31415', email: 'pi@example.org', mobile: '4915112345678', first_name: 'Pi' });
      expect(await passwordWorks(t, '31415', 'Passw0rd-pi')).toBe(true);
    });

    it('imports a CSV file (UTF-8 with BOM, semicolons)', async () => {
      const csv = '\uFEFFUserName;Email;Password;FirstName;Organizations\r\ncsv1;csv1@example.org;Passw0rd-c1;Jürgen;"A/A1, B"\r\n';
      const { job } = await importFile(t, admin, Buffer.from(csv, 'utf8'), 'users.csv');
      expect(job.status).toBe('succeeded');
      const [u] = await t.sql<{ first_name: string }>(`select c.first_name from users u join contacts c on c.id = u.contact_id where u.username = 'csv1'`);
      expect(u.first_name).toBe('Jürgen');
    });
  });

  describe('hostile files change nothing', () => {
    async function refusedAtUpload(file: Buffer, name: string, message: RegExp | string): Promise<void> {
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await uploadFile(admin, file, name);
      expect(res.status).toBe(422);
      expect(res.text).toMatch(typeof message === 'string' ? new RegExp(message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : message);
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    }

    it('refuses a zip bomb from its declared sizes (small file, hundreds of MB inflated)', async () => {
      const bomb = await zipBomb(400);
      expect(bomb.length).toBeLessThan(1024 * 1024);
      await refusedAtUpload(bomb, 'bomb.xlsx', /would unpack to more than 200 MB|zip bomb/);
    });

    it('refuses a file over IMPORT_MAX_BYTES while it is being received', async () => {
      await refusedAtUpload(Buffer.alloc(2 * 1024 * 1024 + 10, 0x41), 'big.xlsx', 'The file is larger than the limit of 2 MB.');
    });

    it('refuses a non-zip renamed .xlsx, an empty file and an encrypted workbook', async () => {
      await refusedAtUpload(Buffer.from('UserName,Email\nx,y\n'), 'users.xlsx', 'The file is not an Excel workbook (.xlsx).');
      await refusedAtUpload(Buffer.alloc(0), 'empty.xlsx', 'The file is empty.');
      const cfb = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(1024)]);
      await refusedAtUpload(cfb, 'secret.xlsx', /encrypted \(password-protected\)/);
      // A zip whose parts carry the "encrypted" flag (zip -e, some tools' "protect workbook").
      const flagged = rawWorkbook(sheetXml([['UserName', 'Email']]));
      for (let at = 0; at + 4 <= flagged.length; at++) {
        if (flagged.readUInt32LE(at) === 0x04034b50) flagged.writeUInt16LE(1, at + 6);
        else if (flagged.readUInt32LE(at) === 0x02014b50) flagged.writeUInt16LE(1, at + 8);
      }
      await refusedAtUpload(flagged, 'zip-encrypted.xlsx', /encrypted \(password-protected\)/);
    });

    it('refuses an XML entity bomb', async () => {
      const laughs =
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>' +
        '<worksheet><sheetData><row r="1"><c t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>';
      await refusedAtUpload(rawWorkbook(laughs), 'lol.xlsx', /DOCTYPE\/ENTITY/);
    });

    it('fails a file of 100,001 rows while streaming, without writing any user', async () => {
      const rows = [['UserName', 'Email', 'Password'], ...Array.from({ length: 100_001 }, (_, i) => [`r${i}`, `r${i}@example.org`, `Passw0rd-${i}`])];
      const before = await userDataFingerprint(t);
      const { job, page } = await importFile(t, admin, rawWorkbook(sheetXml(rows)), 'huge.xlsx');
      expect(job.status).toBe('failed');
      expect(job.message).toBe('Import failed: The file has more than 100,000 rows; split it into smaller files.');
      expect(page).toContain('The file has more than 100,000 rows');
      expect(await userDataFingerprint(t)).toEqual(before);
    });

    it('refuses a bomb that lies about its size (the inflated bytes outgrow the declared size at once)', async () => {
      await refusedAtUpload(await zipBomb(250, { lieAboutSize: true }), 'liar.xlsx', 'The file is not a readable Excel workbook (.xlsx)');
    });
  });

  describe('progress page', () => {
    it('refreshes itself and shows a progress bar while the job runs', async () => {
      const [job] = await t.sql<{ id: number }>(
        `insert into import_jobs (created_by_id, created_by_name, file_name, file_size, file_kind, status, total_rows, processed_rows, lease_until)
         values ((select id from users where username = 'admin'), 'admin', 'running.xlsx', 10, 'xlsx', 'importing', 400, 120, now() + interval '1 hour') returning id`,
      );
      const page = await admin.get(`/imports/${job.id}`);
      expect(page.text).toContain('<meta http-equiv="refresh" content="2">');
      expect(page.text).toMatch(/<progress id="import-progress" max="400" value="120">/);
      const history = await admin.get('/imports');
      expect(history.text).toContain('running.xlsx');
      await t.sql(`update import_jobs set status = 'failed', message = 'stopped', lease_until = null where id = $1`, [job.id]);
      expect((await admin.get(`/imports/${job.id}`)).text).not.toContain('http-equiv="refresh"');
    });
  });
});

function noteText(note: unknown): string | undefined {
  if (note === undefined || typeof note === 'string') return note as string | undefined;
  const texts = (note as { texts?: { text: string }[] }).texts;
  return texts?.map((t) => t.text).join('');
}

