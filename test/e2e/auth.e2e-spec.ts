import request from 'supertest';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createUser } from '../support/factories';
import { formOf } from '../support/forms';
import { sessionIdFrom, submitLogin } from '../support/http';

const GENERIC = 'The username or password is incorrect.';

interface AuditRow {
  action: string;
  actor_id: number | null;
  actor_name: string | null;
  ip: string | null;
  object_type: string | null;
  object_id: string | null;
  object_label: string | null;
  detail: string | null;
  changes: unknown;
}

describe('sign-in (SPEC §2 Users, §4 Accounts)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  async function audit(action: string, label: string): Promise<AuditRow[]> {
    return t.sql<AuditRow>('select * from audit_events where action = $1 and (object_label = $2 or actor_name = $2) order by id', [action, label]);
  }

  /** The failures counted towards the lock of a username (the sign-in throttle's username key). */
  async function lockFailures(username: string): Promise<number> {
    const [row] = await t.sql<{ lock_failures: number }>('select lock_failures from login_throttle where key = $1', [`user:${username}`]);
    return row?.lock_failures ?? 0;
  }

  async function userRow(username: string) {
    const [row] = await t.sql<{ failed_logins: number; locked_until: Date | null; last_login_at: Date | null }>(
      'select failed_logins, locked_until, last_login_at from users where username = $1',
      [username],
    );
    return row;
  }

  /** The agent holds no signed-in session. */
  async function expectNotSignedIn(agent: ReturnType<typeof request.agent>) {
    const res = await agent.get('/account');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login?next=%2Faccount');
  }

  /** The 422 login page re-rendered: the typed username kept, the password never sent back. */
  function expectLoginRejected(res: request.Response, username: string, password: string) {
    expect(res.status).toBe(422);
    expect(res.text).toContain('Sign in to Tessera');
    expect(res.text).toMatch(new RegExp(`name="username" type="text"\\s+value="${username}"`));
    expect(res.text).toMatch(/name="password" type="password"\s+value=""/);
    expect(res.text).not.toContain(password);
  }

  describe('success', () => {
    it('redirects to the startboard, regenerates the session id and drops the anonymous session', async () => {
      const agent = request.agent(t.http);
      const loginPage = await agent.get('/login');
      expect(loginPage.status).toBe(200);
      const anonymousSid = sessionIdFrom(loginPage.headers['set-cookie']);
      expect(anonymousSid).toBeTruthy();
      // The anonymous session (it holds the CSRF secret) is stored server-side.
      expect(await t.sql('select sid from session where sid = $1', [anonymousSid])).toHaveLength(1);

      const res = await formOf(agent, loginPage.text, 'Sign in', '/login').fill('Username', 'admin').fill('Password', ADMIN_PASSWORD).submit('Sign in');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/');
      const signedInSid = sessionIdFrom(res.headers['set-cookie']);
      expect(signedInSid).toBeTruthy();
      expect(signedInSid).not.toBe(anonymousSid);
      expect(await t.sql('select sid from session where sid = $1', [anonymousSid])).toHaveLength(0);
      const [row] = await t.sql<{ sess: { passport?: { user?: { id: number } } } }>('select sess from session where sid = $1', [signedInSid]);
      expect(row.sess.passport?.user?.id).toEqual(expect.any(Number));

      const home = await agent.get('/');
      expect(home.status).toBe(200);
      expect(home.text).toContain('<h1>Startboard</h1>');
      expect(home.text).toContain('Signed in as');
      expect((await userRow('admin')).last_login_at).not.toBeNull();
    });

    it('username is case-insensitive and surrounding spaces are ignored', async () => {
      const res = await submitLogin(request.agent(t.http), '  ADMIN ', ADMIN_PASSWORD);
      expect(res.status).toBe(303);
    });

    it('returns to a safe local `next` path given to the login page', async () => {
      const agent = request.agent(t.http);
      const page = await agent.get('/login?next=%2Faudit%3Fq%3Dx');
      expect(page.text).toContain('name="next" value="/audit?q&#x3D;x"');
      // The page carries `next` in its form.
      const res = await formOf(agent, page.text, 'Sign in', '/login?next=%2Faudit%3Fq%3Dx').fill('Username', 'admin').fill('Password', ADMIN_PASSWORD).submit('Sign in');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/audit?q=x');
      expect((await agent.get(res.headers.location)).status).toBe(200);
    });

    it.each(['//evil.example', 'https://evil.example/', '/\\evil.example', '/logout'])('falls back to / for next=%s', async (next) => {
      const res = await submitLogin(request.agent(t.http), 'admin', ADMIN_PASSWORD, { next });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/');
    });

    it('a signed-in session visiting /login is sent on', async () => {
      const agent = request.agent(t.http);
      await submitLogin(agent, 'admin', ADMIN_PASSWORD);
      const res = await agent.get('/login');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/');
    });
  });

  describe('refused credentials', () => {
    beforeAll(async () => {
      await createUser(t, { username: 'walter', password: 'Walter-pass-1' });
    });

    it('wrong password and unknown username get the same generic message', async () => {
      const agent = request.agent(t.http);
      const wrong = await submitLogin(agent, 'walter', 'Wrong-pass-77');
      expectLoginRejected(wrong, 'walter', 'Wrong-pass-77');
      expect(wrong.text).toContain(GENERIC);

      const unknown = await submitLogin(request.agent(t.http), 'nobody-here', 'Wrong-pass-78');
      expectLoginRejected(unknown, 'nobody-here', 'Wrong-pass-78');
      expect(unknown.text).toContain(GENERIC);

      // Same wording, no hint which of the two it was.
      const messageOf = (html: string) => /<div class="error-summary"[^>]*>\s*<p>([^<]*)<\/p>/.exec(html)?.[1];
      expect(messageOf(wrong.text)).toBe(GENERIC);
      expect(messageOf(unknown.text)).toBe(GENERIC);
      // A refused sign-in does not sign in.
      await expectNotSignedIn(agent);
    });

    it('a wrong password counts as a failed attempt on the account', async () => {
      const before = await lockFailures('walter');
      await submitLogin(request.agent(t.http), 'walter', 'Wrong-pass-79');
      expect(await lockFailures('walter')).toBe(before + 1);
      // The right password resets the counter.
      expect((await submitLogin(request.agent(t.http), 'walter', 'Walter-pass-1')).status).toBe(303);
      expect(await lockFailures('walter')).toBe(0);
    });

    it('empty username and password are field errors', async () => {
      const res = await submitLogin(request.agent(t.http), '', '');
      expect(res.status).toBe(422);
      expect(res.text).toMatch(/id="error-username">Enter your username\.</);
      expect(res.text).toMatch(/id="error-password">Enter your password\.</);
      expect(res.text).toContain('aria-invalid="true"');

      const noPassword = await submitLogin(request.agent(t.http), 'walter', '');
      expect(noPassword.status).toBe(422);
      expect(noPassword.text).toMatch(/id="error-password">Enter your password\.</);
      expect(noPassword.text).not.toContain('id="error-username"');
      expect(noPassword.text).toMatch(/name="username" type="text"\s+value="walter"/);
    });

    it('a POST without the CSRF token is refused with 403', async () => {
      const agent = request.agent(t.http);
      await agent.get('/login');
      const res = await agent.post('/login').type('form').send({ username: 'admin', password: ADMIN_PASSWORD });
      expect(res.status).toBe(403);
      expect(res.text).toContain('This form has expired or did not come from Tessera');
      await expectNotSignedIn(agent);
    });
  });

  describe('lock-out', () => {
    const password = 'Lock-pass-1';
    // Every attempt of this test comes from one address (the lock holds for addresses that failed).
    const agent = () => request.agent(t.http).set('X-Forwarded-For', '198.51.100.20');

    beforeAll(async () => {
      await createUser(t, { username: 'lockme', password });
    });

    it('locks after 5 failed attempts, refuses the right password while locked, and unlocks after the duration', async () => {
      const [settings] = await t.sql<{ lockout_threshold: number }>('select lockout_threshold from client_settings');
      expect(settings.lockout_threshold).toBe(5);

      for (let i = 1; i <= 4; i++) {
        const res = await submitLogin(agent(), 'lockme', `Bad-pass-${i}`);
        expect(res.status).toBe(422);
        expect(res.text).toContain(GENERIC);
      }
      expect(await userRow('lockme')).toMatchObject({ locked_until: null });
      expect(await lockFailures('lockme')).toBe(4);
      expect(await audit('login.lockout', 'lockme')).toHaveLength(0);

      const fifth = await submitLogin(agent(), 'lockme', 'Bad-pass-5');
      expect(fifth.status).toBe(422);
      expect(fifth.text).toContain(GENERIC);
      expect(fifth.text).not.toMatch(/locked/i);
      const locked = await userRow('lockme');
      expect(locked.locked_until).not.toBeNull();
      expect(locked.locked_until!.getTime()).toBeGreaterThan(Date.now() + 14 * 60_000);
      expect(locked.locked_until!.getTime()).toBeLessThanOrEqual(Date.now() + 15 * 60_000 + 5_000);
      const lockouts = await audit('login.lockout', 'lockme');
      expect(lockouts).toHaveLength(1);
      expect(lockouts[0].detail).toContain('5 failed attempts');

      // The right password: refused, and now the user learns why.
      const lockedAgent = agent();
      const right = await submitLogin(lockedAgent, 'lockme', password);
      expect(right.status).toBe(422);
      expect(right.text).toMatch(/locked/i);
      expect(right.text).not.toContain(GENERIC);
      expect(right.text).not.toContain(password);
      await expectNotSignedIn(lockedAgent);

      // A stranger guessing during the lock learns nothing, and the lock is not extended.
      const guess = await submitLogin(agent(), 'lockme', 'Bad-pass-6');
      expect(guess.status).toBe(422);
      expect(guess.text).toContain(GENERIC);
      expect(guess.text).not.toMatch(/locked/i);
      expect((await userRow('lockme')).locked_until!.getTime()).toBe(locked.locked_until!.getTime());
      expect(await audit('login.lockout', 'lockme')).toHaveLength(1);

      // The lock duration passes.
      await t.sql(`update users set locked_until = now() - interval '1 second' where username = 'lockme'`);
      const afterLock = await submitLogin(agent(), 'lockme', 'Bad-pass-7');
      expect(afterLock.text).toContain(GENERIC);
      expect(await lockFailures('lockme')).toBe(1);
      const signedIn = agent();
      const ok = await submitLogin(signedIn, 'lockme', password);
      expect(ok.status).toBe(303);
      expect((await signedIn.get('/account')).status).toBe(200);
      expect(await userRow('lockme')).toMatchObject({ locked_until: null });
      expect(await lockFailures('lockme')).toBe(0);
    });
  });

  describe('accounts that may not sign in', () => {
    beforeAll(async () => {
      await createUser(t, { username: 'disabled-dora', password: 'Dora-pass-1', enabled: false });
      await createUser(t, { username: 'norole-nick', password: 'Nick-pass-1', roles: [] });
      await createUser(t, { username: 'noprofile-pia', password: 'Pia-pass-1', profile: null });
    });

    it('a disabled account with the right password is told it is disabled', async () => {
      const agent = request.agent(t.http);
      const res = await submitLogin(agent, 'disabled-dora', 'Dora-pass-1');
      expectLoginRejected(res, 'disabled-dora', 'Dora-pass-1');
      expect(res.text).toContain('This account is disabled.');
      expect(res.text).not.toContain(GENERIC);
      await expectNotSignedIn(agent);
      const refused = await audit('login.refused', 'disabled-dora');
      expect(refused.map((r) => r.detail)).toEqual(['account disabled']);
    });

    it('a disabled account with a wrong password gets the generic message', async () => {
      const res = await submitLogin(request.agent(t.http), 'disabled-dora', 'Dora-wrong-1');
      expectLoginRejected(res, 'disabled-dora', 'Dora-wrong-1');
      expect(res.text).toContain(GENERIC);
      expect(res.text).not.toMatch(/account is disabled/i);
    });

    it('an account without a role is refused with a message about the user group', async () => {
      const agent = request.agent(t.http);
      const res = await submitLogin(agent, 'norole-nick', 'Nick-pass-1');
      expectLoginRejected(res, 'norole-nick', 'Nick-pass-1');
      expect(res.text).toMatch(/user group \(role\)/);
      expect(res.text).not.toContain(GENERIC);
      await expectNotSignedIn(agent);
      expect((await audit('login.refused', 'norole-nick')).map((r) => r.detail)).toEqual(['no role']);
    });

    it('an account without a profile is refused with a message about the profile', async () => {
      const agent = request.agent(t.http);
      const res = await submitLogin(agent, 'noprofile-pia', 'Pia-pass-1');
      expectLoginRejected(res, 'noprofile-pia', 'Pia-pass-1');
      expect(res.text).toMatch(/user profile/);
      expect(res.text).not.toContain(GENERIC);
      await expectNotSignedIn(agent);
      expect((await audit('login.refused', 'noprofile-pia')).map((r) => r.detail)).toEqual(['no user profile']);
    });

    it.each([
      ['norole-nick', 'Nick-wrong-1'],
      ['noprofile-pia', 'Pia-wrong-1'],
    ])('%s with a wrong password only gets the generic message', async (username, password) => {
      const res = await submitLogin(request.agent(t.http), username, password);
      expectLoginRejected(res, username, password);
      expect(res.text).toContain(GENERIC);
      expect(res.text).not.toMatch(/user group|user profile/i);
    });
  });

  describe('audit', () => {
    beforeAll(async () => {
      await createUser(t, { username: 'audited-ann', password: 'Ann-pass-12' });
    });

    it('records successes and failures with address and username, never a password or hash', async () => {
      const agent = request.agent(t.http);
      expect((await submitLogin(agent, 'audited-ann', 'Ann-wrong-12')).status).toBe(422);
      expect((await submitLogin(agent, 'ghost-user', 'Ghost-pass-12')).status).toBe(422);
      expect((await submitLogin(agent, 'audited-ann', 'Ann-pass-12')).status).toBe(303);

      const [ann] = await t.sql<{ id: number }>(`select id from users where username = 'audited-ann'`);
      const loopback = /^(::ffff:)?127\.0\.0\.1$|^::1$/;

      const failures = await audit('login.failure', 'audited-ann');
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({ actor_id: ann.id, actor_name: 'audited-ann', object_type: 'user', object_id: String(ann.id), detail: 'wrong password' });
      expect(failures[0].ip).toMatch(loopback);

      const ghost = await audit('login.failure', 'ghost-user');
      expect(ghost).toHaveLength(1);
      expect(ghost[0]).toMatchObject({ actor_id: null, actor_name: 'ghost-user', object_id: null, detail: 'unknown username' });
      expect(ghost[0].ip).toMatch(loopback);

      const successes = await audit('login.success', 'audited-ann');
      expect(successes).toHaveLength(1);
      expect(successes[0]).toMatchObject({ actor_id: ann.id, actor_name: 'audited-ann', object_type: 'user', object_id: String(ann.id) });
      expect(successes[0].ip).toMatch(loopback);

      // Across everything this file has done: no password, no hash in the audit log.
      const all = await t.sql<{ row: string }>('select row_to_json(a)::text as row from audit_events a');
      expect(all.length).toBeGreaterThan(10);
      const typed = [
        ADMIN_PASSWORD,
        'Ann-pass-12',
        'Ann-wrong-12',
        'Ghost-pass-12',
        'Walter-pass-1',
        'Wrong-pass-77',
        'Lock-pass-1',
        'Bad-pass-',
        'Dora-pass-1',
        'Nick-pass-1',
        'Pia-pass-1',
      ];
      for (const { row } of all) {
        expect(row).not.toContain('$argon2');
        for (const p of typed) expect(row).not.toContain(p);
      }
    });
  });
});
