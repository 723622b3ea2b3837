import request from 'supertest';
import type { Response } from 'supertest';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { databaseFingerprint } from '../support/fingerprint';
import { Agent, csrfFrom, csrfToken, login } from '../support/http';

/**
 * SPEC §5 "CSRF token on every state-changing request". The routes are enumerated from the
 * Express router of the running app, so a route family added later is covered without touching
 * this file. Each route is tried anonymously and as a signed-in administrator, without a token,
 * with a made-up token and with a real token of another session: every attempt must answer the
 * 403 "form expired" page and leave every table (audit log included) exactly as it was.
 */

interface StateChangingRoute {
  method: string;
  /** The path as registered, e.g. `/users/:id/delete`. */
  pattern: string;
  /** The path with its parameters filled in, e.g. `/users/1/delete`. */
  path: string;
}

const SAFE_METHODS = new Set(['get', 'head', 'options']);

/**
 * Values for `:param` segments: an id that exists in a fresh database (the admin user, the Global
 * organization, the built-in roles and profiles all have id 1). A route family whose parameter
 * is not a numeric id gets its value here.
 */
const PARAM_VALUES: Record<string, string> = {};
const DEFAULT_PARAM_VALUE = '1';

/** Fills `:name` parameters and drops the braces of optional groups (`/a{/:id}` → `/a/1`). */
function fillPath(pattern: string): string {
  return pattern.replace(/[:*]([A-Za-z_$][\w$]*)/g, (_m, name: string) => PARAM_VALUES[name] ?? DEFAULT_PARAM_VALUE).replace(/[{}]/g, '');
}

interface RouterLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
}

/**
 * Every route of the Express app (Express 5: `app.router.stack`) that accepts a method other
 * than GET/HEAD/OPTIONS. Nest mounts route-scoped middleware (MikroORM's request context) as a
 * catch-all route (`/{*all}`) for every method; that is not an endpoint and is left out.
 */
/**
 * Routes another site posts to by design, so they cannot carry our token: a SAML identity
 * provider's answer (HTTP-POST binding). What protects it is the answer itself — signed, for our
 * audience, answering a request this browser started, used once (test/e2e/sso-saml.e2e-spec.ts).
 */
const TOKENLESS_ROUTES = ['post /sso/:key/saml/acs'];

function stateChangingRoutes(t: TestApp): { routes: StateChangingRoute[]; skipped: string[] } {
  const express = t.app.getHttpAdapter().getInstance() as { router?: { stack: RouterLayer[] } };
  if (!express.router || !Array.isArray(express.router.stack)) throw new Error('The Express app has no router stack (not Express 5?)');
  const routes: StateChangingRoute[] = [];
  const skipped: string[] = [];
  for (const layer of express.router.stack) {
    if (!layer.route) continue;
    const patterns = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
    const methods = Object.keys(layer.route.methods).filter((m) => layer.route!.methods[m]);
    const catchAllMiddleware = (methods.includes('_all') || (methods.includes('get') && methods.includes('post'))) && patterns.every((p) => p.includes('*'));
    for (const pattern of patterns) {
      if (catchAllMiddleware) {
        skipped.push(pattern);
        continue;
      }
      for (const method of methods) {
        if (SAFE_METHODS.has(method)) continue;
        if (TOKENLESS_ROUTES.includes(`${method} ${pattern}`)) {
          skipped.push(`${method} ${pattern}`);
          continue;
        }
        // `_all` (router.all): try the most common state-changing method.
        routes.push({ method: method === '_all' ? 'post' : method, pattern, path: fillPath(pattern) });
      }
    }
  }
  return { routes, skipped };
}

/**
 * Plausible form fields per route, so that a request that got past the CSRF check would really
 * change something (count a failed sign-in, change a password, switch the organization…).
 */
const BODIES: Record<string, Record<string, string>> = {
  'post /login': { username: 'admin', password: 'wrong-password-1' },
  'post /account/password': { currentPassword: ADMIN_PASSWORD, newPassword: 'Changed-pass-99', confirmPassword: 'Changed-pass-99' },
  'post /session/organization': { organizationId: '1', next: '/' },
};
const GENERIC_BODY = { id: '1', name: 'CSRF probe', username: 'csrf-probe', email: 'csrf@example.org', enabled: 'true' };

