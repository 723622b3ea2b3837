import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BrowserContext, chromium, Page } from 'playwright-core';
import type { TestApp } from './app';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = resolve(__dirname, '..', 'artifacts');
const TIMEOUT = 30_000;

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/**
 * Debian's Chromium with JavaScript switched off, headless, with a fresh profile folder: the way
 * every browser test of Tessera runs. Fails with instructions when Chromium is not installed.
 */
export async function openBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: the browser tests need Debian's Chromium. ` +
        'Install it with `apt-get update && apt-get install -y chromium` and run them again.',
    );
  }
  const profileDir = mkdtempSync(join(tmpdir(), 'tessera-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    javaScriptEnabled: false,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  context.setDefaultTimeout(TIMEOUT);
  context.setDefaultNavigationTimeout(TIMEOUT);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

/** Small page helpers shared by the browser tests (locators only: nothing runs in the page). */
export function pageHelpers(page: Page) {
  return {
    /** Fills and submits the sign-in form on the current page, then waits for the page the server answers with. */
    async signIn(username: string, password: string): Promise<void> {
      await page.getByLabel(/^Username\b/).fill(username);
      await page.getByLabel(/^Password\b/).fill(password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForLoadState('load');
    },
    /** The input of a form field by its label (the label may end in a required-marker `*`). */
    field: (label: string) => page.getByLabel(new RegExp(`^${label}\\b`)),
    /** The text of the first element matching `selector`. */
    text: (selector: string) => page.locator(selector).first().innerText(),
    /** Waits until the browser shows `pathname`; on timeout says where it is and what it shows. */
    async waitForPath(pathname: string | RegExp): Promise<void> {
      try {
        await page.waitForURL((url) => (typeof pathname === 'string' ? url.pathname === pathname : pathname.test(url.pathname)));
      } catch (error) {
        const shown = await page.locator('body').innerText({ timeout: 1_000 }).catch(() => '(no page)');
        throw new Error(`Expected the browser at ${String(pathname)}, but it is at ${page.url()} showing:\n${shown}\n\n${String(error)}`);
      }
    },
  };
}

export interface SignedInBrowser extends Browser {
  baseUrl: string;
  helpers: ReturnType<typeof pageHelpers>;
}

/**
 * The start of most browser tests: the app listening, Chromium open on it (the artifacts folder
 * ready for screenshots) and `username` signed in through the sign-in page, on the home page.
 */
export async function openSignedIn(t: TestApp, username: string, password: string): Promise<SignedInBrowser> {
  const baseUrl = await t.listen();
  const browser = await openBrowser();
  const helpers = pageHelpers(browser.page);
  mkdirSync(ARTIFACTS, { recursive: true });
  await browser.page.goto(`${baseUrl}/login`);
  await helpers.signIn(username, password);
  await helpers.waitForPath('/');
  return { ...browser, baseUrl, helpers };
}
