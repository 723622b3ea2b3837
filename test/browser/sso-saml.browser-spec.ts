import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { ARTIFACTS, Browser, openBrowser, pageHelpers } from '../support/browser';
import { workbook } from '../support/imports-files';
import { SamlIdp } from '../support/saml-idp';
import { freePort } from '../instances/instance';

jest.setTimeout(180_000);

/**
 * SAML 2.0 in Debian's Chromium with JavaScript off: the Administrator adds a SAML provider by
 * pasting the IdP's metadata and imports a `Provider = uni` user; that user clicks "Sign in with
 * University login", signs in on the IdP's page, presses its "Continue" (the HTTP-POST binding
 * without JavaScript) and lands on the startboard.
 */
describe('SAML single sign-on in a browser (JavaScript off)', () => {
  let t: TestApp | undefined;
  let idp: SamlIdp | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let base: string;
  let helpers: ReturnType<typeof pageHelpers>;
  const work = mkdtempSync(join(tmpdir(), 'tessera-saml-browser-'));

  beforeAll(async () => {
    // The ACS URL the IdP posts to comes from PUBLIC_URL: pick the port first.
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    idp = await SamlIdp.start();
    idp.addUser({ login: 'ursula', password: 'Uni-pass-1', nameId: 'u-2002', attributes: { email: 'ursula@uni.example' } });
    t = await createTestApp({ env: { PUBLIC_URL: base } });
    await t.app.listen(port, '127.0.0.1');
    browser = await openBrowser();
    page = browser.page;
    helpers = pageHelpers(page);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await idp?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('configures the provider from metadata, imports its user, who signs in through the IdP and lands on the startboard', async () => {
    await page.goto(`${base}/login`);
    await helpers.signIn('admin', ADMIN_PASSWORD);
    await helpers.waitForPath('/');

    await page.goto(`${base}/settings/authentication`);
    await page.getByRole('link', { name: 'Identity providers' }).last().click();
    await helpers.waitForPath('/settings/identity-providers');
    await page.getByRole('link', { name: 'Add an identity provider' }).click();
    await page.getByRole('link', { name: 'SAML 2.0' }).click();
    await helpers.field('Provider key').fill('uni');
    await helpers.field('Button label').fill('University login');
    await page.getByLabel('Identity provider metadata (XML)').fill(idp!.metadata);
    await page.screenshot({ path: join(ARTIFACTS, 'sso-saml-provider-form.png'), fullPage: true });
    await page.getByRole('button', { name: 'Add identity provider' }).click();
    await helpers.waitForPath(/^\/settings\/identity-providers\/\d+\/edit$/);
    expect(await page.locator('main').innerText()).toContain(`${base}/sso/uni/saml/acs`);
    await page.screenshot({ path: join(ARTIFACTS, 'sso-saml-provider-saved.png'), fullPage: true });

    const file = join(work, 'saml-users.xlsx');
    writeFileSync(file, await workbook([{ Id: 'u-2002', UserName: 'ursula', FirstName: 'Ursula', LastName: 'Example', Email: 'ursula@uni.example', Provider: 'uni', Profile: 'Administrator' }]));
    await page.goto(`${base}/imports`);
    await page.getByLabel('Excel workbook or CSV file').setInputFiles(file);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await helpers.waitForPath(/^\/imports\/\d+$/);
    const jobPath = new URL(page.url()).pathname;
    for (let i = 0; (await page.locator('#import-result').count()) === 0; i++) {
      if (i > 120) throw new Error(`The import did not finish: ${await page.locator('main').innerText()}`);
      await page.waitForTimeout(500);
      await page.goto(`${base}${jobPath}`);
    }
    expect(await page.locator('#import-result').innerText()).toBe('Imported 1 user.');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await helpers.waitForPath('/login');

    await page.getByRole('link', { name: 'Sign in with University login' }).click();
    await page.waitForURL((url) => url.origin === idp!.url);
    await page.getByLabel('Login').fill('ursula');
    await page.getByLabel('Password').fill('Uni-pass-1');
    await page.screenshot({ path: join(ARTIFACTS, 'sso-saml-idp-sign-in.png'), fullPage: true });
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await helpers.waitForPath('/');
    expect(new URL(page.url()).origin).toBe(base);
    expect(await helpers.text('h1')).toBe('Startboard');
    await page.screenshot({ path: join(ARTIFACTS, 'sso-saml-startboard.png'), fullPage: true });
    const [audit] = await t!.sql<{ actor_name: string; detail: string }>("select actor_name, detail from audit_events where action = 'login.success' order by id desc limit 1");
    expect(audit).toEqual({ actor_name: 'ursula', detail: 'single sign-on with uni' });
  });
});
