import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { formatInZone } from '../../src/credentials/credential-mail';
import { createTestApp, TestApp } from '../support/app';
import { ARTIFACTS, Browser, openBrowser, openSignedIn, pageHelpers } from '../support/browser';
import { credentialParts, credentialsIn } from '../support/credentials-factories';
import { createOrganization, createUser, globalOrganization, OrgRow } from '../support/factories';
import { SmtpSink } from '../support/smtp-sink';
import { createLicence } from '../support/users-factories';

/**
 * The WPM source document ("Manually creating users"), step by step, as an Administrator drives
 * it in Debian's Chromium with JavaScript off: a person contact → Enable Access → the new user's
 * page → a licence picked in the "User licences" pull-down → Change username/password → "Email
 * new password to user" and "Email new password to myself" through a real SMTP server → the
 * user signs in with the mailed password in a browser of their own and must change it → on the
 * users list, "Set password send date for selected users", the date in the last column → the
 * mail goes out when that time has come (the scheduler's clock is moved forward, no waiting).
 * Only labels, roles and their names; nothing runs inside the page.
 */

jest.setTimeout(180_000);

const HOUR = 60 * 60_000;

describe('WPM walk-through: manually creating users (JavaScript off)', () => {
  let sink: SmtpSink;
  let t: TestApp | undefined;
  let parts: ReturnType<typeof credentialParts>;
  let baseUrl: string;
  let browser: Browser | undefined;
  let page: Page;
  let helpers: ReturnType<typeof pageHelpers>;
  let A: OrgRow;
  let userPath: string;
  let mailedPassword: string;

  const shot = (name: string, on: Page = page) => on.screenshot({ path: join(ARTIFACTS, `wpm-${name}.png`), fullPage: true });
  /** Picks the option of a pull-down whose visible text ends with `name` (options may be indented with "— " or carry a note). */
  async function choose(select: Locator, name: string): Promise<void> {
    const text = (await select.locator('option', { hasText: name }).first().innerText()).trim();
    await select.selectOption({ label: text });
  }
  const rowOf = (username: string) => page.locator('table.data tbody tr', { has: page.getByRole('link', { name: username, exact: true }) });

  beforeAll(async () => {
    sink = await SmtpSink.start();
    // The scheduler's every-minute tick is off: the test moves the clock and runs the dispatcher.
    t = await createTestApp({ env: { SMTP_URL: sink.url, SCHEDULER: 'off' } });
    parts = credentialParts(t);
    A = await createOrganization(t, 'Facilities');
    await createUser(t, {
      username: 'boss',
      fullName: 'Bea Boss',
      email: 'boss@example.test',
      roles: ['administrator'],
      profile: 'administrator',
      memberships: [{ org: await globalOrganization(t) }],
    });
    await createLicence(t, 'Service desk', 10);
    for (const name of ['petra', 'quinn']) await createUser(t, { username: name, password: null, email: `${name}@example.test`, memberships: [{ org: A }] });
    ({ baseUrl, page, helpers } = browser = await openSignedIn(t, 'boss', 'Secret-pass-1'));
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await sink?.stop();
  });

  it('creates a person contact and enables access for it', async () => {
    await page.getByRole('link', { name: 'Contacts' }).first().click();
    await helpers.waitForPath('/contacts');
    await page.getByRole('link', { name: 'New person' }).click();
    await helpers.waitForPath('/contacts/new');
    await helpers.field('First name').fill('Maria');
    await helpers.field('Last name').fill('Jansen');
    await helpers.field('E-mail').fill('maria.jansen@example.test');
    await choose(helpers.field('Home organization'), 'Facilities');
    await shot('01-contact-form');
    await page.getByRole('button', { name: 'Save' }).click();

    await helpers.waitForPath(/^\/contacts\/\d+$/);
    expect(await helpers.text('h1')).toBe('Maria Jansen');
    await shot('02-contact');
    await page.getByRole('button', { name: 'Enable Access' }).click();

    await helpers.waitForPath(/^\/users\/\d+$/);
    userPath = new URL(page.url()).pathname;
    expect(await helpers.text('h1')).toBe('User mjansen');
    expect(await page.locator('.flash-success').innerText()).toContain('Access enabled: username mjansen.');
    // The defaults of Settings → Interface: role Member, profile Self-service, the built-in licence.
    expect(await page.getByRole('region', { name: 'Roles' }).innerText()).toContain('Member');
    expect(await page.locator('dl.details').innerText()).toContain('Self-service');
    await shot('03-user-created');
  });

  it('picks a licence in the "User licences" pull-down', async () => {
    // The option names the licence and its seat usage, e.g. "Service desk — 0 of 10 seats used".
    await choose(page.getByLabel('Licence', { exact: true }), 'Service desk');
    await page.getByRole('button', { name: 'Save licence' }).click();
    await helpers.waitForPath(userPath);
    const selected = page.getByLabel('Licence', { exact: true }).locator('option:checked');
    expect(await selected.innerText()).toContain('Service desk');
    await shot('04-licence');
  });

  it('changes the username and e-mails a new password to the user and to the administrator', async () => {
    await page.getByRole('link', { name: 'Change username/password' }).click();
    await helpers.waitForPath(`${userPath}/credentials`);
    expect(await helpers.text('h1')).toBe('Change username/password');
    await shot('05-credentials');
    await helpers.field('Username').fill('maria.jansen');
    await page.getByRole('button', { name: 'Change username' }).click();
    await helpers.waitForPath(`${userPath}/credentials`);
    expect(await page.locator('main').innerText()).toContain('signs in as maria.jansen');

    await page.getByRole('button', { name: 'Email new password to user' }).click();
    await helpers.waitForPath(`${userPath}/credentials`);
    await parts.dispatcher.whenIdle();
    await sink.waitFor(1);
    await shot('06-emailed-to-user');
    const toUser = sink.to('maria.jansen@example.test');
    expect(toUser).toHaveLength(1);
    expect(credentialsIn(toUser[0]).username).toBe('maria.jansen');
    expect(toUser[0].text).toContain(`/login`);

    await page.getByRole('button', { name: 'Email new password to myself' }).click();
    await helpers.waitForPath(`${userPath}/credentials`);
    await parts.dispatcher.whenIdle();
    await sink.waitFor(2);
    const toMe = sink.to('boss@example.test');
    expect(toMe).toHaveLength(1);
    expect(toMe[0].text).toContain('This copy was sent to boss');
    mailedPassword = credentialsIn(toMe[0]).password;
    // The page lists both messages in a table of its own, named by its heading.
    await page.reload();
    const recent = page.getByRole('table', { name: 'Recent credential e-mails' });
    expect(await recent.locator('tbody tr').count()).toBe(2);
    expect(await recent.locator('tbody').innerText()).toMatch(/boss@example\.test\s+sent/);
    expect(credentialsIn(toMe[0]).username).toBe('maria.jansen');
    // The second mail replaced the first password.
    expect(mailedPassword).not.toBe(credentialsIn(toUser[0]).password);
    await shot('07-emailed-to-myself');
  });

  it('the user signs in with the mailed password in a browser of their own and must change it', async () => {
    const own = await openBrowser();
    try {
      const userPage = own.page;
      const user = pageHelpers(userPage);
      await userPage.goto(`${baseUrl}/login`);
      await user.signIn('maria.jansen', mailedPassword);
      await user.waitForPath('/account');
      expect(await userPage.getByRole('alert').innerText()).toContain('You must choose a new password before you continue.');
      await shot('08-forced-change', userPage);
      await user.field('Current password').fill(mailedPassword);
      await user.field('New password').fill('Maria-pass-2026');
      await user.field('Repeat the new password').fill('Maria-pass-2026');
      await userPage.getByRole('button', { name: 'Change password' }).click();
      await userPage.waitForLoadState('load');
      expect(await userPage.locator('main').innerText()).not.toContain('You must choose a new password');
      await shot('09-password-changed', userPage);
      // Now the account leads on: the start page no longer sends her back to /account.
      await userPage.goto(`${baseUrl}/account`);
      expect(await userPage.getByRole('alert').count()).toBe(0);
    } finally {
      await own.close();
    }
  });

  it('sets a password send date for selected users, shows it in the last column, and mails them at that time', async () => {
    const [{ time_zone: zone }] = await t!.sql<{ time_zone: string }>('select time_zone from client_settings limit 1');
    const due = new Date(parts.clock.now().getTime() + 26 * HOUR);
    due.setUTCSeconds(0, 0);
    const typed = formatInZone(due, zone).replace(' ', 'T');

    await page.getByRole('link', { name: 'Users', exact: true }).first().click();
    await helpers.waitForPath('/users');
    await page.getByLabel('Select petra', { exact: true }).check();
    await page.getByLabel('Select quinn', { exact: true }).check();
    await page.getByLabel('Password send date').fill(typed);
    await page.getByRole('button', { name: 'Set password send date for selected users' }).click();
    await helpers.waitForPath('/users');
    expect(await page.locator('.flash-success').innerText()).toContain('Password send date set to');
    await shot('10-send-date');
    for (const name of ['petra', 'quinn']) {
      const last = rowOf(name).locator('td').last();
      expect(await last.innerText()).toContain(String(due.getUTCFullYear()));
      expect(await last.innerText()).toContain('pending');
      expect(await last.locator('time').getAttribute('datetime')).toBe(due.toISOString());
    }

    // Not due yet: nothing goes out.
    const before = sink.messages.length;
    await parts.dispatcher.dispatchDue();
    expect(sink.messages).toHaveLength(before);

    // At the date, both mails go out once.
    parts.clock.advance(26 * HOUR + 60_000);
    await parts.dispatcher.dispatchDue();
    await sink.waitFor(before + 2);
    expect(sink.to('petra@example.test')).toHaveLength(1);
    expect(sink.to('quinn@example.test')).toHaveLength(1);
    expect(credentialsIn(sink.to('petra@example.test')[0]).username).toBe('petra');

    await page.reload();
    for (const name of ['petra', 'quinn']) expect(await rowOf(name).locator('td').last().innerText()).toContain('sent');
    await shot('11-sent');
  });
});
