import request from 'supertest';
import { ADMIN_PASSWORD, createSecondInstance, createTestApp, TestApp } from '../support/app';
import { Agent, csrfFrom, login } from '../support/http';
import { TcpProxy } from '../support/tcp-proxy';

jest.setTimeout(120_000);

/**
 * PostgreSQL hung or stopped (SPEC §1 operations): `/health` answers 503 within its 2 s query
 * timeout instead of hanging, and pages answer a 503 "database unavailable" page instead of a
 * 500. The outage is simulated for one instance only, which reaches the shared test server
 * through a TCP proxy that the test pauses (hung) and closes (stopped).
 */
describe('while the database is unavailable', () => {
  let t: TestApp;
  let proxy: TcpProxy;
  let instance: Awaited<ReturnType<typeof createSecondInstance>>;
  let admin: Agent;

  beforeAll(async () => {
    t = await createTestApp();
    proxy = await TcpProxy.start(t.db.url);
    instance = await createSecondInstance(t, { databaseUrl: proxy.urlFor(t.db.url) });
    admin = await login(instance.http, 'admin', ADMIN_PASSWORD);
  });
  afterAll(async () => {
    await proxy?.down();
    await instance?.close();
    await t.close();
  });

  it('/health answers 503 within its timeout while PostgreSQL hangs, and 200 again once it answers', async () => {
    expect((await request(instance.http).get('/health')).status).toBe(200);
    proxy.pause();
    try {
      // A hang would run into supertest's own timeout (an error, not a response).
      const res = await request(instance.http).get('/health').timeout(15_000);
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ status: 'degraded', database: 'down' });
    } finally {
      proxy.resume();
    }
    expect((await request(instance.http).get('/health').timeout(15_000)).status).toBe(200);
  });

  it('pages answer 503 "database unavailable" (a proper page, no stack) while PostgreSQL is stopped', async () => {
    expect((await admin.get('/users')).status).toBe(200);
    // Someone has the sign-in form open (its session was saved while the database was up).
    const visitor = request.agent(instance.http);
    const form = await visitor.get('/login');
    expect(form.status).toBe(200);
    await proxy.down();

    const health = await request(instance.http).get('/health').timeout(15_000);
    expect(health.status).toBe(503);

    const signIn = visitor.post('/login').type('form').send({ _csrf: csrfFrom(form.text), username: 'admin', password: ADMIN_PASSWORD }).timeout(15_000);
    for (const res of [await admin.get('/users').timeout(15_000), await signIn]) {
      expect(res.status).toBe(503);
      expect(res.type).toBe('text/html');
      expect(res.text).toContain('<h1>Database unavailable</h1>');
      expect(res.text).toContain('Tessera cannot reach its database');
      expect(res.text).not.toMatch(/ECONNREFUSED|at \S+ \(|Error:/);
    }
  });
});
