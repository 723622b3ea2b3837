import ExcelJS from 'exceljs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { createTestApp, TestApp } from '../support/app';
import { ARTIFACTS, Browser, openBrowser, openSignedIn, pageHelpers } from '../support/browser';
import { createDepartment } from '../support/contacts-factories';
import { createOrganization, createUser, globalOrganization } from '../support/factories';
import { buildWorld } from '../support/world';

/**
 * The Wyn source document ("Users"), step by step, in Debian's Chromium with JavaScript off: an
 * Administrator defines the three custom properties of the document (Gender: one of allowed
 * values; Project Code: free text; Skill: several of allowed values), picks an organization in the users list's tree panel and creates a user there with roles,
 * a department and every kind of property, downloads "Export Template" (read with exceljs), imports
 * Alice and Robin with mistakes, reads the failure on its detail page, imports the fixed file,
 * exports the users list (a multi-valued property one value per line in its cell), saves the Edit
 * form unchanged and finds every property still there, disables, enables and deletes the user;
 * then, with Limit Organization Members Visibility = Yes and A ⊃ A1 ⊃ A11, the three visibility
 * scenarios of the document as organization administrators see the member picker.
 * Only labels, roles and their names; nothing runs inside the page.
 */

jest.setTimeout(240_000);

const JOB_DEADLINE_MS = 30_000;
const ADMIN_PASSWORD = 'Secret-pass-1';