type TokenVariant = 'no token' | 'made-up token' | "another session's token";

function send(client: Agent | ReturnType<typeof request>, route: StateChangingRoute, token: string | null): Promise<Response> {
  const fields = { ...(BODIES[`${route.method} ${route.pattern}`] ?? GENERIC_BODY), ...(token === null ? {} : { _csrf: token }) };
  const method = route.method as 'post' | 'put' | 'patch' | 'delete';
  const test = (client as unknown as Record<string, (path: string) => request.Test>)[method];
  if (typeof test !== 'function') throw new Error(`supertest cannot send ${route.method.toUpperCase()}`);
  return test.call(client, route.path).type('form').send(fields);
}

/** What is wrong with a refusal (empty when it is the expected 403 page). */
function refusalProblems(res: Response): string[] {
  const problems: string[] = [];
  if (res.status !== 403) problems.push(`status ${res.status} (location ${res.headers.location ?? '-'})`);
  if (!/text\/html/.test(String(res.headers['content-type']))) problems.push(`content-type ${res.headers['content-type']}`);
  if (!res.text.includes('This form has expired')) problems.push('page does not say the form expired');
  if (!res.text.includes('nothing was changed')) problems.push('page does not say nothing was changed');
  if (!res.text.includes('<main id="main"')) problems.push('page does not use the layout');
  if (/^\s*at\s.*:\d+:\d+\)?\s*$/m.test(res.text)) problems.push('stack trace in the page');
  if (/Error:/.test(res.text) || /EBADCSRFTOKEN/.test(res.text)) problems.push('error text in the page');
  return problems;
}

