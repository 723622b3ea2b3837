import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { ARTIFACTS, Browser, openBrowser, pageHelpers } from '../support/browser';
import { createUser } from '../support/factories';

/**
 * How pages look in Chromium (JavaScript off): a disabled button looks disabled, the Mobile
 * (`type=tel`) input is styled like every other input, a custom property's description is set
 * apart from the hint below it, and the /mail list has the padded headers of every other list.
 * The computed styles are read from the browser; the screenshots land in test/artifacts/looks/.
 */
jest.setTimeout(120_000);

const SHOTS = join(ARTIFACTS, 'looks');

describe('the look of forms and lists (JavaScript off)', () => {
  let t: TestApp | undefined;
  let baseUrl: string;
  let browser: Browser | undefined;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    t = await createTestApp();
    baseUrl = await t.listen();
    browser = await openBrowser();
    page = browser.page;
    await page.goto(`${baseUrl}/login`);
    await pageHelpers(page).signIn('admin', ADMIN_PASSWORD);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  // Runs in the browser's own context (page scripts are off; the DOM types are not in this project's lib).
  type Styles = { getComputedStyle(el: unknown): { getPropertyValue(p: string): string } };
  const style = (locator: Locator, property: string) =>
    locator.evaluate((el, p) => (globalThis as unknown as Styles).getComputedStyle(el).getPropertyValue(p), property);
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  it('shows a disabled button as disabled, unlike an enabled one', async () => {
    const nomail = await createUser(t!, { username: 'nomail', email: null });
    await page.goto(`${baseUrl}/users/${nomail.id}/credentials`);
    const disabled = page.getByRole('button', { name: 'Email new password to user' });
    expect(await disabled.isDisabled()).toBe(true);
    const enabled = page.getByRole('button', { name: 'Change username' });
    await shot('disabled-button');
    expect(await style(disabled, 'cursor')).toBe('not-allowed');
    expect(await style(disabled, 'background-color')).not.toBe(await style(enabled, 'background-color'));
  });

  it('styles the Mobile (tel) input like the E-mail input', async () => {
    await page.goto(`${baseUrl}/users/new`);
    const mobile = page.getByLabel('Mobile', { exact: true });
    const email = page.getByLabel(/^E-mail/);
    await shot('create-user');
    for (const property of ['border-top-width', 'border-top-color', 'padding-left', 'width', 'border-top-left-radius']) {
      expect([property, await style(mobile, property)]).toEqual([property, await style(email, property)]);
    }
  });

  it("sets a property's description apart from the hint that follows it", async () => {
    await t!.sql(`insert into custom_properties (name, description, allowed_values, multi_valued) values ('Skills', 'What the person can do for a project.', '{Java,Go}', true)`);
    await page.goto(`${baseUrl}/users/new`);
    const description = page.getByText('What the person can do for a project.', { exact: true });
    const hint = page.getByText('Select one or more values (Ctrl or Cmd + click).', { exact: true });
    await description.scrollIntoViewIfNeeded();
    await shot('property-description');
    const [d, h] = [await description.boundingBox(), await hint.boundingBox()];
    // Two blocks, one below the other: the description does not run on into the hint.
    expect(d && h && h.y >= d.y + d.height).toBe(true);
  });

  it('gives the /mail list padded headers like every other list', async () => {
    const [{ id }] = await t!.sql<{ id: number }>(`select id from users where username = 'nomail'`);
    await t!.sql(`insert into mail_messages (kind, recipient, subject, status, attempts, user_id) values ('credentials', 'someone@example.org', 'Your Tessera login', 'queued', 0, $1)`, [id]);
    await page.goto(`${baseUrl}/mail`);
    const header = page.getByRole('columnheader', { name: 'Recipient' });
    await shot('mail');
    // The contacts list: the users list has compact cells of its own, to fit ten columns beside its tree.
    await page.goto(`${baseUrl}/contacts`);
    const listHeader = page.getByRole('columnheader', { name: 'Kind', exact: true });
    const expected = { padding: await style(listHeader, 'padding-left'), background: await style(listHeader, 'background-color') };
    await page.goto(`${baseUrl}/mail`);
    expect({ padding: await style(header, 'padding-left'), background: await style(header, 'background-color') }).toEqual(expected);
  });
});
