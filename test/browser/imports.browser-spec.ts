import ExcelJS from 'exceljs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { createTestApp, TestApp } from '../support/app';
import { ARTIFACTS, Browser, openSignedIn, pageHelpers } from '../support/browser';
import { createOrganization, createUser, globalOrganization } from '../support/factories';
import { HEADERS } from '../support/imports-files';

/**
 * An Administrator signed in to Global, in Debian's Chromium with JavaScript switched off:
 * downloads "Export Template" from /imports, fills it in (with exceljs) with three users, one of
 * them with a role that does not exist, uploads it with the form, follows the job page until it
 * is done, reads the error on the detail page, fixes the file, uploads it again and finds the new
 * users on /users. Only locators, `setInputFiles` and `click`; nothing runs inside the page.
 */

jest.setTimeout(120_000);

/** How long a job may take before the test gives up following its page. */
const JOB_DEADLINE_MS = 30_000;

describe('Excel import in a browser (JavaScript off)', () => {
  let t: TestApp | undefined;
  let baseUrl: string;
  let browser: Browser | undefined;
  let page: Page;
  let helpers: ReturnType<typeof pageHelpers>;
  let work: string;
  let template: string;

  beforeAll(async () => {
    // The worker runs right after each upload; no background polling is needed.
    t = await createTestApp({ env: { IMPORT_POLL_SECONDS: '0' } });
    await createOrganization(t, 'Sales');
    await createUser(t, { username: 'boss', fullName: 'Bea Boss', roles: ['administrator'], profile: 'administrator', memberships: [{ org: await globalOrganization(t) }] });
    work = mkdtempSync(join(tmpdir(), 'tessera-import-browser-'));
    ({ baseUrl, page, helpers } = browser = await openSignedIn(t, 'boss', 'Secret-pass-1'));
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Fills the downloaded template's Users sheet with `rows` (by header name) and saves it as `name`. */
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
    await page.goto(`${baseUrl}/imports`);
    await page.getByLabel('Excel workbook or CSV file').setInputFiles(path);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await helpers.waitForPath(/^\/imports\/\d+$/);
    const jobPath = new URL(page.url()).pathname;
    // The page refreshes itself with <meta http-equiv="refresh"> while the job runs; reloading it
    // here as well keeps the wait bounded whether or not the refresh has fired yet.
    const deadline = Date.now() + JOB_DEADLINE_MS;
    for (;;) {
      if ((await page.locator('#import-result').count()) > 0) break;
      if (Date.now() > deadline) throw new Error(`The import at ${jobPath} did not finish within ${JOB_DEADLINE_MS} ms: ${await page.locator('main').innerText()}`);
      await page.waitForTimeout(500);
      await page.goto(`${baseUrl}${jobPath}`);
    }
    return jobPath;
  }

  const rows: Record<string, string>[] = [
    { UserName: 'ann.lee', FirstName: 'Ann', LastName: 'Lee', Email: 'ann.lee@example.test', Password: 'Passw0rd-ann', Organizations: 'Sales' },
    { UserName: 'bob.kim', FirstName: 'Bob', LastName: 'Kim', Email: 'bob.kim@example.test', Password: 'Passw0rd-bob', Roles: 'Member, Wizard' },
    { UserName: 'cai.wu', FirstName: 'Cai', LastName: 'Wu', Email: 'cai.wu@example.test', Password: 'Passw0rd-cai', Enabled: 'false' },
  ];

  it('downloads "Export Template" with the template header row', async () => {
    await page.getByRole('link', { name: 'Import', exact: true }).first().click();
    await helpers.waitForPath('/imports');
    expect(await helpers.text('h1')).toBe('Import users');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export Template' }).click()]);
    expect(download.suggestedFilename()).toBe('tessera-users-template.xlsx');
    template = join(work, 'template.xlsx');
    await download.saveAs(template);

    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(template);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Users', 'Columns', 'Reference data']);
    expect((wb.getWorksheet('Users')!.getRow(1).values as unknown[]).slice(1)).toEqual(HEADERS);
    expect(wb.getWorksheet('Users')!.actualRowCount).toBe(1);
  });

  it('uploads the filled-in template with an unknown role and lists the error on the detail page', async () => {
    const before = await t!.sql<{ n: number }>('select count(*)::int as n from users');
    const jobPath = await upload(await fillTemplate(rows, 'users.xlsx'));
    expect(await page.locator('#import-result').innerText()).toBe('Import failed: 1 error in 1 row.');
    expect(await page.locator('#import-status').innerText()).toBe('Failed');

    // "Import failed: …" in the history of /imports links to this detail page.
    await page.goto(`${baseUrl}/imports`);
    const history = page.locator('table.data tbody tr').first();
    expect(await history.locator('td').nth(3).innerText()).toBe('Import failed: 1 error in 1 row.');
    await history.getByRole('link', { name: 'users.xlsx' }).click();
    await helpers.waitForPath(jobPath);

    const errors = page.locator('#import-errors tbody tr');
    expect(await errors.count()).toBe(1);
    expect(await errors.first().locator('td').allInnerTexts()).toEqual(['3', 'Roles', 'Member, Wizard', 'Role "Wizard" does not exist.']);
    expect(await page.getByRole('link', { name: 'Download with errors' }).count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'import-errors.png'), fullPage: true });
    expect(await t!.sql<{ n: number }>('select count(*)::int as n from users')).toEqual(before);
  });

  it('imports the fixed file and shows the new users on /users', async () => {
    const fixed = rows.map((r) => (r.UserName === 'bob.kim' ? { ...r, Roles: 'Member, User manager' } : r));
    await upload(await fillTemplate(fixed, 'users-fixed.xlsx'));
    expect(await page.locator('#import-result').innerText()).toBe('Imported 3 users.');
    await page.screenshot({ path: join(ARTIFACTS, 'import-succeeded.png'), fullPage: true });

    await page.getByRole('link', { name: 'Open the users list' }).click();
    await helpers.waitForPath('/users');
    const rowOf = (username: string) => page.locator('table.data tbody tr', { has: page.getByRole('link', { name: username, exact: true }) });
    for (const { UserName, FirstName, LastName } of rows) {
      expect(await rowOf(UserName).count()).toBe(1);
      expect(await rowOf(UserName).innerText()).toContain(`${FirstName} ${LastName}`);
    }
    expect(await rowOf('ann.lee').innerText()).toContain('Sales');
    expect(await rowOf('bob.kim').innerText()).toContain('User manager');
    expect(await rowOf('cai.wu').innerText()).toContain('Disabled');
  });
});