describe('Wyn walk-through: users, custom properties, import/export, visibility (JavaScript off)', () => {
  let t: TestApp | undefined;
  let baseUrl: string;
  let browser: Browser | undefined;
  let page: Page;
  let helpers: ReturnType<typeof pageHelpers>;
  let work: string;
  let template: string;
  let userPath: string;

  const shot = (name: string, on: Page = page) => on.screenshot({ path: join(ARTIFACTS, `wyn-${name}.png`), fullPage: true });
  /** Picks the option of a pull-down whose visible text contains `name` (options may be indented with "— "). */
  async function choose(select: Locator, name: string): Promise<void> {
    const text = (await select.locator('option', { hasText: name }).first().innerText()).trim();
    await select.selectOption({ label: text });
  }
  /** The custom properties section of the user page as "name: values" lines. */
  async function shownProperties(): Promise<string> {
    return page.getByRole('region', { name: 'Custom properties' }).locator('dl').innerText();
  }

  beforeAll(async () => {
    // The import worker runs right after each upload; no background polling.
    t = await createTestApp({ env: { IMPORT_POLL_SECONDS: '0' } });
    await createUser(t, { username: 'boss', fullName: 'Bea Boss', roles: ['administrator'], profile: 'administrator', memberships: [{ org: await globalOrganization(t) }] });
    await createOrganization(t, 'Analytics');
    await createDepartment(t, 'Research');
    await createDepartment(t, 'Sales');
    work = mkdtempSync(join(tmpdir(), 'tessera-wyn-browser-'));
    ({ baseUrl, page, helpers } = browser = await openSignedIn(t, 'boss', ADMIN_PASSWORD));
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('defines the custom properties Gender, Project Code and Skill', async () => {
    const define = async (name: string, allowed: string[], mode: 'single' | 'multi') => {
      await page.getByRole('link', { name: 'Custom properties' }).first().click();
      await helpers.waitForPath('/custom-properties');
      await page.getByRole('link', { name: 'New custom property' }).click();
      await helpers.field('Name').fill(name);
      await helpers.field('Allowed values').fill(allowed.join('\n'));
      await page.getByLabel(mode === 'single' ? 'One value (single-valued)' : 'Several values (multi-valued)').check();
      await page.getByRole('button', { name: 'Create custom property' }).click();
      await helpers.waitForPath('/custom-properties');
    };
    await define('Gender', ['Female', 'Male', 'Diverse'], 'single');
    await define('Project Code', [], 'single');
    await define('Skill', ['Excel', 'SQL', 'Python'], 'multi');
    const listed = await page.locator('table.data tbody').innerText();
    for (const name of ['Gender', 'Project Code', 'Skill']) expect(listed).toContain(name);
    await shot('01-custom-properties');
  });

  it('creates a user with roles, a department and every kind of custom property', async () => {
    await page.getByRole('link', { name: 'Users', exact: true }).first().click();
    await helpers.waitForPath('/users');
    // "Select the organization from the left panel … and click the Create User button."
    await page.getByRole('navigation', { name: 'Organizations' }).getByRole('link', { name: 'Analytics', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/users' && url.searchParams.has('org'));
    await page.getByRole('link', { name: 'Create User' }).click();
    await helpers.waitForPath('/users/new');
    expect(await page.locator('main').innerText()).toContain('The new user and their contact belong to Analytics unless you choose another organization here.');
    expect(await page.getByLabel('Organization', { exact: true }).inputValue()).toBe(await page.getByLabel('Organization', { exact: true }).locator('option', { hasText: 'Analytics' }).getAttribute('value'));
    await helpers.field('Username').fill('wendy');
    await helpers.field('First name').fill('Wendy');
    await helpers.field('Last name').fill('Wu');
    await helpers.field('E-mail').fill('wendy.wu@example.test');
    await helpers.field('Mobile').fill('+31 6 1234 5678');
    await page.getByLabel(/^Password\b/).first().fill('Wendy-pass-2026');
    await page.getByLabel(/^Password \(again\)/).fill('Wendy-pass-2026');
    await page.getByLabel('Member', { exact: true }).check();
    await page.getByLabel('User manager', { exact: true }).check();
    await helpers.field('Department').selectOption({ label: 'Research' });
    await helpers.field('Gender').selectOption({ label: 'Female' });
    await helpers.field('Project Code').fill('PRJ-042');
    await helpers.field('Skill').selectOption([{ label: 'Excel' }, { label: 'SQL' }]);
    await shot('02-create-user-form');
    await page.getByRole('button', { name: 'Create User' }).click();

    await helpers.waitForPath(/^\/users\/\d+$/);
    userPath = new URL(page.url()).pathname;
    expect(await helpers.text('h1')).toBe('User wendy');
    const roles = await page.getByRole('region', { name: 'Roles' }).innerText();
    expect(roles).toContain('Member');
    expect(roles).toContain('User manager');
    expect(await page.locator('dl.details').first().innerText()).toContain('Research');
    expect(await page.getByRole('region', { name: 'Organizations' }).innerText()).toContain('Analytics');
    const props = await shownProperties();
    expect(props).toMatch(/Gender\s+Female/);
    expect(props).toMatch(/Project Code\s+PRJ-042/);
    expect(props).toMatch(/Skill\s+Excel, SQL/);
    await shot('03-user-created');
  });

  it('downloads "Export Template" listing every custom property with its allowed values', async () => {
    await page.getByRole('link', { name: 'Import', exact: true }).first().click();
    await helpers.waitForPath('/imports');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export Template' }).click()]);
    template = join(work, 'template.xlsx');
    await download.saveAs(template);

    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(template);
    const header = (wb.getWorksheet('Users')!.getRow(1).values as unknown[]).slice(1).map(String);
    expect(header).toEqual(expect.arrayContaining(['UserName', 'Email', 'Password', 'Roles', 'Gender', 'Project Code', 'Skill']));
    // "The available values will be shown in the cell's description."
    const note = (column: string) => JSON.stringify(wb.getWorksheet('Users')!.getRow(1).getCell(header.indexOf(column) + 1).note ?? '');
    for (const value of ['Female', 'Male', 'Diverse']) expect(note('Gender')).toContain(value);
    for (const value of ['Excel', 'SQL', 'Python']) expect(note('Skill')).toContain(value);
    await shot('04-imports');
  });

  /** Fills the template's Users sheet with `rows` (by header name) and saves it as `name`. */
  async function fillTemplate(rows: Record<string, string>[], name: string): Promise<string> {
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(template);
    const ws = wb.getWorksheet('Users')!;
    const header = (ws.getRow(1).values as unknown[]).slice(1).map(String);
    rows.forEach((values, i) => {
      const row = ws.getRow(i + 2);
      for (const [column, value] of Object.entries(values)) row.getCell(header.indexOf(column) + 1).value = value;
      row.commit();
    });
    const path = join(work, name);
    await wb.xlsx.writeFile(path);
    return path;
  }

  /** Uploads `path` with the form on /imports and follows the job page until it shows a result. */
  async function upload(path: string): Promise<string> {
    await page.getByRole('link', { name: 'Import', exact: true }).first().click();
    await helpers.waitForPath('/imports');
    await page.getByLabel('Excel workbook or CSV file').setInputFiles(path);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await helpers.waitForPath(/^\/imports\/\d+$/);
    const jobPath = new URL(page.url()).pathname;
    // While the job runs, its page reloads itself every 2 seconds (<meta http-equiv="refresh">,
    // no JavaScript); the locator waits across those reloads until the result is there.
    await page.locator('#import-result').waitFor({ timeout: JOB_DEADLINE_MS });
    return jobPath;
  }

  const alice = { UserName: 'alice', FirstName: 'Alice', LastName: 'Adams', Email: 'alice@example.test', Password: 'Passw0rd-alice', Roles: 'Member', Gender: 'Female', 'Project Code': 'PRJ-1', Skill: 'Excel\nPython' };
  const robin = { UserName: 'robin', FirstName: 'Robin', LastName: 'Reed', Email: 'robin@example.test', Password: 'Passw0rd-robin', Roles: 'Member, Wizard', Gender: 'Male', 'Project Code': 'PRJ-2', Skill: 'SQL' };

  it('imports Alice and Robin with a role that does not exist and a value that is not allowed, and shows the detail', async () => {
    const before = await t!.sql<{ n: number }>('select count(*)::int as n from users');
    await upload(await fillTemplate([{ ...alice, Skill: 'Excel\nCobol' }, robin], 'alice-robin.xlsx'));
    expect(await page.locator('#import-result').innerText()).toMatch(/^Import failed: 2 errors in 2 rows\./);
    const errors = await page.locator('#import-errors tbody').innerText();
    expect(errors).toContain('Wizard');
    expect(errors).toContain('Cobol');
    await shot('05-import-failed');
    expect(await t!.sql<{ n: number }>('select count(*)::int as n from users')).toEqual(before);
  });

  it('imports the fixed file: both users with their custom properties', async () => {
    await upload(await fillTemplate([alice, { ...robin, Roles: 'Member, User manager' }], 'alice-robin-fixed.xlsx'));
    expect(await page.locator('#import-result').innerText()).toBe('Imported 2 users.');
    await shot('06-import-succeeded');
    await page.getByRole('link', { name: 'Open the users list' }).click();
    await helpers.waitForPath('/users');
    await page.getByRole('link', { name: 'alice', exact: true }).click();
    await helpers.waitForPath(/^\/users\/\d+$/);
    const props = await shownProperties();
    expect(props).toMatch(/Gender\s+Female/);
    expect(props).toMatch(/Skill\s+Excel, Python/);
    await shot('07-imported-user');
  });

  it('exports the users list with Export: every property, multi-values one per line in their cell', async () => {
    await page.getByRole('link', { name: 'Users', exact: true }).first().click();
    await helpers.waitForPath('/users');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export', exact: true }).click()]);
    const file = join(work, 'export.xlsx');
    await download.saveAs(file);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file);
    const ws = wb.worksheets[0];
    const header = (ws.getRow(1).values as unknown[]).slice(1).map(String);
    const rows = new Map<string, Record<string, string>>();
    ws.eachRow((row, n) => {
      if (n === 1) return;
      const record = Object.fromEntries(header.map((h, i) => [h, String(row.getCell(i + 1).value ?? '')]));
      rows.set(record.UserName, record);
    });
    expect(rows.get('wendy')).toMatchObject({ Gender: 'Female', 'Project Code': 'PRJ-042', Skill: 'Excel\nSQL' });
    expect(rows.get('alice')).toMatchObject({ Gender: 'Female', 'Project Code': 'PRJ-1', Skill: 'Excel\nPython' });
    expect(rows.get('robin')).toMatchObject({ Gender: 'Male', Skill: 'SQL' });
  });

  it('Edit keeps every property when saved unchanged', async () => {
    await page.goto(`${baseUrl}${userPath}`);
    const before = await shownProperties();
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await helpers.waitForPath(`${userPath}/edit`);
    await shot('08-edit-form');
    await page.getByRole('button', { name: 'Save user' }).click();
    await helpers.waitForPath(userPath);
    expect(await shownProperties()).toBe(before);
    expect(await page.locator('dl.details').first().innerText()).toContain('Research');
    const roles = await page.getByRole('region', { name: 'Roles' }).innerText();
    expect(roles).toContain('User manager');
    // No change was recorded as a lost value.
    expect(await page.getByRole('region', { name: 'Audit trail' }).innerText()).not.toMatch(/→ —/);
    await shot('09-edit-saved');
  });

  it('disables, enables and deletes the user', async () => {
    await page.getByRole('button', { name: 'Disable', exact: true }).click();
    await helpers.waitForPath(userPath);
    expect(await page.locator('.flash-success').innerText()).toContain('User wendy disabled');
    expect(await page.locator('h1 + p').innerText()).toContain('Disabled');
    await shot('10-disabled');
    await page.getByRole('button', { name: 'Enable', exact: true }).click();
    await helpers.waitForPath(userPath);
    expect(await page.locator('h1 + p').innerText()).toContain('Enabled');
    await page.getByRole('link', { name: 'Delete', exact: true }).click();
    await helpers.waitForPath(`${userPath}/delete`);
    await shot('11-delete-confirm');
    await page.getByRole('button', { name: 'Delete user wendy' }).click();
    await helpers.waitForPath('/users');
    expect(await page.getByRole('link', { name: 'wendy', exact: true }).count()).toBe(0);
    await shot('12-deleted');
  });

  describe('Limit Organization Members Visibility = Yes, A ⊃ A1 ⊃ A11', () => {
    beforeAll(async () => {
      const admin = { roles: ['user_manager'], profile: 'administrator' as const };
      await buildWorld(t!, {
        users: {
          user1: { fullName: 'User One', ...admin, memberships: [{ org: 'A', isAdmin: true }] },
          user2: { fullName: 'User Two', ...admin, memberships: [{ org: 'A1', isAdmin: true }] },
          user3: { fullName: 'User Three', password: null, memberships: ['A'] },
          user4: { fullName: 'User Four', ...admin, memberships: [{ org: 'A11', isAdmin: true }] },
          user5: { fullName: 'User Five', password: null, memberships: ['B'] },
          // Scenario 2 of the document: user6 is administrator of A and a member (administrator) of A1.
          user6: { fullName: 'User Six', ...admin, memberships: [{ org: 'A', isAdmin: true }, { org: 'A1', isAdmin: true }] },
        },
      });
    });

    it('the Administrator sets Limit Organization Members Visibility to Yes', async () => {
      await page.getByRole('link', { name: 'Settings', exact: true }).first().click();
      await page.getByRole('link', { name: 'Portal' }).click();
      await page.getByLabel('Yes', { exact: true }).check();
      await page.getByRole('button', { name: 'Save' }).click();
      await page.waitForLoadState('load');
      expect(await page.getByLabel('Yes', { exact: true }).isChecked()).toBe(true);
      await shot('13-portal-settings');
    });

    /** Signs `username` in (choosing `org` when asked), opens the member picker of `org` and returns the usernames it offers, and those of /users. */
    async function seenBy(username: string, org: string, step: string): Promise<{ picker: string[]; list: string[] }> {
      const own = await openBrowser();
      try {
        const p = own.page;
        const h = pageHelpers(p);
        await p.goto(`${baseUrl}/login`);
        await h.signIn(username, 'Secret-pass-1');
        if (new URL(p.url()).pathname === '/session/organization') {
          await p.getByLabel(`${org} (organization administrator)`).check();
          await p.getByRole('button', { name: 'Continue' }).click();
        }
        await h.waitForPath('/');
        expect(await h.text('header .current-org')).toContain(org);
        await p.locator('header nav').getByRole('link', { name: 'Organizations', exact: true }).click();
        await h.waitForPath('/organizations');
        await p.locator('ul.tree').getByRole('link', { name: org, exact: true }).click();
        await h.waitForPath(/^\/organizations\/\d+$/);
        await p.getByRole('link', { name: 'Add members' }).click();
        await h.waitForPath(/\/members\/add$/);
        await p.getByLabel('Search users (name, username or e-mail)').fill('user');
        await p.getByRole('button', { name: 'Search' }).click();
        await p.waitForURL((url) => url.searchParams.get('q') === 'user');
        const picker = (await p.locator('table.data tbody tr td:nth-child(2)').allInnerTexts()).map((s) => s.trim()).sort();
        await shot(`${step}-picker`, p);
        await p.locator('header nav').getByRole('link', { name: 'Users', exact: true }).click();
        await h.waitForPath('/users');
        const list = (await p.locator('table.data tbody tr td:nth-child(2)').allInnerTexts()).map((s) => s.trim()).sort();
        await shot(`${step}-users`, p);
        return { picker, list };
      } finally {
        await own.close();
      }
    }

    it('scenario 1: user1, administrator of A, sees the users of A1 and A11', async () => {
      const seen = await seenBy('user1', 'A', '14-user1-in-A');
      expect(seen.picker).toEqual(expect.arrayContaining(['user2', 'user4']));
      expect(seen.picker).not.toContain('user5');
      expect(seen.list).toEqual(expect.arrayContaining(['user1', 'user2', 'user3', 'user4', 'user6']));
      expect(seen.list).not.toContain('user5');
    });

    it('scenario 1: user2, administrator of A1, sees only the users of A1 and A11', async () => {
      const seen = await seenBy('user2', 'A1', '15-user2-in-A1');
      expect(seen.picker).toContain('user4');
      for (const outside of ['user1', 'user3', 'user5']) expect(seen.picker).not.toContain(outside);
      expect(seen.list).toEqual(expect.arrayContaining(['user2', 'user4', 'user6']));
      for (const outside of ['user1', 'user3', 'user5']) expect(seen.list).not.toContain(outside);
    });

    it('scenario 2: user6, member of A and A1, signed in to A1, sees only the users of A1 and A11', async () => {
      const seen = await seenBy('user6', 'A1', '16-user6-in-A1');
      expect(seen.picker).toContain('user4');
      for (const outside of ['user1', 'user3', 'user5']) expect(seen.picker).not.toContain(outside);
      for (const outside of ['user1', 'user3', 'user5']) expect(seen.list).not.toContain(outside);
      expect(seen.list).toEqual(expect.arrayContaining(['user2', 'user4']));
    });
  });
});
