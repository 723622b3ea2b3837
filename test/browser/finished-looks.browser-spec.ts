import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { createTestApp, TestApp } from '../support/app';
import { ARTIFACTS, Browser, openBrowser, pageHelpers } from '../support/browser';
import { createOrganization, createUser, globalOrganization, OrgRow } from '../support/factories';
import { createLicence, setLicence } from '../support/users-factories';

/**
 * The pages of the walk-throughs look finished at the default 1280 × 720 window (JavaScript off):
 * the users list fits beside its tree panel, the user page's actions are one kind of button,
 * labels line up with their controls. Boxes and computed styles are read from Chromium; the
 * screenshots land in test/artifacts/finished/.
 */
jest.setTimeout(120_000);

const SHOTS = join(ARTIFACTS, 'finished');

describe('finished looks at 1280 px (JavaScript off)', () => {
  let t: TestApp | undefined;
  let baseUrl: string;
  let browser: Browser | undefined;
  let page: Page;
  let A: OrgRow;
  let maria: { id: number };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    t = await createTestApp();
    // The data of the WPM walk-through: an administrator who belongs to two organizations, users
    // with e-mail addresses, a licence, a last login and password send dates.
    A = await createOrganization(t, 'Facilities');
    await createUser(t, {
      username: 'boss',
      fullName: 'Bea Boss',
      email: 'boss@example.test',
      roles: ['administrator'],
      profile: 'administrator',
      memberships: [{ org: await globalOrganization(t) }, { org: A }],
    });
    const licence = await createLicence(t, 'Service desk', 10);
    maria = await createUser(t, { username: 'mjansen', fullName: 'Maria Jansen', email: 'maria.jansen@example.test', memberships: [{ org: A }] });
    await setLicence(t, maria.id, licence);
    for (const name of ['petra', 'quinn']) await createUser(t, { username: name, password: null, email: `${name}@example.test`, memberships: [{ org: A }] });
    await t.sql(`update users set last_login_at = now() - interval '1 day' where username in ('boss', 'mjansen')`);
    await t.sql(`update users set password_send_at = now() + interval '1 day', password_send_status = 'pending' where username in ('petra', 'quinn')`);
    baseUrl = await t.listen();
    browser = await openBrowser();
    page = browser.page;
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.goto(`${baseUrl}/login`);
    await pageHelpers(page).signIn('boss', 'Secret-pass-1');
    // Two memberships: the organization chooser comes first.
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForLoadState('load');
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
  const box = async (locator: Locator) => {
    const b = await locator.boundingBox();
    if (!b) throw new Error('not rendered');
    return b;
  };
  const middle = (b: { y: number; height: number }) => b.y + b.height / 2;
  const lineHeight = async (locator: Locator) => parseFloat(await style(locator, 'line-height'));

  // ----- item: users list -----
  it('shows the users list up to its last column (password send date and status) at 1280 px, one line a row', async () => {
    await page.goto(`${baseUrl}/users`);
    await shot('users-list');
    const row = page.locator('table.data tbody tr', { has: page.getByRole('link', { name: 'petra', exact: true }) });
    const last = row.locator('td').last();
    expect(await last.innerText()).toContain('pending');
    // The cells leave the zone out: the list names it once, above the table.
    expect(await page.locator('#list-time-zone').innerText()).toBe('Dates in UTC time.');
    const cell = await box(last);
    const scroller = await box(page.locator('.table-scroll'));
    // The whole cell lies inside the window and inside the list's scroll box: no sideways scrolling.
    expect(cell.x + cell.width).toBeLessThanOrEqual(1280);
    expect(cell.x + cell.width).toBeLessThanOrEqual(scroller.x + scroller.width + 0.5);
    // Dates do not wrap: the cell of a row is one line of date and status high (plus padding).
    const time = await box(last.locator('time'));
    expect(time.height).toBeLessThan(1.5 * (await lineHeight(last.locator('time'))));
    const lastLogin = await box(page.locator('table.data tbody tr', { has: page.getByRole('link', { name: 'mjansen', exact: true }) }).locator('td time').first());
    expect(lastLogin.height).toBeLessThan(1.5 * (await lineHeight(last.locator('time'))));
  });
  // ----- end: users list -----
  // ----- item: user page -----
  it("gives the user page's actions one button style (Delete its own) and lines up the Licence label with its pull-down", async () => {
    // Locked, so that Unlock is among the actions too.
    await t!.sql(`update users set locked_until = now() + interval '1 hour' where id = $1`, [maria.id]);
    await page.goto(`${baseUrl}/users/${maria.id}`);
    await shot('user-page');
    const names = ['Edit', 'Change username/password', 'Disable', 'Unlock', 'End sessions', 'Save licence'];
    const looks = async (name: string) => {
      const button = page.locator('main').getByRole(name === 'Edit' || name === 'Change username/password' ? 'link' : 'button', { name, exact: true });
      const b = await box(button);
      return {
        background: await style(button, 'background-color'),
        border: await style(button, 'border-top-color'),
        padding: await style(button, 'padding-left'),
        fontSize: await style(button, 'font-size'),
        height: Math.round(b.height),
      };
    };
    const edit = await looks('Edit');
    for (const name of names) expect([name, await looks(name)]).toEqual([name, edit]);
    const remove = page.locator('main').getByRole('link', { name: 'Delete', exact: true });
    expect(await style(remove, 'background-color')).not.toBe(edit.background);
    const label = await box(page.locator('label[for="field-licenceId"]'));
    const select = await box(page.getByLabel('Licence', { exact: true }));
    expect(Math.abs(middle(label) - middle(select))).toBeLessThanOrEqual(1);
  });
  // ----- end: user page -----

  // ----- item: bulk form -----
  it('keeps the bulk form\'s "Password send date" label on one line, names the time zone, and speaks of the buttons below', async () => {
    await page.goto(`${baseUrl}/users`);
    const label = page.locator('label[for="field-sendAt"]');
    await label.scrollIntoViewIfNeeded();
    await shot('bulk-form');
    expect((await box(label)).height).toBeLessThan(1.5 * (await lineHeight(label)));
    const field = await box(page.getByLabel('Password send date'));
    expect(Math.abs(middle(await box(label)) - middle(field))).toBeLessThanOrEqual(2);
    expect(await page.locator('#hint-sendAt').innerText()).toContain('UTC');
    expect(await page.getByLabel('Password send date').getAttribute('aria-describedby')).toContain('hint-sendAt');
    const matching = await page.locator('.bulk-actions').innerText();
    expect(matching).toContain('whichever button you press acts on every matching user');
    expect(matching).not.toContain('the button below');
  });
  // ----- end: bulk form -----

  // ----- item: credentials page -----
  it('styles the Password send date of Change username/password like the other detail lists', async () => {
    await page.goto(`${baseUrl}/users/${maria.id}/credentials`);
    await shot('credentials');
    const value = page.locator('main dd').first();
    expect(await style(value, 'margin-left')).toBe('0px');
    expect(await style(page.locator('main dl').first(), 'display')).toBe('grid');
  });
  // ----- end: credentials page -----

  // ----- item: picker and header -----
  it('puts the Search button of the member picker next to its box, and lines up the header switcher with its label', async () => {
    await page.goto(`${baseUrl}/organizations/${A.id}/members/add`);
    await shot('member-picker');
    const search = await box(page.getByLabel(/^Search users/));
    const button = await box(page.locator('main').getByRole('button', { name: 'Search', exact: true }));
    expect(button.x - (search.x + search.width)).toBeLessThanOrEqual(24);
    const label = await box(page.locator('label[for="switch-organization"]'));
    const select = await box(page.getByLabel('Switch organization'));
    expect(Math.abs(middle(label) - middle(select))).toBeLessThanOrEqual(1);
  });
  // ----- end: picker and header -----
});
