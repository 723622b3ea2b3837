import { Logger } from '@nestjs/common';
import request from 'supertest';
import type { Response } from 'supertest';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createUser } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { Agent, csrfFrom, login, postForm } from '../support/http';
import { appWithAdmin } from '../support/sessions';

/**
 * Error pages, security headers, the health check and static files (SPEC §5: errors never show
 * stack traces, security headers, no inline script so the CSP can forbid it).
 */

/** An HTML page rendered in the layout, without any trace of an exception. */
function expectCleanPage(res: Response, status: number, heading: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^text\/html/);
  expect(res.text).toContain('<!DOCTYPE html>');
  expect(res.text).toContain('<main id="main"');
  expect(res.text).toContain('class="site-header"');
  expect(res.text).toContain(`<h1>${heading}</h1>`);
  expect(res.text).toContain(`Status ${status}`);
  expectNoStackTrace(res.text);
}

function expectNoStackTrace(text: string): void {
  expect(text).not.toMatch(/^\s*at\s.*:\d+:\d+\)?\s*$/m);
  expect(text).not.toMatch(/Error:/);
  expect(text).not.toMatch(/node_modules|\/src\/|\.ts:\d+/);
}

function setCookies(res: Response): string[] {
  const raw = res.headers['set-cookie'] as unknown;
  return Array.isArray(raw) ? (raw as string[]) : typeof raw === 'string' ? [raw] : [];
}

function sessionCookie(res: Response): string | undefined {
  return setCookies(res).find((c) => c.startsWith('tessera.sid='));
}

/** Attributes of a Set-Cookie header, lower-cased names (`httponly`, `samesite`, `secure`…). */
function cookieAttributes(cookie: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const part of cookie.split(';').slice(1)) {
    const [name, ...value] = part.trim().split('=');
    attributes.set(name.toLowerCase(), value.join('='));
  }
  return attributes;
}

/** The CSP directives of a response, by name. */
function csp(res: Response): Map<string, string[]> {
  const header = String(res.headers['content-security-policy'] ?? '');
  const directives = new Map<string, string[]>();
  for (const part of header.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) directives.set(name.toLowerCase(), values);
  }
  return directives;
}

/** Inline script, inline handlers, javascript: URLs and inline styles (the CSP forbids them all). */
function inlineCodeProblems(html: string): string[] {
  const problems: string[] = [];
  for (const match of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi)) {
    if (!/\bsrc\s*=/.test(match[1])) problems.push(`inline <script> block: ${match[0].slice(0, 80)}`);
    else if (match[2].trim() !== '') problems.push(`<script src> with inline content: ${match[0].slice(0, 80)}`);
  }
  for (const match of html.matchAll(/<[a-z][^>]*\son[a-z]+\s*=[^>]*>/gi)) problems.push(`event handler attribute: ${match[0].slice(0, 80)}`);
  for (const match of html.matchAll(/\b(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:/gi)) problems.push(`javascript: URL: ${match[0]}`);
  for (const match of html.matchAll(/<style\b[^>]*>/gi)) problems.push(`inline <style> block: ${match[0]}`);
  for (const match of html.matchAll(/<[a-z][^>]*\sstyle\s*=[^>]*>/gi)) problems.push(`style attribute: ${match[0].slice(0, 80)}`);
  return problems;
}

