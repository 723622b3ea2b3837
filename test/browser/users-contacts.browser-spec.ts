import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { createTestApp, TestApp } from '../support/app';
import { ARTIFACTS, Browser, openSignedIn, pageHelpers } from '../support/browser';
import { createOrganization, createUser, globalOrganization, OrgRow } from '../support/factories';

/**
 * An Administrator in Debian's Chromium with JavaScript switched off: creates a person contact,
 * enables access for it, lands on the new user's page and comes back to it through "Open User";
 * filters the contacts list with a link of the organization tree panel; then, on the users list,
 * disables two users and sets a password send date for two others with the checkbox form. Only
 * locators, `fill`, `check`, `selectOption` and `click`.
 */

jest.setTimeout(120_000);

describe('contacts and users in a browser (JavaScript off)', () => {
  let t: TestApp | undefined;
  let baseUrl: string;
  let browser: Browser | undefined;
  let page: Page;
  let helpers: ReturnType<typeof pageHelpers>;
  let A: OrgRow;

  beforeAll(async () => {
    t = await createTestApp();
    A = await createOrganization(t, 'A');
    await createUser(t, { username: 'boss', fullName: 'Bea Boss', roles: ['administrator'], profile: 'administrator', memberships: [{ org: await globalOrganization(t) }] });
    for (const name of ['anna', 'bert', 'carla', 'dirk']) {
      await createUser(t, { username: name, password: null, email: `${name}@example.test`, memberships: [{ org: A }] });
    }
    ({ baseUrl, page, helpers } = browser = await openSignedIn(t, 'boss', 'Secret-pass-1'));
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const rowOf = (username: string) => page.locator('table.data tbody tr', { has: page.getByRole('link', { name: username, exact: true }) });

  it('creates a person contact, enables access, and opens the user from the contact', async () => {
    await page.getByRole('link', { name: 'Contacts' }).first().click();
    await helpers.waitForPath('/contacts');
    await page.getByRole('link', { name: 'New person' }).click();
    await helpers.waitForPath('/contacts/new');
    await helpers.field('First name').fill('John');
    await helpers.field('Last name').fill('Smith');
    await helpers.field('E-mail').fill('john.smith@example.test');
    await helpers.field('Home organization').selectOption(String(A.id));
    await page.getByRole('button', { name: 'Save' }).click();

    await helpers.waitForPath(/^\/contacts\/\d+$/);
    const contactPath = new URL(page.url()).pathname;
    expect(await helpers.text('h1')).toBe('John Smith');
    expect(await page.getByRole('link', { name: 'Open User' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Enable Access' }).click();

    await helpers.waitForPath(/^\/users\/\d+$/);
    const userPath = new URL(page.url()).pathname;
    expect(await helpers.text('h1')).toBe('User jsmith');
    expect(await page.locator('.flash-success').innerText()).toContain('Access enabled: username jsmith.');
    await page.screenshot({ path: join(ARTIFACTS, 'user-page.png'), fullPage: true });

    await page.goto(`${baseUrl}${contactPath}`);
    expect(await page.getByRole('button', { name: 'Enable Access' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Open User' }).click();
    await helpers.waitForPath(userPath);
    expect(await helpers.text('h1')).toBe('User jsmith');
  });

  it('filters the contacts list by home organization with a link of the tree panel', async () => {
    await page.goto(`${baseUrl}/contacts?q=smith`);
    await page.getByRole('navigation', { name: 'Organizations' }).getByRole('link', { name: 'A', exact: true }).click();
    await helpers.waitForPath('/contacts');
    expect(new URL(page.url()).searchParams.get('q')).toBe('smith');
    expect(new URL(page.url()).searchParams.get('org')).toBe(String(A.id));
    expect(await page.locator('.org-tree a[aria-current="true"]').innerText()).toBe('A');
    expect(await page.locator('table.data tbody tr').allInnerTexts()).toEqual([expect.stringContaining('John Smith')]);
    await page.screenshot({ path: join(ARTIFACTS, 'contacts-tree.png'), fullPage: true });
  });

  it('disables two users from the list with the checkbox form', async () => {
    await page.goto(`${baseUrl}/users`);
    await page.getByLabel('Select anna', { exact: true }).check();
    await page.getByLabel('Select bert', { exact: true }).check();
    await page.getByRole('button', { name: 'Disable', exact: true }).click();

    await helpers.waitForPath('/users');
    expect(await page.locator('.flash-success').innerText()).toContain('Disabled 2 users: anna, bert.');
    for (const name of ['anna', 'bert']) expect(await rowOf(name).locator('td').nth(7).innerText()).toBe('Disabled');
    for (const name of ['carla', 'dirk', 'jsmith']) expect(await rowOf(name).locator('td').nth(7).innerText()).toBe('Enabled');
  });

  it('sets a password send date for two users and shows it in the last column', async () => {
    await page.goto(`${baseUrl}/users`);
    await page.getByLabel('Select carla', { exact: true }).check();
    await page.getByLabel('Select dirk', { exact: true }).check();
    await page.getByLabel('Password send date').fill('2031-05-04T09:30');
    await page.getByRole('button', { name: 'Set password send date for selected users' }).click();

    await helpers.waitForPath('/users');
    await page.screenshot({ path: join(ARTIFACTS, 'users-send-date.png'), fullPage: true });
    for (const name of ['carla', 'dirk']) {
      const last = await rowOf(name).locator('td').last().innerText();
      expect(last).toContain('2031');
      expect(last).toContain('pending');
    }
    expect(await rowOf('jsmith').locator('td').last().innerText()).toBe('—');
  });
});
