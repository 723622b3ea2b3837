import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { createTestApp, TestApp } from '../support/app';
import { ARTIFACTS, Browser, openBrowser, pageHelpers } from '../support/browser';

/**
 * The first sign-in of the built-in admin in a real browser (Debian's Chromium) with JavaScript
 * switched off: every step is plain HTML forms, links and redirects. Only locators, `fill` and
 * `click` are used; nothing runs inside the page.
 */
const NEW_PASSWORD = 'Brand-new-pass-42';

jest.setTimeout(120_000);

describe('sign-in in a browser (JavaScript off)', () => {
  let t: TestApp | undefined;
  let baseUrl: string;
  let browser: Browser | undefined;
  let page: Page;
  let field: ReturnType<typeof pageHelpers>['field'];
  let text: ReturnType<typeof pageHelpers>['text'];
  let waitForPath: ReturnType<typeof pageHelpers>['waitForPath'];
  let signIn: ReturnType<typeof pageHelpers>['signIn'];

  beforeAll(async () => {
    t = await createTestApp({ adminPassword: null });
    baseUrl = await t.listen();
    browser = await openBrowser();
    page = browser.page;
    ({ field, text, waitForPath, signIn } = pageHelpers(page));
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });


  const path = () => new URL(page.url()).pathname;


  it('signs in with the generated password, forces a new one, signs out and back in', async () => {
    const generated = t!.prepared.generatedAdminPassword;
    expect(typeof generated).toBe('string');

    // Sign-in page.
    const response = await page.goto(`${baseUrl}/login`);
    expect(response?.status()).toBe(200);
    expect(await text('h1')).toBe('Sign in to Tessera');

    // First sign-in: the password must be changed before anything else.
    await signIn('admin', generated!);
    await waitForPath('/account');
    expect(await text('h1')).toBe('My account');
    expect(await page.getByRole('alert').first().innerText()).toContain('You must choose a new password before you continue.');

    await field('Current password').fill(generated!);
    await field('New password').fill(NEW_PASSWORD);
    await field('Repeat the new password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();

    // The startboard, with the success message and the session in the header.
    await waitForPath('/');
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Startboard');
    expect(await text('.flash-success')).toContain('Your password has been changed.');
    expect(await text('header .who')).toContain('(admin)');
    expect(await text('header .current-org')).toContain('Global');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'startboard.png'), fullPage: true });

    // Sign out.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await waitForPath('/login');
    expect(await text('main [role="status"]')).toContain('You have signed out');
    expect(await page.locator('header .who').count()).toBe(0);

    // The old password is refused...
    await signIn('admin', generated!);
    expect(path()).toBe('/login');
    expect(await text('.error-summary')).toContain('The username or password is incorrect.');

    // ...and the new one lets admin straight in to the startboard.
    await signIn('admin', NEW_PASSWORD);
    await waitForPath('/');
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Startboard');
    expect(await text('header .who')).toContain('(admin)');
  });
});
