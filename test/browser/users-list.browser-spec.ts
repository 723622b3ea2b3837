import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { ARTIFACTS, Browser, openSignedIn, pageHelpers } from '../support/browser';
import { createOrganization, createUser, OrgRow } from '../support/factories';

/**
 * The users list as Wyn drives it in Chromium with JavaScript off: picks an organization in the
 * tree panel, ticks "Select all N users matching this filter", presses Disable, reads the
 * confirmation page, confirms and is back on the same filtered list; pages with 100 per page
 * and the Previous link. Only locators, `check`, `selectOption` and `click`.
 */
jest.setTimeout(180_000);

describe('users list in a browser (JavaScript off): tree panel, select all matching, paging', () => {
  let t: TestApp | undefined;
  let baseUrl: string;
  let browser: Browser | undefined;
  let page: Page;
  let helpers: ReturnType<typeof pageHelpers>;
  let Sales: OrgRow;

  beforeAll(async () => {
    t = await createTestApp();
    Sales = await createOrganization(t, 'Sales');
    const North = await createOrganization(t, 'North', Sales);
    await createOrganization(t, 'Tech');
    for (let i = 1; i <= 60; i++) await createUser(t, { username: `north${String(i).padStart(2, '0')}`, password: null, memberships: [{ org: North }] });
    for (let i = 1; i <= 70; i++) await createUser(t, { username: `sales${String(i).padStart(2, '0')}`, password: null, memberships: [{ org: Sales }] });
    ({ baseUrl, page, helpers } = browser = await openSignedIn(t, 'admin', ADMIN_PASSWORD));
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('picks an organization in the tree, disables all its matching users after a confirmation, and comes back to the same list', async () => {
    await page.goto(`${baseUrl}/users`);
    const tree = page.getByRole('navigation', { name: 'Organizations' });
    await tree.getByRole('link', { name: 'Sales', exact: true }).click();
    await page.waitForURL((url) => url.searchParams.get('org') === String(Sales.id));
    await page.getByLabel('with sub-organizations').check();
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL((url) => url.searchParams.get('sub') === '1');
    const filteredUrl = page.url();
    await page.screenshot({ path: join(ARTIFACTS, 'users-tree-panel.png'), fullPage: true });
    expect(await tree.locator('a[aria-current="true"]').innerText()).toBe('Sales');

    await page.getByLabel('Select all 130 users matching this filter').check();
    await page.getByRole('button', { name: 'Disable', exact: true }).click();
    await helpers.waitForPath('/users/bulk/disable');
    expect(await helpers.text('h1')).toBe('Disable all users matching the filter?');
    expect(await page.locator('main').innerText()).toContain('Organization: Sales and its sub-organizations');
    await page.screenshot({ path: join(ARTIFACTS, 'users-select-all-confirm.png'), fullPage: true });
    await page.getByRole('button', { name: 'Disable 130 users' }).click();

    await page.waitForURL(filteredUrl);
    expect(await page.locator('.flash-success').innerText()).toMatch(/^Disabled 130 users: /);
    expect(await t!.sql(`select 1 from users where (username like 'north%' or username like 'sales%') and enabled`)).toEqual([]);
  });

  it('shows 100 users per page and goes back with Previous', async () => {
    await page.goto(`${baseUrl}/users`);
    await page.getByLabel('Users per page').selectOption('100');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL((url) => url.searchParams.get('size') === '100');
    expect(await page.locator('table.data tbody tr').count()).toBe(100);
    const firstPage = await page.locator('table.data tbody tr td:nth-child(2)').allInnerTexts();
    await page.getByRole('link', { name: 'Next page »' }).click();
    await page.waitForURL((url) => url.searchParams.has('after'));
    await page.getByRole('link', { name: '‹ Previous page' }).click();
    await page.waitForURL((url) => url.searchParams.has('before'));
    expect(await page.locator('table.data tbody tr td:nth-child(2)').allInnerTexts()).toEqual(firstPage);
  });
});
