import request from 'supertest';
import type { App } from 'supertest/types';
import { ADMIN_PASSWORD, createSecondInstance, createTestApp, TestApp } from '../support/app';
import { createUser } from '../support/factories';
import { formIn } from '../support/forms';
import { Agent, csrfFrom, login, submitLogin } from '../support/http';
import { decodeEntities } from '../support/html';

const GENERIC = 'The username or password is incorrect.';
const THROTTLED = /Too many failed sign-in attempts\. Wait \d+ (seconds?|minutes), then try again\./;

/**
 * Lock-out is no weapon (SPEC §2): failed sign-ins are throttled per client address and per
 * username with growing delays, in PostgreSQL so that every instance sees them, and the account
 * lock only holds for addresses that have failed: the real user signing in from an address of
 * their own still gets in while an attacker keeps the account locked. Administrators unlock.
 */
describe('sign-in throttling and lock-out', () => {
  let t: TestApp;
  let second: Awaited<ReturnType<typeof createSecondInstance>>;

  beforeAll(async () => {
    t = await createTestApp();
    second = await createSecondInstance(t);
  });
  afterAll(async () => {
    await second?.close();
    await t.close();
  });

  /** A browser at a client address (the app trusts X-Forwarded-For from loopback, as from a proxy). */
  const from = (address: string, http: App = t.http): Agent => request.agent(http).set('X-Forwarded-For', address);

  const lockedUntil = async (username: string) =>
    (await t.sql<{ locked_until: Date | null }>('select locked_until from users where username = $1', [username]))[0].locked_until;

  const throttleRow = async (key: string) =>
    (await t.sql<{ failures: number; blocked_until: Date | null; seconds: number | null }>(
      'select failures, blocked_until, extract(epoch from blocked_until - now())::float as seconds from login_throttle where key = $1',
      [key],
    ))[0];

  /** The message of the login page's error summary. */
  const messageOf = (html: string) => decodeEntities(/<div class="error-summary"[^>]*>\s*<p>([^<]*)<\/p>/.exec(html)?.[1] ?? '');

  it('five failed sign-ins from an attacker lock admin for the attacker only: admin signs in from another address', async () => {
    const attacker = '203.0.113.66';
    for (let i = 1; i <= 5; i++) {
      const res = await submitLogin(from(attacker), 'admin', `Guess-${i}-pass`);
      expect(res.status).toBe(422);
      expect(messageOf(res.text)).toBe(GENERIC);
    }
    const lock = await lockedUntil('admin');
    expect(lock!.getTime()).toBeGreaterThan(Date.now());

    // The lock holds for the address that failed, even with the right password…
    const attackerWithPassword = await submitLogin(from(attacker), 'admin', ADMIN_PASSWORD);
    expect(attackerWithPassword.status).toBe(422);
    expect(messageOf(attackerWithPassword.text)).toMatch(/locked/);

    // …but admin, from an address without failed attempts, signs in.
    const admin = from('198.51.100.7');
    const signIn = await submitLogin(admin, 'admin', ADMIN_PASSWORD);
    expect(signIn.status).toBe(303);
    expect((await admin.get('/account')).status).toBe(200);
    const [success] = await t.sql<{ ip: string; detail: string }>(
      `select ip, detail from audit_events where action = 'login.success' and actor_name = 'admin' order by id desc limit 1`,
    );
    expect(success).toEqual({ ip: '198.51.100.7', detail: expect.stringContaining('while the account is locked') });
    // The lock is not lifted by that sign-in: it still holds for the attacker.
    expect((await lockedUntil('admin'))!.getTime()).toBe(lock!.getTime());
    expect((await submitLogin(from(attacker), 'admin', ADMIN_PASSWORD)).status).toBe(422);
  });

  it('an address that keeps failing is refused with growing delays, with a message that tells nothing about the username', async () => {
    await createUser(t, { username: 'throttle-tom', password: 'Tom-pass-2026' });
    const attacker = '203.0.113.77';
    // Ten failures on ten different usernames: the address is what is throttled here.
    for (let i = 1; i <= 10; i++) expect((await submitLogin(from(attacker), `nobody-${i}`, 'Wrong-pass-1')).status).toBe(422);
    const first = await throttleRow(`ip:${attacker}`);
    expect(first.failures).toBe(10);
    expect(first.seconds).toBeGreaterThan(20);
    expect(first.seconds).toBeLessThanOrEqual(30);

    // Refused before any password check: an unknown name and a real user with the right password
    // get the same 429 page and message.
    const unknown = await submitLogin(from(attacker), 'nobody-11', 'Wrong-pass-1');
    const known = await submitLogin(from(attacker), 'throttle-tom', 'Tom-pass-2026');
    for (const res of [unknown, known]) {
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
      expect(messageOf(res.text)).toMatch(THROTTLED);
      expect(res.text).toContain('Sign in to Tessera');
      expect(res.text).not.toContain(GENERIC);
    }
    expect(messageOf(known.text).replace(/\d+/, 'N')).toBe(messageOf(unknown.text).replace(/\d+/, 'N'));
    // Throttled attempts are not counted, so waiting is the only way on.
    expect((await throttleRow(`ip:${attacker}`)).failures).toBe(10);

    // The delay passes; the next failure doubles it.
    await t.sql(`update login_throttle set blocked_until = now() - interval '1 second' where key = $1`, [`ip:${attacker}`]);
    expect((await submitLogin(from(attacker), 'nobody-12', 'Wrong-pass-1')).status).toBe(422);
    const second = await throttleRow(`ip:${attacker}`);
    expect(second.failures).toBe(11);
    expect(second.seconds).toBeGreaterThan(50);
    expect(second.seconds).toBeLessThanOrEqual(60);

    // Another address is not concerned.
    expect((await submitLogin(from('198.51.100.8'), 'throttle-tom', 'Tom-pass-2026')).status).toBe(303);
  });

  it('a username attacked from many addresses is throttled for the addresses that failed, never for a clean one', async () => {
    await createUser(t, { username: 'target-tina', password: 'Tina-pass-2026' });
    const addresses = Array.from({ length: 10 }, (_, i) => `203.0.113.${100 + i}`);
    for (const address of addresses) expect((await submitLogin(from(address), 'target-tina', 'Wrong-pass-1')).status).toBe(422);
    expect((await throttleRow('user:target-tina')).failures).toBe(10);
    expect(await lockedUntil('target-tina')).not.toBeNull();

    // Each of those addresses failed only once, yet the username is throttled for them…
    const again = await submitLogin(from(addresses[0]), 'target-tina', 'Tina-pass-2026');
    expect(again.status).toBe(429);
    expect(messageOf(again.text)).toMatch(THROTTLED);
    // …while Tina, from her own address, signs in.
    expect((await submitLogin(from('198.51.100.9'), 'target-tina', 'Tina-pass-2026')).status).toBe(303);
  });

  it('the throttle holds across instances: failures counted on one are refused on the other', async () => {
    const attacker = '203.0.113.200';
    for (let i = 1; i <= 10; i++) expect((await submitLogin(from(attacker, t.http), `ghost-${i}`, 'Wrong-pass-1')).status).toBe(422);
    const onSecond = await submitLogin(from(attacker, second.http), 'ghost-11', 'Wrong-pass-1');
    expect(onSecond.status).toBe(429);
    expect(messageOf(onSecond.text)).toMatch(THROTTLED);

    // The account lock made on the first instance holds on the second for the address that
    // failed, and not for a clean one.
    await createUser(t, { username: 'shared-sam', password: 'Sam-pass-2026' });
    const sam = '203.0.113.201';
    for (let i = 1; i <= 5; i++) await submitLogin(from(sam, t.http), 'shared-sam', `Wrong-${i}-pass`);
    const locked = await submitLogin(from(sam, second.http), 'shared-sam', 'Sam-pass-2026');
    expect(locked.status).toBe(422);
    expect(messageOf(locked.text)).toMatch(/locked/);
    expect((await submitLogin(from('198.51.100.10', second.http), 'shared-sam', 'Sam-pass-2026')).status).toBe(303);
  });

  describe('Unlock', () => {
    let admin: Agent;

    beforeAll(async () => {
      admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    });

    /** Locks `username` by five failed sign-ins from `address`. */
    const lockOut = async (username: string, address: string) => {
      for (let i = 1; i <= 5; i++) await submitLogin(from(address), username, `Wrong-${i}-pass`);
      expect(await lockedUntil(username)).not.toBeNull();
    };

    it('an administrator unlocks a locked user from the user page; the user signs in again from the address that failed', async () => {
      const lou = await createUser(t, { username: 'locked-lou', password: 'Lou-pass-2026' });
      await lockOut('locked-lou', '203.0.113.150');
      expect((await submitLogin(from('203.0.113.150'), 'locked-lou', 'Lou-pass-2026')).status).toBe(422);

      const page = await admin.get(`/users/${lou.id}`);
      expect(page.status).toBe(200);
      expect(page.text).toContain('<strong>Locked</strong>');
      const unlock = formIn(page.text, { action: `/users/${lou.id}/unlock` }, { agent: admin, url: `/users/${lou.id}` });
      expect(page.text).toMatch(new RegExp(`action="/users/${lou.id}/unlock"[^>]*>[\\s\\S]*?<button type="submit"[^>]*>Unlock</button>`));
      const res = await unlock.submit('Unlock');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/users/${lou.id}`);
      const after = await admin.get(res.headers.location);
      expect(after.text).toContain('User locked-lou unlocked');
      expect(after.text).not.toContain(`action="/users/${lou.id}/unlock"`);
      expect(await lockedUntil('locked-lou')).toBeNull();

      const [audit] = await t.sql<{ actor_name: string; changes: unknown }>(`select actor_name, changes from audit_events where action = 'user.unlocked' and object_id = $1`, [String(lou.id)]);
      expect(audit).toEqual({ actor_name: 'admin', changes: { locked: { from: true, to: false } } });
      expect((await submitLogin(from('203.0.113.150'), 'locked-lou', 'Lou-pass-2026')).status).toBe(303);
    });

    it('the users list unlocks the selected users (bulk action) and says which were not locked', async () => {
      const lia = await createUser(t, { username: 'locked-lia', password: 'Lia-pass-2026' });
      const free = await createUser(t, { username: 'unlocked-ulf', password: 'Ulf-pass-2026' });
      await lockOut('locked-lia', '203.0.113.151');

      const list = await admin.get('/users?q=l');
      expect(list.status).toBe(200);
      const bulk = formIn(list.text, { action: '/users/bulk/enable' }, { agent: admin, url: '/users?q=l' });
      expect(list.text).toContain('<button type="submit" formaction="/users/bulk/unlock">Unlock</button>');
      for (const user of [lia, free]) expect(list.text).toContain(`name="ids" value="${user.id}"`);
      const res = await bulk.check('Select locked-lia').check('Select unlocked-ulf').submit('Unlock');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(bulk.values('Unlock').back);
      const after = decodeEntities((await admin.get(res.headers.location)).text);
      expect(after).toContain('Unlocked 1 user: locked-lia.');
      expect(after).toContain('unlocked-ulf: not locked.');
      expect(await lockedUntil('locked-lia')).toBeNull();
      expect((await submitLogin(from('203.0.113.151'), 'locked-lia', 'Lia-pass-2026')).status).toBe(303);
    });
  });
});
