import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { ARTIFACTS, Browser, openBrowser, pageHelpers } from '../support/browser';
import { workbook } from '../support/imports-files';
import { startIdp, TestIdp } from '../support/oidc-idp';
import { freePort } from '../instances/instance';

jest.setTimeout(180_000);

/**
 * Issue #16 "Done when", in Debian's Chromium with JavaScript off: the Administrator configures
 * an OpenID Connect provider through the pages and imports a `Provider = corp` user; that user
 * clicks "Sign in with Corp", signs in on the provider's page and lands on the startboard.
 * Only locators, `fill`, `click` and `setInputFiles`; nothing runs inside the page.
 */
describe('single sign-on in a browser (JavaScript off)', () => {
  let t: TestApp | undefined;
  let idp: TestIdp | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let base: string;
  let helpers: ReturnType<typeof pageHelpers>;
  const work = mkdtempSync(join(tmpdir(), 'tessera-sso-browser-'));

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    // The provider must know Tessera's redirect URI before it starts: pick the port first.
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    idp = await startIdp({
      clients: [{ client_id: 'tessera', client_secret: 'corp-client-secret', redirect_uris: [`${base}/sso/corp/callback`], post_logout_redirect_uris: [`${base}/login?signedOut=1`] }],
      accounts: [{ sub: 'e-1001', password: 'Corp-pass-1', claims: { email: 'erin@corp.example', given_name: 'Erin', family_name: 'Example' } }],
    });
    t = await createTestApp({ env: { PUBLIC_URL: base } });
    await t.app.listen(port, '127.0.0.1');
    browser = await openBrowser();
    page = browser.page;
    helpers = pageHelpers(page);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await idp?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('configures the provider, imports its user, who signs in with it and lands on the startboard', async () => {
    await page.goto(`${base}/login`);
    await helpers.signIn('admin', ADMIN_PASSWORD);
    await helpers.waitForPath('/');

    // Settings → Authentication → Identity providers → Add → OpenID Connect.
    await page.goto(`${base}/settings/authentication`);
    await page.getByRole('link', { name: 'Identity providers' }).last().click();
    await helpers.waitForPath('/settings/identity-providers');
    await page.getByRole('link', { name: 'Add an identity provider' }).click();
    await page.getByRole('link', { name: 'OpenID Connect' }).click();
    await helpers.field('Provider key').fill('corp');
    await helpers.field('Button label').fill('Corp');
    await helpers.field('Issuer URL').fill(idp!.issuer);
    await helpers.field('Client id').fill('tessera');
    await helpers.field('Client secret').fill('corp-client-secret');
    await page.screenshot({ path: join(ARTIFACTS, 'sso-provider-form.png'), fullPage: true });
    await page.getByRole('button', { name: 'Add identity provider' }).click();
    await helpers.waitForPath(/^\/settings\/identity-providers\/\d+\/edit$/);
    expect(await page.getByRole('status').first().innerText()).toContain('Identity provider Corp added.');
    // The secret is never shown again.
    expect(await page.content()).not.toContain('corp-client-secret');

    // Import a user of that provider: Provider corp, Id = the provider's subject, no password.
    const file = join(work, 'sso-users.xlsx');
    require('node:fs').writeFileSync(
      file,
      await workbook([{ Id: 'e-1001', UserName: 'erin', FirstName: 'Erin', LastName: 'Example', Email: 'erin@corp.example', Provider: 'corp', Profile: 'Administrator' }]),
    );
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

    // The user: "Sign in with Corp", the provider's own sign-in page, back to Tessera's startboard.
    await page.screenshot({ path: join(ARTIFACTS, 'sso-login-page.png'), fullPage: true });
    await page.getByRole('link', { name: 'Sign in with Corp' }).click();
    await page.waitForURL((url) => url.origin === new URL(idp!.issuer).origin);
    await page.getByLabel('Username').fill('e-1001');
    await page.getByLabel('Password').fill('Corp-pass-1');
    await page.screenshot({ path: join(ARTIFACTS, 'sso-idp-sign-in.png'), fullPage: true });
    await page.getByRole('button', { name: 'Sign in at the IdP' }).click();
    await helpers.waitForPath('/');
    expect(new URL(page.url()).origin).toBe(base);
    expect(await helpers.text('h1')).toBe('Startboard');
    await page.screenshot({ path: join(ARTIFACTS, 'sso-startboard.png'), fullPage: true });
    const [audit] = await t!.sql<{ action: string; actor_name: string }>("select action, actor_name from audit_events where action = 'login.success' order by id desc limit 1");
    expect(audit).toEqual({ action: 'login.success', actor_name: 'erin' });
  });
});
