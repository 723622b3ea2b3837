import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { createTestApp, TestApp } from '../support/app';
import { ARTIFACTS, Browser, openBrowser, pageHelpers } from '../support/browser';
import { OrgRow } from '../support/factories';
import { buildWorld } from '../support/world';

/**
 * An organization administrator in a real browser (Debian's Chromium) with JavaScript switched
 * off: signs in, chooses A1 in the organization chooser, sees only the A1 subtree in the
 * organization tree, and adds a member through the picker (search, tick, submit). Only locators,
 * `fill`, `check` and `click` are used; nothing runs inside the page.
 */

jest.setTimeout(120_000);

describe('organization administrator in a browser (JavaScript off)', () => {
  let t: TestApp | undefined;
  let baseUrl: string;
  let browser: Browser | undefined;
  let page: Page;
  let field: ReturnType<typeof pageHelpers>['field'];
  let text: ReturnType<typeof pageHelpers>['text'];
  let waitForPath: ReturnType<typeof pageHelpers>['waitForPath'];
  let signIn: ReturnType<typeof pageHelpers>['signIn'];
  let A1: OrgRow;

  beforeAll(async () => {
    t = await createTestApp();
    ({ A1 } = (
      await buildWorld(t, {
        // Administrator of A1, also a plain member of B: the chooser appears after sign-in.
        admins: { A1: { username: 'orgadmin', fullName: 'Olga Admin', roles: ['user_manager'], profile: 'administrator', memberships: ['B'] } },
        users: {
          candice: { password: null, fullName: 'Candice Example', email: 'candice@example.test', memberships: ['A11'] },
          cando: { password: null, fullName: 'Cando Other', memberships: ['A11'] },
          someone: { password: null, fullName: 'Some One', memberships: ['A'] },
        },
      })
    ).org);

    baseUrl = await t.listen();
    browser = await openBrowser();
    page = browser.page;
    ({ field, text, waitForPath, signIn } = pageHelpers(page));
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });


  it('signs in to A1, sees only the A1 subtree, and adds a member through the picker', async () => {
    expect((await page.goto(`${baseUrl}/login`))?.status()).toBe(200);
    await signIn('orgadmin', 'Secret-pass-1');

    // Two memberships: the chooser asks which organization to work in.
    await waitForPath('/session/organization');
    expect(await text('h1')).toBe('Choose an organization');
    await page.getByLabel('A1 (organization administrator)').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await waitForPath('/');
    expect(await text('header .current-org')).toContain('A1');
    expect(await text('.flash-info')).toContain('You are now working in A1.');

    // The organization tree shows A1 and A11 only.
    await page.locator('header nav').getByRole('link', { name: 'Organizations', exact: true }).click();
    await waitForPath('/organizations');
    expect(await text('h1')).toBe('Organizations');
    expect((await page.locator('ul.tree a').allInnerTexts()).map((s) => s.trim())).toEqual(['A1', 'A11']);
    const mainText = await text('main');
    for (const outside of ['Global', 'B']) expect(mainText).not.toMatch(new RegExp(`\\b${outside}\\b`));
    expect(await page.locator('ul.tree').getByRole('link', { name: 'A', exact: true }).count()).toBe(0);

    // Each organization shows its member count (kept by the membership triggers).
    const a1Count = async () => (await page.locator('ul.tree a:text-is("A1") + small').innerText()).trim();
    const countBefore = await a1Count();
    expect(countBefore).toMatch(/^· \d+ members?$/);

    // A1 → Add members → search → tick → add.
    await page.locator('ul.tree').getByRole('link', { name: 'A1', exact: true }).click();
    await waitForPath(`/organizations/${A1.id}`);
    expect(await text('h1')).toBe('A1');
    await page.getByRole('link', { name: 'Add members' }).click();
    await waitForPath(`/organizations/${A1.id}/members/add`);
    expect(await text('h1')).toBe('Add members to A1');

    await page.getByLabel('Search users (name, username or e-mail)').fill('cand');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL((url) => url.searchParams.get('q') === 'cand');
    const offered = (await page.locator('table.data tbody tr td:nth-child(2)').allInnerTexts()).map((s) => s.trim());
    expect(offered.sort()).toEqual(['candice', 'cando']);

    await page.getByLabel('Add candice').check();
    await page.getByRole('button', { name: 'Add selected users' }).click();

    await waitForPath(`/organizations/${A1.id}`);
    expect(await text('.flash-success')).toContain('Added 1 member: candice.');
    const members = (await page.locator('table.data tbody tr td:first-child').allInnerTexts()).map((s) => s.trim());
    expect(members).toContain('candice');
    expect(members).not.toContain('cando');
    expect(await text('#members')).toContain('Members');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'organization-admin.png'), fullPage: true });

    // Back in the tree, A1 counts one member more.
    await page.locator('header nav').getByRole('link', { name: 'Organizations', exact: true }).click();
    await waitForPath('/organizations');
    const before = Number(/\d+/.exec(countBefore)![0]);
    expect(await a1Count()).toBe(`· ${before + 1} members`);
    await page.screenshot({ path: join(ARTIFACTS, 'organization-tree-counts.png'), fullPage: true });

    expect(await t!.sql('select 1 from memberships m join users u on u.id = m.user_id where u.username = $1 and m.organization_id = $2', ['candice', A1.id])).toHaveLength(1);
  });
});
