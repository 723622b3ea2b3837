import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { ARTIFACTS, Browser, openBrowser, pageHelpers } from '../support/browser';
import { workbook } from '../support/imports-files';
import { startIdp, TestIdp } from '../support/oidc-idp';
import { SamlIdp } from '../support/saml-idp';
import { freePort } from '../instances/instance';

jest.setTimeout(180_000);

/**
 * Issue #16 "Done when", in Debian's Chromium with JavaScript off: the Administrator configures
 * an OpenID Connect provider (and a SAML 2.0 one) through the pages and imports a
 * `Provider = <key>` user; that user clicks "Sign in with …", signs in on the provider's page
 * (for SAML, presses its "Continue", the HTTP-POST binding without JavaScript) and lands on the
 * startboard. The SAML user then signs out of Tessera and, with "Also sign out of …", of the IdP
 * (single logout, HTTP-Redirect both ways). Only locators, `fill`, `click` and `setInputFiles`;
 * nothing runs inside the page.
 */
describe('single sign-on in a browser (JavaScript off)', () => {
  let t: TestApp | undefined;
  let idp: TestIdp | undefined;
  let samlIdp: SamlIdp | undefined;
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
    samlIdp = await SamlIdp.start();
    samlIdp.addUser({ login: 'ursula', password: 'Uni-pass-1', nameId: 'u-2002', attributes: { email: 'ursula@uni.example' } });
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
    await samlIdp?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** The Administrator signs in and opens Settings → Authentication → Identity providers → Add → `kind`. */
  async function addProviderForm(kind: string): Promise<void> {
    await page.goto(`${base}/login`);
    await helpers.signIn('admin', ADMIN_PASSWORD);
    await helpers.waitForPath('/');
    await page.goto(`${base}/settings/authentication`);
    await page.getByRole('link', { name: 'Identity providers' }).last().click();
    await helpers.waitForPath('/settings/identity-providers');
    await page.getByRole('link', { name: 'Add an identity provider' }).click();
    await page.getByRole('link', { name: kind }).click();
  }

  /** Imports one user (no password) through the import page, then signs the Administrator out. */
  async function importUser(row: Record<string, string>): Promise<void> {
    const file = join(work, `${row.UserName}.xlsx`);
    writeFileSync(file, await workbook([row]));
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
  }

  /** The user landed on Tessera's startboard, and the sign-in is in the audit log. */
  async function onStartboard(username: string, screenshot: string): Promise<void> {
    await helpers.waitForPath('/');
    expect(new URL(page.url()).origin).toBe(base);
    expect(await helpers.text('h1')).toBe('Startboard');
    await page.screenshot({ path: join(ARTIFACTS, screenshot), fullPage: true });
    const [audit] = await t!.sql<{ action: string; actor_name: string }>("select action, actor_name from audit_events where action = 'login.success' order by id desc limit 1");
    expect(audit).toEqual({ action: 'login.success', actor_name: username });
  }

  it('configures the provider, imports its user, who signs in with it and lands on the startboard', async () => {
    await addProviderForm('OpenID Connect');
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
    await importUser({ Id: 'e-1001', UserName: 'erin', FirstName: 'Erin', LastName: 'Example', Email: 'erin@corp.example', Provider: 'corp', Profile: 'Administrator' });

    // The user: "Sign in with Corp", the provider's own sign-in page, back to Tessera's startboard.
    await page.screenshot({ path: join(ARTIFACTS, 'sso-login-page.png'), fullPage: true });
    await page.getByRole('link', { name: 'Sign in with Corp' }).click();
    await page.waitForURL((url) => url.origin === new URL(idp!.issuer).origin);
    await page.getByLabel('Username').fill('e-1001');
    await page.getByLabel('Password').fill('Corp-pass-1');
    await page.screenshot({ path: join(ARTIFACTS, 'sso-idp-sign-in.png'), fullPage: true });
    await page.getByRole('button', { name: 'Sign in at the IdP' }).click();
    await onStartboard('erin', 'sso-startboard.png');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForLoadState('load');
  });

  it('SAML 2.0: configured from the IdP metadata; its user signs in through the IdP and lands on the startboard', async () => {
    await addProviderForm('SAML 2.0');
    await helpers.field('Provider key').fill('uni');
    await helpers.field('Button label').fill('University login');
    await page.getByLabel('Identity provider metadata (XML)').fill(samlIdp!.metadata);
    await page.screenshot({ path: join(ARTIFACTS, 'sso-saml-provider-form.png'), fullPage: true });
    await page.getByRole('button', { name: 'Add identity provider' }).click();
    await helpers.waitForPath(/^\/settings\/identity-providers\/\d+\/edit$/);
    // What the IdP's administrator needs, for copying.
    expect(await page.locator('main').innerText()).toContain(`${base}/sso/uni/saml/acs`);
    expect(await page.locator('main').innerText()).toContain(`${base}/sso/uni/saml/slo`);
    await page.screenshot({ path: join(ARTIFACTS, 'sso-saml-provider-saved.png'), fullPage: true });
    // The IdP's administrator imports Tessera's SP metadata (logout endpoint and signing certificate).
    samlIdp!.registerServiceProvider(await (await fetch(`${base}/sso/uni/saml/metadata`)).text());
    await importUser({ Id: 'u-2002', UserName: 'ursula', FirstName: 'Ursula', LastName: 'Example', Email: 'ursula@uni.example', Provider: 'uni', Profile: 'Administrator' });

    await page.getByRole('link', { name: 'Sign in with University login' }).click();
    await page.waitForURL((url) => url.origin === samlIdp!.url);
    await page.getByLabel('Login').fill('ursula');
    await page.getByLabel('Password').fill('Uni-pass-1');
    await page.screenshot({ path: join(ARTIFACTS, 'sso-saml-idp-sign-in.png'), fullPage: true });
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await onStartboard('ursula', 'sso-saml-startboard.png');

    // Single logout: sign out of Tessera, then "Also sign out of University login" goes to the
    // IdP with a signed LogoutRequest and comes back with its signed LogoutResponse.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await helpers.waitForPath('/sso/signed-out');
    expect(await helpers.text('h1')).toBe('You have signed out of Tessera');
    await page.getByRole('link', { name: 'Also sign out of University login' }).click();
    await helpers.waitForPath('/sso/uni/saml/slo');
    expect(new URL(page.url()).origin).toBe(base);
    expect(await page.getByRole('status').innerText()).toContain('University login ended its session too');
    await page.screenshot({ path: join(ARTIFACTS, 'sso-saml-signed-out.png'), fullPage: true });
    expect(samlIdp!.logoutRequests.at(-1)).toMatchObject({ nameId: 'u-2002' });
    expect(samlIdp!.sessions.filter((s) => s.login === 'ursula')).toEqual([]);
    const [audit] = await t!.sql<{ action: string; actor_name: string }>("select action, actor_name from audit_events order by id desc limit 1");
    expect(audit).toEqual({ action: 'logout.provider', actor_name: 'ursula' });
  });
});
