import request from 'supertest';
import { createTestApp, TestApp } from '../support/app';
import { createUser } from '../support/factories';
import { sessionIdFrom, submitLogin } from '../support/http';

/**
 * The session row's idle expiry is renewed at most once a minute, not on every request (each
 * renewal is a write). The cookie is still renewed on every response.
 */
describe('session renewal', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
    await createUser(t, { username: 'rena', password: 'Rena-pass-123' });
  });
  afterAll(async () => {
    await t.close();
  });

  async function signIn() {
    const agent = request.agent(t.http);
    const res = await submitLogin(agent, 'rena', 'Rena-pass-123');
    expect(res.status).toBe(303);
    const sid = sessionIdFrom(res.headers['set-cookie']);
    if (!sid) throw new Error('No session cookie at login');
    // The first page after sign-in stores the form token in the session (a save, not a renewal).
    expect((await agent.get('/account')).status).toBe(200);
    return { agent, sid };
  }

  /** Sets the row's expiry to `seconds` from now and returns it as the database keeps it. */
  async function expireIn(sid: string, seconds: number): Promise<string> {
    const [row] = await t.sql<{ expire: string }>(`update session set expire = now() + $2 * interval '1 second' where sid = $1 returning expire::text`, [sid, seconds]);
    return row.expire;
  }
  async function expireOf(sid: string) {
    const [row] = await t.sql<{ expire: string; idle_seconds: number }>(
      `select expire::text, extract(epoch from (expire - localtimestamp))::float8 as idle_seconds from session where sid = $1`,
      [sid],
    );
    return row;
  }

  it('a request within a minute of the last renewal leaves the row as it is, and still renews the cookie', async () => {
    const s = await signIn();
    // As if renewed 20 seconds ago.
    const before = await expireIn(s.sid, 30 * 60 - 20);
    const page = await s.agent.get('/account');
    expect(page.status).toBe(200);
    expect((await expireOf(s.sid)).expire).toBe(before);
    const cookie = ([] as string[]).concat(page.headers['set-cookie'] ?? []).find((c) => c.startsWith('tessera.sid='));
    expect(cookie).toBeDefined();
    // Several requests in a row: still no write.
    await s.agent.get('/account');
    await s.agent.get('/account');
    expect((await expireOf(s.sid)).expire).toBe(before);
  });

  it('a request more than a minute after the last renewal renews the row to 30 minutes from now', async () => {
    const s = await signIn();
    // As if renewed 90 seconds ago.
    const before = await expireIn(s.sid, 30 * 60 - 90);
    expect((await s.agent.get('/account')).status).toBe(200);
    const after = await expireOf(s.sid);
    expect(after.expire).not.toBe(before);
    expect(after.idle_seconds).toBeGreaterThan(30 * 60 - 30);
    expect(after.idle_seconds).toBeLessThanOrEqual(30 * 60 + 1);
  });

  it('an idle session still ends when its row has expired', async () => {
    const s = await signIn();
    await expireIn(s.sid, -1);
    const res = await s.agent.get('/account');
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(/^\/login/);
  });
});