describe('error pages, security headers, health', () => {
  let t: TestApp;
  let admin: Agent;

  beforeAll(async () => ({ t, admin } = await appWithAdmin()));
  afterAll(() => t.close());

  describe('error pages', () => {
    it('answers an unknown path with the 404 page in the layout', async () => {
      const res = await request(t.http).get('/no/such/page');
      expectCleanPage(res, 404, 'Not found');
      expect(res.text).toContain('does not exist');
    });

    it('answers an unknown path with the 404 page when signed in, with the menu and header, and keeps the session', async () => {
      const res = await admin.get('/no/such/page?x=1');
      expectCleanPage(res, 404, 'Not found');
      expect(res.text).toContain('<a href="/users">Users</a>');
      expect(res.text).toMatch(/Signed in as <strong>[^<]*<\/strong> \(admin\)/);
      const post = await postForm(admin, '/no/such/page', {});
      expectCleanPage(post, 404, 'Not found');
      expect((await admin.get('/')).status).toBe(200);
    });

    it('answers an unknown path with the 404 page, not the sign-in page, when signed out', async () => {
      const res = await request(t.http).get('/users/1/no-such-action');
      expectCleanPage(res, 404, 'Not found');
      expect(res.text).not.toContain('Signed in as');
    });

    it('answers a missing static file with the 404 page and never serves files outside public/', async () => {
      expectCleanPage(await request(t.http).get('/public/css/missing.css'), 404, 'Not found');
      for (const path of ['/public/../package.json', '/public/%2e%2e/package.json', '/public/..%2fpackage.json', '/public/%2e%2e%2fsrc%2fmain.ts']) {
        const res = await request(t.http).get(path);
        expect(res.status).not.toBe(200);
        expect(res.text).not.toContain('"dependencies"');
        expect(res.text).not.toContain('bootstrap');
        expectNoStackTrace(res.text);
      }
    });

    it('answers a page the session may not use with the 403 page', async () => {
      await createUser(t, { username: 'selma' });
      const selma = await login(t.http, 'selma', 'Secret-pass-1');
      const res = await selma.get('/audit');
      expectCleanPage(res, 403, 'Not allowed');
      expect(res.text).toContain('You are not allowed to do this.');
      expect(res.text).toContain('Signed in as');
    });

    it('answers an unexpected failure with the plain 500 page and logs it', async () => {
      // No route fails on purpose; the database failing under a page is the realistic case.
      const logged = jest.spyOn(Logger.prototype, 'error');
      await t.sql('alter table audit_events rename to audit_events_away');
      try {
        const res = await admin.get('/audit');
        expectCleanPage(res, 500, 'Something went wrong');
        expect(res.text).toContain('Tessera could not complete the request.');
        // Nothing of the database error reaches the page.
        expect(res.text).not.toMatch(/audit_events|relation|select |does not exist/i);
        expect(logged).toHaveBeenCalledWith(expect.stringContaining('Unexpected error on GET /audit'), expect.stringContaining('audit_events'));
      } finally {
        await t.sql('alter table audit_events_away rename to audit_events');
        logged.mockRestore();
      }
      expect((await admin.get('/audit')).status).toBe(200);
    });

    it('answers a NUL character in a form or a query with the 400 page and changes nothing', async () => {
      // PostgreSQL text cannot hold NUL: without a check, the sign-in lookup failed with a 500.
      const before = await databaseFingerprint(t, { includeAudit: true });
      const agent = request.agent(t.http);
      const token = csrfFrom((await agent.get('/login')).text);
      const res = await agent.post('/login').type('form').send(`_csrf=${encodeURIComponent(token)}&username=ad%00min&password=whatever-1`);
      expectCleanPage(res, 400, 'Bad request');
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
      expectCleanPage(await admin.get('/audit?q=%00'), 400, 'Bad request');
      expectCleanPage(await request(t.http).get('/login?next=%2F%00'), 400, 'Bad request');
    });

    it('answers an oversized form with the 413 page and changes nothing', async () => {
      const before = await databaseFingerprint(t, { includeAudit: true });
      const agent = request.agent(t.http);
      const token = csrfFrom((await agent.get('/login')).text);
      const body = new URLSearchParams({ _csrf: token, username: 'admin', password: 'x'.repeat(1_100_000) }).toString();
      expect(body.length).toBeGreaterThan(1024 * 1024);
      const res = await agent.post('/login').type('form').send(body);
      expectCleanPage(res, 413, 'Too large');
      expect(res.text).toContain('larger than Tessera accepts');
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });
  });

  describe('security headers', () => {
    it('sends a strict CSP and the other security headers on pages', async () => {
      for (const res of [await request(t.http).get('/login'), await admin.get('/'), await request(t.http).get('/nope')]) {
        const directives = csp(res);
        expect(directives.get('default-src')).toEqual(["'self'"]);
        const scriptSrc = directives.get('script-src') ?? directives.get('default-src');
        expect(scriptSrc).toBeDefined();
        expect(scriptSrc).not.toContain("'unsafe-inline'");
        expect(scriptSrc).not.toContain("'unsafe-eval'");
        expect(directives.get('object-src')).toEqual(["'none'"]);
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        const frameAncestors = directives.get('frame-ancestors');
        const xfo = String(res.headers['x-frame-options'] ?? '').toUpperCase();
        expect(frameAncestors?.join(' ') === "'none'" || xfo === 'DENY' || xfo === 'SAMEORIGIN').toBe(true);
        expect(res.headers['x-powered-by']).toBeUndefined();
        expect(res.headers['referrer-policy']).toBeDefined();
        // Plain http (the default PUBLIC_URL): no upgrade of requests, no HSTS.
        expect(directives.has('upgrade-insecure-requests')).toBe(false);
        expect(res.headers['strict-transport-security']).toBeUndefined();
      }
    });

    it('sets the session cookie HttpOnly and SameSite=Lax, without Secure over http', async () => {
      const page = await request(t.http).get('/login');
      const cookie = sessionCookie(page);
      expect(cookie).toBeDefined();
      const attributes = cookieAttributes(cookie!);
      expect(attributes.has('httponly')).toBe(true);
      expect(attributes.get('samesite')?.toLowerCase()).toBe('lax');
      expect(attributes.has('secure')).toBe(false);

      // The cookie of the regenerated session after sign-in has the same attributes.
      const agent = request.agent(t.http);
      const token = csrfFrom((await agent.get('/login')).text);
      const signIn = await agent.post('/login').type('form').send({ _csrf: token, username: 'admin', password: ADMIN_PASSWORD });
      expect(signIn.status).toBe(303);
      const signedIn = cookieAttributes(sessionCookie(signIn)!);
      expect(signedIn.has('httponly')).toBe(true);
      expect(signedIn.get('samesite')?.toLowerCase()).toBe('lax');
    });

    it('contains no inline script, inline handlers or inline styles in its pages', async () => {
      const selfService = await createUser(t, { username: 'inline-check', fullName: 'Inline Check' });
      const user = await login(t.http, selfService.username, 'Secret-pass-1');
      const visitor = request.agent(t.http);
      const loginPage = await visitor.get('/login');
      const rejected = await visitor.post('/login').type('form').send({ _csrf: csrfFrom(loginPage.text), username: '', password: '' });
      expect(rejected.status).toBe(422);
      const pages: [string, Response][] = [
        ['login page', loginPage],
        ['login page with errors', rejected],
        ['form-expired page', await request(t.http).post('/login').type('form').send({})],
        ['startboard', await admin.get('/')],
        ['account page', await admin.get('/account')],
        ['self-service account page', await user.get('/account')],
        ['audit page', await admin.get('/audit')],
        ['404 page', await admin.get('/missing')],
      ];
      for (const [name, res] of pages) {
        expect([name, res.headers['content-type']]).toEqual([name, expect.stringMatching(/^text\/html/)]);
        expect([name, inlineCodeProblems(res.text)]).toEqual([name, []]);
      }
    });
  });

  describe('behind HTTPS (PUBLIC_URL https)', () => {
    let secure: TestApp;
    beforeAll(async () => {
      secure = await createTestApp({ env: { PUBLIC_URL: 'https://tessera.example.org' } });
    });
    afterAll(async () => {
      await secure.close();
    });

    it('marks the session cookie Secure when the proxy says the request came over https', async () => {
      // Trust proxy is loopback: supertest's request from 127.0.0.1 is the TLS-terminating proxy.
      const page = await request(secure.http).get('/login').set('X-Forwarded-Proto', 'https');
      expect(page.status).toBe(200);
      const attributes = cookieAttributes(sessionCookie(page)!);
      expect(attributes.has('secure')).toBe(true);
      expect(attributes.has('httponly')).toBe(true);
      expect(attributes.get('samesite')?.toLowerCase()).toBe('lax');
    });

    it('never sends the session cookie over plain http', async () => {
      // express-session refuses to set a Secure cookie on a request that is not secure.
      const page = await request(secure.http).get('/login');
      expect(page.status).toBe(200);
      expect(sessionCookie(page)).toBeUndefined();
    });

    it('sends HSTS and upgrade-insecure-requests', async () => {
      const page = await request(secure.http).get('/login').set('X-Forwarded-Proto', 'https');
      expect(csp(page).has('upgrade-insecure-requests')).toBe(true);
      expect(page.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    });

    it('signs in through the proxy', async () => {
      const page = await request(secure.http).get('/login').set('X-Forwarded-Proto', 'https');
      // superagent keeps Secure cookies only for https URLs; hand the cookie over as the browser would.
      const cookie = sessionCookie(page)!.split(';')[0];
      const res = await request(secure.http)
        .post('/login')
        .set('X-Forwarded-Proto', 'https')
        .set('Cookie', cookie)
        .type('form')
        .send({ _csrf: csrfFrom(page.text), username: 'admin', password: ADMIN_PASSWORD });
      expect(res.status).toBe(303);
      expect(cookieAttributes(sessionCookie(res)!).has('secure')).toBe(true);
    });
  });

  describe('health and static files', () => {
    it('answers GET /health with JSON, without a session', async () => {
      const res = await request(t.http).get('/health');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({ status: 'ok', database: 'up' });
      expect(res.headers['set-cookie']).toBeUndefined();
    });

    it('creates no session row for health probes', async () => {
      const [{ before }] = await t.sql<{ before: number }>('select count(*)::int as before from session');
      for (let i = 0; i < 5; i++) expect((await request(t.http).get('/health')).status).toBe(200);
      const [{ after }] = await t.sql<{ after: number }>('select count(*)::int as after from session');
      expect(after).toBe(before);
    });

    it('serves the stylesheet from public/', async () => {
      const res = await request(t.http).get('/public/css/tessera.css');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/css/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.text.length).toBeGreaterThan(100);
    });
  });
});
