import request from 'supertest';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createOrganization, createUser, OrgRow } from '../support/factories';
import { formOf, openForm } from '../support/forms';
import { Agent, csrfFrom, csrfToken, sessionIdFrom, submitLogin } from '../support/http';

/** A signed-in agent together with its session id and the raw cookie (to replay it later). */
async function signIn(t: TestApp, username: string, password: string) {
  const agent = request.agent(t.http);
  const res = await submitLogin(agent, username, password);
  if (res.status !== 303) throw new Error(`Login of ${username} answered ${res.status}`);
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const sessionCookie = setCookie.find((c) => c.startsWith('tessera.sid='));
  const sid = sessionIdFrom(setCookie);
  if (!sessionCookie || !sid) throw new Error('No session cookie at login');
  return { agent, sid, cookie: sessionCookie.split(';')[0], setCookie: sessionCookie, location: res.headers.location as string };
}

function expectLoginRedirect(res: request.Response, query: string) {
  expect(res.status).toBe(303);
  expect(res.headers.location).toBe(`/login${query}`);
}

describe('sessions (SPEC §4 Accounts)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
    await createUser(t, { username: 'sam', password: 'Sam-pass-123' });
  });
  afterAll(async () => {
    await t.close();
  });

  async function sessionRow(sid: string) {
    const [row] = await t.sql<{ sess: Record<string, any>; idle_seconds: number }>(
      'select sess, extract(epoch from (expire - localtimestamp))::float8 as idle_seconds from session where sid = $1',
      [sid],
    );
    return row;
  }

  describe('without a session', () => {
    it.each([
      ['/', '/login'],
      ['/account', '/login?next=%2Faccount'],
      ['/audit', '/login?next=%2Faudit'],
      ['/audit?action=logout', '/login?next=%2Faudit%3Faction%3Dlogout'],
    ])('GET %s redirects to %s', async (path, location) => {
      const res = await request(t.http).get(path);
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(location);
    });

    it('the login page keeps the `next` path for the form', async () => {
      const res = await request(t.http).get('/login?next=%2Faudit');
      expect(res.status).toBe(200);
      expect(res.text).toContain('name="next" value="/audit"');
    });
  });

  describe('cookie', () => {
    it('is HttpOnly, SameSite=Lax and lives 30 minutes; the stored session expires with it and is renewed by each request', async () => {
      const s = await signIn(t, 'sam', 'Sam-pass-123');
      expect(s.setCookie).toMatch(/;\s*HttpOnly/i);
      expect(s.setCookie).toMatch(/;\s*SameSite=Lax/i);
      expect(s.setCookie).toMatch(/;\s*Path=\/(;|$)/);
      expect(s.setCookie).not.toMatch(/;\s*Secure/i); // plain-HTTP test app
      const maxAge = /Max-Age=(\d+)/i.exec(s.setCookie);
      const expires = /Expires=([^;]+)/i.exec(s.setCookie);
      expect(maxAge ?? expires).toBeTruthy();
      const lifetime = maxAge ? Number(maxAge[1]) * 1000 : Date.parse(expires![1]) - Date.now();
      expect(lifetime).toBeGreaterThan(29 * 60_000);
      expect(lifetime).toBeLessThanOrEqual(30 * 60_000 + 1_000);

      const stored = await sessionRow(s.sid);
      expect(stored.idle_seconds).toBeGreaterThan(29 * 60);
      expect(stored.idle_seconds).toBeLessThanOrEqual(30 * 60 + 1);

      // Rolling: a request moves the idle deadline to 30 minutes from now again.
      await t.sql(`update session set expire = now() + interval '1 minute' where sid = $1`, [s.sid]);
      expect((await sessionRow(s.sid)).idle_seconds).toBeLessThan(61);
      const page = await s.agent.get('/account');
      expect(page.status).toBe(200);
      expect((await sessionRow(s.sid)).idle_seconds).toBeGreaterThan(29 * 60);
      const renewed = ([] as string[]).concat(page.headers['set-cookie'] ?? []).find((c) => c.startsWith('tessera.sid='));
      expect(renewed).toBeDefined();
    });
  });

  describe('logout', () => {
    it('destroys the session server-side; the old cookie no longer signs in', async () => {
      const s = await signIn(t, 'sam', 'Sam-pass-123');
      expect((await s.agent.get('/account')).status).toBe(200);
      expect(await sessionRow(s.sid)).toBeDefined();

      const token = await csrfToken(s.agent, '/account');
      const res = await s.agent.post('/logout').type('form').send({ _csrf: token });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/login?signedOut=1');
      expect(([] as string[]).concat(res.headers['set-cookie'] ?? []).join('\n')).toMatch(/tessera\.sid=;/);
      expect(await sessionRow(s.sid)).toBeUndefined();

      const [sam] = await t.sql<{ id: number }>(`select id from users where username = 'sam'`);
      const audit = await t.sql(`select * from audit_events where action = 'logout' and actor_id = $1`, [sam.id]);
      expect(audit).toHaveLength(1);

      expectLoginRedirect(await s.agent.get('/'), '');
      // Replaying the old cookie does not bring the session back.
      expectLoginRedirect(await request(t.http).get('/').set('Cookie', s.cookie), '');
      expectLoginRedirect(await request(t.http).get('/account').set('Cookie', s.cookie), '?next=%2Faccount');
      const loginPage = await s.agent.get('/login?signedOut=1');
      expect(loginPage.text).toContain('You have signed out.');
    });

    it('requires the CSRF token (a cross-site form cannot sign the user out)', async () => {
      const s = await signIn(t, 'sam', 'Sam-pass-123');
      const res = await s.agent.post('/logout').type('form').send({});
      expect(res.status).toBe(403);
      expect(await sessionRow(s.sid)).toBeDefined();
      expect((await s.agent.get('/account')).status).toBe(200);
    });
  });

  describe('expiry', () => {
    it('ends a session idle for more than 30 minutes', async () => {
      const s = await signIn(t, 'sam', 'Sam-pass-123');
      expect((await s.agent.get('/account')).status).toBe(200);
      await t.sql(`update session set expire = now() - interval '1 second' where sid = $1`, [s.sid]);
      expectLoginRedirect(await s.agent.get('/account'), '?next=%2Faccount');
    });

    it('ends a session 12 hours after sign-in, however active', async () => {
      const s = await signIn(t, 'sam', 'Sam-pass-123');
      const setAuthenticatedAt = (ms: number) =>
        t.sql(`update session set sess = jsonb_set(sess::jsonb, '{authenticatedAt}', to_jsonb($1::bigint))::json where sid = $2`, [ms, s.sid]);
      expect((await sessionRow(s.sid)).sess.authenticatedAt).toBeGreaterThan(Date.now() - 60_000);

      await setAuthenticatedAt(Date.now() - 11 * 3600_000);
      expect((await s.agent.get('/account')).status).toBe(200);

      await setAuthenticatedAt(Date.now() - 13 * 3600_000);
      expectLoginRedirect(await s.agent.get('/account'), '?next=%2Faccount&reason=expired');
      expect(await sessionRow(s.sid)).toBeUndefined();
      const loginPage = await s.agent.get('/login?reason=expired');
      expect(loginPage.text).toContain('Your session has expired.');
      // Ended for good, not only for that one request.
      expectLoginRedirect(await request(t.http).get('/account').set('Cookie', s.cookie), '?next=%2Faccount');
    });

    it('a session without a sign-in time is treated as expired', async () => {
      const s = await signIn(t, 'sam', 'Sam-pass-123');
      await t.sql(`update session set sess = (sess::jsonb - 'authenticatedAt')::json where sid = $1`, [s.sid]);
      expectLoginRedirect(await s.agent.get('/account'), '?next=%2Faccount&reason=expired');
    });
  });

  describe('ended by changes to the user', () => {
    beforeEach(async () => {
      await createUser(t, { username: `ending-${++counter}`, password: 'Ending-pass-1' });
    });
    let counter = 0;

    it('disabling the user ends their session on the next request', async () => {
      const username = `ending-${counter}`;
      const s = await signIn(t, username, 'Ending-pass-1');
      const other = await signIn(t, 'sam', 'Sam-pass-123');
      expect((await s.agent.get('/account')).status).toBe(200);
      await t.sql('update users set enabled = false where username = $1', [username]);
      expectLoginRedirect(await s.agent.get('/account'), '?next=%2Faccount&reason=ended');
      expect(await sessionRow(s.sid)).toBeUndefined();
      // Enabling again does not revive the ended session.
      await t.sql('update users set enabled = true where username = $1', [username]);
      expectLoginRedirect(await s.agent.get('/account'), '?next=%2Faccount');
      // Another user's session is untouched.
      expect((await other.agent.get('/account')).status).toBe(200);
    });

    it('bumping the session version ends every session of the user', async () => {
      const username = `ending-${counter}`;
      const first = await signIn(t, username, 'Ending-pass-1');
      const second = await signIn(t, username, 'Ending-pass-1');
      expect((await first.agent.get('/account')).status).toBe(200);
      expect((await second.agent.get('/account')).status).toBe(200);
      await t.sql('update users set session_version = session_version + 1 where username = $1', [username]);
      expectLoginRedirect(await first.agent.get('/account'), '?next=%2Faccount&reason=ended');
      expectLoginRedirect(await second.agent.get('/'), '?reason=ended');
      expect(await sessionRow(first.sid)).toBeUndefined();
      expect(await sessionRow(second.sid)).toBeUndefined();
      // Signing in again works and uses the new version.
      const again = await signIn(t, username, 'Ending-pass-1');
      expect((await again.agent.get('/account')).status).toBe(200);
    });
  });

  describe('organization chooser', () => {
    let sales: OrgRow;
    let support: OrgRow;
    let other: OrgRow;

    beforeAll(async () => {
      sales = await createOrganization(t, 'Sales');
      support = await createOrganization(t, 'Support');
      other = await createOrganization(t, 'Elsewhere');
      await createUser(t, { username: 'multi', password: 'Multi-pass-1', memberships: [{ org: sales }, { org: support }] });
    });

    async function currentOrganizationId(sid: string): Promise<unknown> {
      return (await sessionRow(sid)).sess.currentOrganizationId;
    }

    async function chooserToken(agent: Agent): Promise<string> {
      const page = await agent.get('/session/organization');
      expect(page.status).toBe(200);
      return csrfFrom(page.text);
    }

    function headerOrganization(html: string): string | undefined {
      return /class="current-org">Organization: <strong>([^<]*)<\/strong>/.exec(html)?.[1];
    }

    it('sends a member of several organizations to the chooser until one is chosen, then shows and switches it in the header', async () => {
      const s = await signIn(t, 'multi', 'Multi-pass-1');
      expect(s.location).toBe('/');

      for (const [path, location] of [
        ['/', '/session/organization'],
        ['/account', '/session/organization?next=%2Faccount'],
        ['/audit', '/session/organization?next=%2Faudit'],
      ]) {
        const res = await s.agent.get(path);
        expect(res.status).toBe(303);
        expect(res.headers.location).toBe(location);
      }
      // The chooser carries the page asked for through its form.
      expect((await s.agent.get('/session/organization?next=%2Faccount')).text).toContain('name="next" value="/account"');
      // Also for a form post (the account's password form).
      const token = await chooserToken(s.agent);
      const post = await s.agent.post('/account/password').type('form').send({ _csrf: token, currentPassword: 'Multi-pass-1', newPassword: 'Multi-pass-2', confirmPassword: 'Multi-pass-2' });
      expect(post.status).toBe(303);
      expect(post.headers.location).toMatch(/^\/session\/organization(\?|$)/);
      expect((await submitLogin(request.agent(t.http), 'multi', 'Multi-pass-1')).status).toBe(303);

      const chooser = await s.agent.get('/session/organization');
      expect(chooser.status).toBe(200);
      expect(chooser.text).toContain('Choose an organization');
      expect(chooser.text).toContain(`value="${sales.id}"`);
      expect(chooser.text).toContain(`value="${support.id}"`);
      expect(chooser.text).not.toContain(`value="${other.id}"`);
      expect(chooser.text).not.toContain('Elsewhere');

      // Not a member: refused, the session unchanged.
      for (const organizationId of [String(other.id), 'abc', '']) {
        const refused = await s.agent.post('/session/organization').type('form').send({ _csrf: token, organizationId, next: '/account' });
        expect(refused.status).toBe(422);
        expect(refused.text).toContain('Choose one of your organizations.');
        expect(await currentOrganizationId(s.sid)).toBeUndefined();
      }
      expect((await s.agent.get('/account')).status).toBe(303);

      // A valid choice lands on the page asked for.
      const chosen = await (await openForm(s.agent, '/session/organization?next=%2Faccount', 'Continue')).check('Sales').submit('Continue');
      expect(chosen.status).toBe(303);
      expect(chosen.headers.location).toBe('/account');
      expect(await currentOrganizationId(s.sid)).toBe(sales.id);
      const account = await s.agent.get('/account');
      expect(account.status).toBe(200);
      expect(account.text).toContain('You are now working in Sales.');
      expect(headerOrganization(account.text)).toBe('Sales');
      expect(account.text).toContain('id="switch-organization"');
      expect(account.text).toMatch(new RegExp(`<option value="${sales.id}" selected>Sales</option>`));
      expect(account.text).toMatch(new RegExp(`<option value="${support.id}" >Support</option>`));
      expect(account.text).not.toContain('Elsewhere');

      // Refused again once chosen: the current organization stays.
      const switchToken = csrfFrom(account.text);
      const refused = await s.agent.post('/session/organization').type('form').send({ _csrf: switchToken, organizationId: String(other.id), next: '/account' });
      expect(refused.status).toBe(422);
      expect(await currentOrganizationId(s.sid)).toBe(sales.id);
      expect(headerOrganization((await s.agent.get('/account')).text)).toBe('Sales');

      // The header switcher.
      const switched = await formOf(s.agent, account.text, 'Switch', '/account').select('Switch organization', 'Support').submit('Switch');
      expect(switched.status).toBe(303);
      expect(switched.headers.location).toBe('/account');
      expect(await currentOrganizationId(s.sid)).toBe(support.id);
      const after = await s.agent.get('/account');
      expect(after.text).toContain('You are now working in Support.');
      expect(headerOrganization(after.text)).toBe('Support');
      expect(after.text).toMatch(new RegExp(`<option value="${support.id}" selected>Support</option>`));
    });

    it('a member of one organization is never asked and gets no switcher', async () => {
      const s = await signIn(t, 'sam', 'Sam-pass-123');
      const account = await s.agent.get('/account');
      expect(account.status).toBe(200);
      expect(headerOrganization(account.text)).toBe('Global');
      expect(account.text).not.toContain('id="switch-organization"');
    });

    it('the admin (one membership) goes straight to the startboard', async () => {
      const s = await signIn(t, 'admin', ADMIN_PASSWORD);
      const home = await s.agent.get('/');
      expect(home.status).toBe(200);
      expect(home.text).toContain('<h1>Startboard</h1>');
    });
  });
});