describe('CSRF protection of state-changing routes', () => {
  let t: TestApp;
  let routes: StateChangingRoute[];
  let skipped: string[];
  let admin: Agent;
  /** A valid token, but of a different (anonymous) session. */
  let foreignToken: string;

  beforeAll(async () => {
    t = await createTestApp();
    ({ routes, skipped } = stateChangingRoutes(t));
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    const stranger = request.agent(t.http);
    foreignToken = csrfFrom((await stranger.get('/login')).text);
  });
  afterAll(async () => {
    await t.close();
  });

  it('finds the state-changing routes in the router', () => {
    const names = routes.map((r) => `${r.method.toUpperCase()} ${r.pattern}`);
    expect(names.length).toBeGreaterThan(0);
    expect(names).toEqual(expect.arrayContaining(['POST /login', 'POST /logout', 'POST /account/password', 'POST /session/organization']));
    // Only catch-all middleware mounts and the routes another site posts to by design are left out.
    for (const pattern of skipped) if (!TOKENLESS_ROUTES.includes(pattern)) expect(pattern).toContain('*');
    expect(skipped).toEqual(expect.arrayContaining(TOKENLESS_ROUTES));
  });

  it('fills route parameters with an id that exists', () => {
    expect(fillPath('/users/:id/delete')).toBe('/users/1/delete');
    expect(fillPath('/organizations/:orgId/members/:userId')).toBe('/organizations/1/members/1');
    expect(fillPath('/things{/:id}')).toBe('/things/1');
    expect(fillPath('/login')).toBe('/login');
  });

  const cases: [who: 'anonymous' | 'signed-in admin', variant: TokenVariant][] = [];
  for (const who of ['anonymous', 'signed-in admin'] as const) {
    for (const variant of ['no token', 'made-up token', "another session's token"] as const) cases.push([who, variant]);
  }

  it.each(cases)('%s, %s: every state-changing route answers 403 and changes nothing', async (who, variant) => {
    const problems: string[] = [];
    for (const route of routes) {
      const name = `${route.method.toUpperCase()} ${route.path}`;
      let client: Agent;
      if (who === 'anonymous') {
        // A visitor who has a session (and so a CSRF secret) from loading the login page.
        client = request.agent(t.http);
        await client.get('/login');
      } else {
        client = admin;
      }
      const token = variant === 'no token' ? null : variant === 'made-up token' ? 'not-a-real-token-0123456789' : foreignToken;
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await send(client, route, token);
      const after = await databaseFingerprint(t, { includeAudit: true });
      for (const p of refusalProblems(res)) problems.push(`${name}: ${p}`);
      for (const table of Object.keys({ ...before, ...after })) {
        if (before[table] !== after[table]) problems.push(`${name}: table ${table} changed`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('refuses a client without any session cookie too', async () => {
    const problems: string[] = [];
    for (const route of routes) {
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await send(request(t.http), route, null);
      const after = await databaseFingerprint(t, { includeAudit: true });
      for (const p of refusalProblems(res)) problems.push(`${route.method.toUpperCase()} ${route.path}: ${p}`);
      if (JSON.stringify(before) !== JSON.stringify(after)) problems.push(`${route.method.toUpperCase()} ${route.path}: the database changed`);
    }
    expect(problems).toEqual([]);
  });

  it('left the admin signed in, with the same password and no failed sign-ins', async () => {
    // POST /logout and POST /account/password were refused above: the session still works.
    const account = await admin.get('/account');
    expect(account.status).toBe(200);
    expect(account.text).toContain('My account');
    const [row] = await t.sql<{ failed_logins: number; locked_until: Date | null }>(
      `select failed_logins, locked_until from users where username = 'admin'`,
    );
    expect(row).toEqual({ failed_logins: 0, locked_until: null });
    // The original password still signs in.
    await login(t.http, 'admin', ADMIN_PASSWORD);
  });

  it('never needs a token for GET', async () => {
    const page = await request(t.http).get('/login');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Sign in to Tessera');
    expect((await admin.get('/')).status).toBe(200);
    expect((await admin.get('/account')).status).toBe(200);
  });

  it('does not accept the token from the URL, where it could leak into logs and referrers', async () => {
    const token = await csrfToken(admin, '/account');
    const before = await databaseFingerprint(t, { includeAudit: true });
    const res = await admin
      .post(`/account/password?_csrf=${encodeURIComponent(token)}`)
      .type('form')
      .send({ currentPassword: ADMIN_PASSWORD, newPassword: 'Changed-pass-99', confirmPassword: 'Changed-pass-99' });
    expect(res.status).toBe(403);
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('lets the same request through with a valid token (the 403s come from the CSRF check)', async () => {
    const token = await csrfToken(admin, '/account');
    const before = await databaseFingerprint(t);
    // A wrong current password: the handler runs and answers its own validation error.
    const res = await admin
      .post('/account/password')
      .type('form')
      .send({ _csrf: token, currentPassword: 'not-the-password-1', newPassword: 'Changed-pass-99', confirmPassword: 'Changed-pass-99' });
    expect(res.status).not.toBe(403);
    expect(res.status).toBe(422);
    expect(res.text).not.toContain('This form has expired');
    expect(await databaseFingerprint(t)).toEqual(before);

    // The body used above for POST /login, with the visitor's own token, does change the
    // database (a failure counted by the sign-in throttle, and its audit row): the fingerprint
    // would have seen it.
    const visitor = request.agent(t.http);
    const own = csrfFrom((await visitor.get('/login')).text);
    const beforeFailure = await databaseFingerprint(t, { includeAudit: true });
    const failure = await visitor.post('/login').type('form').send({ ...BODIES['post /login'], _csrf: own });
    expect(failure.status).toBe(422);
    const afterFailure = await databaseFingerprint(t, { includeAudit: true });
    expect(afterFailure.login_throttle).not.toBe(beforeFailure.login_throttle);
    expect(afterFailure.audit_events).not.toBe(beforeFailure.audit_events);

    const retry = csrfFrom(failure.text);
    const signIn = await visitor.post('/login').type('form').send({ _csrf: retry, username: 'admin', password: ADMIN_PASSWORD });
    expect(signIn.status).toBe(303);
  });
});
