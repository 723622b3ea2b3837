import request from 'supertest';
import { ADMIN_PASSWORD, TestApp } from '../support/app';
import { createUser } from '../support/factories';
import { Agent, csrfFrom, login } from '../support/http';
import { textOf } from '../support/html';
import { appWithAdmin } from '../support/sessions';

/**
 * The audit log page `/audit` (SPEC §4 "Audit log"): sign-in events with who, from where and
 * what; filters; keyset paging; access; escaping; no secrets in the log.
 */

interface AuditRow {
  when: string;
  who: string;
  ip: string;
  action: string;
  /** Object cell as text: type, “label”, #id and the detail line. */
  object: string;
  changes: string;
}

/** The event rows of the audit table (the "No audit events match." row is not one). */
function auditRows(html: string): AuditRow[] {
  const tbody = /<tbody>([\s\S]*?)<\/tbody>/.exec(html);
  if (!tbody) throw new Error(`No audit table in the page:\n${html.slice(0, 800)}`);
  const rows: AuditRow[] = [];
  for (const tr of tbody[1].matchAll(/<tr>([\s\S]*?)<\/tr>/g)) {
    const cells = [...tr[1].matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => textOf(m[1]));
    if (cells.length !== 6) continue;
    const [when, who, ip, action, object, changes] = cells;
    rows.push({ when, who, ip, action, object, changes });
  }
  return rows;
}

function link(html: string, label: string): string | null {
  for (const m of html.matchAll(/<a href="([^"]+)"[^>]*>([^<]*)<\/a>/g)) {
    if (m[2].includes(label)) return m[1].replace(/&amp;/g, '&').replace(/&#x3D;/g, '=');
  }
  return null;
}

/** Signs in (or tries to) with a form token of the agent's own session. */
async function attemptLogin(agent: Agent, username: string, password: string, forwardedFor?: string) {
  const token = csrfFrom((await agent.get('/login')).text);
  const post = agent.post('/login').type('form');
  if (forwardedFor) post.set('X-Forwarded-For', forwardedFor);
  return post.send({ _csrf: token, username, password });
}

const WRONG_PASSWORD = 'Wrong-typed-pass-77';
const GHOST_PASSWORD = 'Ghost-typed-pass-88';

describe('audit log page', () => {
  let t: TestApp;
  let admin: Agent;

  beforeAll(async () => {
    ({ t, admin } = await appWithAdmin());
    // A stranger behind the (trusted, loopback) proxy types an unknown username…
    const ghost = await attemptLogin(request.agent(t.http), 'ghost-typed', GHOST_PASSWORD, '203.0.113.9');
    expect(ghost.status).toBe(422);
    // …and someone types a wrong password for admin.
    const wrong = await attemptLogin(request.agent(t.http), 'admin', WRONG_PASSWORD);
    expect(wrong.status).toBe(422);
  });
  afterAll(async () => {
    await t.close();
  });

  describe('sign-in events', () => {
    it('lists the successful sign-in of admin', async () => {
      const res = await admin.get('/audit');
      expect(res.status).toBe(200);
      expect(res.text).toContain('<h1>Audit log</h1>');
      const success = auditRows(res.text).filter((r) => r.action === 'login.success');
      expect(success.length).toBeGreaterThanOrEqual(1);
      expect(success[0]).toMatchObject({ who: 'admin', ip: '127.0.0.1' });
      expect(success[0].object).toContain('“admin”');
    });

    it('lists failed sign-ins with the typed username and the client address', async () => {
      const rows = auditRows((await admin.get('/audit')).text);
      const ghost = rows.find((r) => r.action === 'login.failure' && r.who === 'ghost-typed');
      expect(ghost).toBeDefined();
      expect(ghost!.ip).toBe('203.0.113.9');
      expect(ghost!.object).toContain('“ghost-typed”');
      expect(ghost!.object).toContain('unknown username');
      const wrong = rows.find((r) => r.action === 'login.failure' && r.who === 'admin');
      expect(wrong).toBeDefined();
      expect(wrong!.ip).toBe('127.0.0.1');
      expect(wrong!.object).toContain('wrong password');
    });

    it('never records a password or a password hash', async () => {
      const hashes = (await t.sql<{ password_hash: string }>('select password_hash from users where password_hash is not null')).map((r) => r.password_hash);
      expect(hashes.length).toBeGreaterThan(0);
      const rows = await t.sql<{ action: string; row: string }>('select action, row_to_json(a)::text as row from audit_events a');
      const signIns = rows.filter((r) => r.action.startsWith('login.'));
      expect(signIns.map((r) => r.action)).toEqual(expect.arrayContaining(['login.success', 'login.failure']));
      for (const { row } of rows) {
        for (const secret of [ADMIN_PASSWORD, WRONG_PASSWORD, GHOST_PASSWORD, ...hashes]) expect(row).not.toContain(secret);
        expect(row).not.toMatch(/\$argon2/);
      }
      const page = (await admin.get('/audit')).text;
      for (const secret of [ADMIN_PASSWORD, WRONG_PASSWORD, GHOST_PASSWORD]) expect(page).not.toContain(secret);
      expect(page).not.toContain('$argon2');
    });
  });

  describe('filters', () => {
    beforeAll(async () => {
      await t.sql(
        `insert into audit_events (occurred_at, actor_name, action, object_type, object_label, detail) values
           ('2020-01-10T12:00:00Z', 'filter-actor', 'test.dated', 'user', 'dated-A', null),
           ('2020-01-15T00:00:00Z', 'someone', 'test.dated', 'user', 'dated-B', null),
           ('2020-01-31T23:59:00Z', 'someone', 'test.dated', 'user', 'dated-C', 'needle-in-detail'),
           ('2020-02-01T00:00:00Z', 'someone', 'test.dated', 'organization', 'dated-D', null)`,
      );
    });

    it('?action= shows only that action', async () => {
      const rows = auditRows((await admin.get('/audit?action=login.failure')).text);
      expect(rows.length).toBeGreaterThanOrEqual(2);
      expect(new Set(rows.map((r) => r.action))).toEqual(new Set(['login.failure']));
    });

    it('?q= searches the actor, the object and the detail, case-insensitively', async () => {
      const byActor = auditRows((await admin.get('/audit?q=GHOST-typed')).text);
      expect(byActor.length).toBeGreaterThan(0);
      expect(byActor.every((r) => r.who === 'ghost-typed')).toBe(true);

      const byObject = auditRows((await admin.get('/audit?q=dated-b')).text);
      expect(byObject.map((r) => r.object)).toEqual([expect.stringContaining('dated-B')]);

      const byDetail = auditRows((await admin.get('/audit?q=needle-in')).text);
      expect(byDetail.map((r) => r.object)).toEqual([expect.stringContaining('dated-C')]);

      const byFilterActor = auditRows((await admin.get('/audit?q=filter-actor')).text);
      expect(byFilterActor.map((r) => r.object)).toEqual([expect.stringContaining('dated-A')]);
    });

    it('?q= treats % and _ as plain characters', async () => {
      for (const q of ['%', '_', '%25']) {
        const res = await admin.get(`/audit?q=${encodeURIComponent(q)}`);
        expect(res.status).toBe(200);
        expect(auditRows(res.text)).toEqual([]);
        expect(res.text).toContain('No audit events match.');
      }
    });

    it('?objectType= narrows to one kind of object', async () => {
      const rows = auditRows((await admin.get('/audit?action=test.dated&objectType=organization')).text);
      expect(rows.map((r) => r.object)).toEqual([expect.stringContaining('dated-D')]);
    });

    it('from and to (yyyy-mm-dd, both days included) bound the list', async () => {
      const labels = async (query: string) =>
        auditRows((await admin.get(`/audit?action=test.dated&${query}`)).text).map((r) => /dated-([A-D])/.exec(r.object)?.[1]);
      expect(await labels('')).toEqual(['D', 'C', 'B', 'A']);
      expect(await labels('from=2020-01-15&to=2020-01-31')).toEqual(['C', 'B']);
      expect(await labels('from=2020-01-15')).toEqual(['D', 'C', 'B']);
      expect(await labels('to=2020-01-31')).toEqual(['C', 'B', 'A']);
      expect(await labels('from=2020-02-01&to=2020-02-01')).toEqual(['D']);
      expect(await labels('from=2021-01-01')).toEqual([]);
    });

    it('keeps the filter values in the form', async () => {
      const html = (await admin.get('/audit?q=ghost&action=login.failure&from=2020-01-01&to=2030-12-31')).text;
      expect(html).toMatch(/name="q" type="search" value="ghost"/);
      expect(html).toMatch(/<option value="login\.failure" selected>/);
      expect(html).toMatch(/name="from" type="date" value="2020-01-01"/);
      expect(html).toMatch(/name="to" type="date" value="2030-12-31"/);
    });

    it.each([
      'from=notadate',
      'to=notadate',
      'from=2021-02-30',
      'from=2020-13-45',
      'from=0000-01-01',
      'from=0001-01-01',
      'to=9998-12-31',
      'to=9999-12-31',
      'before=abc',
      'before=-1',
      'before=99999999999999999999999',
      'before=9223372036854775808',
      'size=abc',
      'size=0',
      'size=-5',
      'size=100000',
      'q[]=x',
      'q=a&q=b',
      'action[x]=1',
      'before[]=1',
      'q=x…(5,000 characters)',
      'q=%E2%28%A1',
    ])('answers invalid filter values (%s) with the page, not an error', async (query) => {
      const res = await admin.get(`/audit?${query.replace('x…(5,000 characters)', 'x'.repeat(5000))}`);
      expect(res.status).toBe(200);
      expect(res.text).toContain('<h1>Audit log</h1>');
      expect(res.text).not.toMatch(/Error:|^\s*at\s.*:\d+:\d+/m);
    });

    it('answers a NUL character in a filter with the 400 page, not an error', async () => {
      for (const query of ['objectType=%00', 'q=a%00b', 'action=login.failure%00']) {
        const res = await admin.get(`/audit?${query}`);
        expect(res.status).toBe(400);
        expect(res.text).toContain('<h1>Bad request</h1>');
        expect(res.text).not.toMatch(/Error:|^\s*at\s.*:\d+:\d+/m);
      }
    });

    it('ignores a day that does not exist instead of rolling it over', async () => {
      // 2020-01-32 / 2020-02-30 are not days; the filter is dropped, every dated event shows.
      const rows = auditRows((await admin.get('/audit?action=test.dated&from=2020-02-30')).text);
      expect(rows).toHaveLength(4);
    });
  });

  describe('keyset paging', () => {
    beforeAll(async () => {
      await t.sql(
        `insert into audit_events (action, object_type, object_label)
         select 'test.bulk', 'user', 'bulk-marker ' || lpad(g::text, 3, '0') from generate_series(1, 120) g order by g`,
      );
    });

    it('shows 50 rows and a Next page link, and no First page link on the first page', async () => {
      const res = await admin.get('/audit?size=50');
      expect(res.status).toBe(200);
      expect(auditRows(res.text)).toHaveLength(50);
      expect(link(res.text, 'Next page')).not.toBeNull();
      expect(link(res.text, 'First page')).toBeNull();
      // 50 is also the default size.
      expect(auditRows((await admin.get('/audit')).text)).toHaveLength(50);
    });

    it('walks every page with the Next page links: no duplicates, nothing skipped', async () => {
      const seen: string[] = [];
      const sizes: number[] = [];
      let url: string | null = '/audit?q=bulk-marker&size=50';
      let pages = 0;
      while (url && pages < 10) {
        const res = await admin.get(url);
        expect(res.status).toBe(200);
        const rows = auditRows(res.text);
        sizes.push(rows.length);
        seen.push(...rows.map((r) => /bulk-marker (\d{3})/.exec(r.object)![1]));
        if (pages > 0) {
          const first = link(res.text, 'First page');
          expect(first).not.toBeNull();
          expect(new URLSearchParams(first!.split('?')[1]).get('before')).toBeNull();
          expect(auditRows((await admin.get(first!)).text).map((r) => r.object)).toEqual(expect.arrayContaining([expect.stringContaining('bulk-marker 120')]));
        }
        url = link(res.text, 'Next page');
        if (url) {
          const params = new URLSearchParams(url.split('?')[1]);
          expect(params.get('q')).toBe('bulk-marker');
          expect(params.get('size')).toBe('50');
          expect(params.get('before')).toMatch(/^\d+$/);
        }
        pages += 1;
      }
      expect(sizes).toEqual([50, 50, 20]);
      expect(new Set(seen).size).toBe(120);
      // Newest first: 120 down to 001.
      expect(seen).toEqual(Array.from({ length: 120 }, (_v, i) => String(120 - i).padStart(3, '0')));
    });

    it('keeps its place when new events arrive between pages', async () => {
      const first = await admin.get('/audit?q=bulk-marker&size=50');
      const firstPage = auditRows(first.text).map((r) => r.object);
      await t.sql(`insert into audit_events (action, object_type, object_label) values ('test.bulk', 'user', 'bulk-marker 121')`);
      const second = auditRows((await admin.get(link(first.text, 'Next page')!)).text).map((r) => r.object);
      expect(second).toHaveLength(50);
      expect(second.filter((o) => firstPage.includes(o))).toEqual([]);
      expect(second[0]).toContain('bulk-marker 070');
    });
  });

  describe('access', () => {
    it('refuses a self-service user with 403', async () => {
      await createUser(t, { username: 'self-service-sam' });
      const sam = await login(t.http, 'self-service-sam', 'Secret-pass-1');
      const res = await sam.get('/audit');
      expect(res.status).toBe(403);
      expect(res.text).not.toContain('login.success');
      expect(res.text).not.toContain('<table class="data">');
    });

    it('sends an anonymous visitor to the login page', async () => {
      const res = await request(t.http).get('/audit?action=login.failure');
      expect(res.status).toBe(303);
      expect(res.headers.location).toMatch(/^\/login\?next=/);
      expect(new URLSearchParams(res.headers.location.split('?')[1]).get('next')).toBe('/audit?action=login.failure');
    });
  });

  describe('escaping', () => {
    it('shows stored markup as text', async () => {
      await t.sql(
        `insert into audit_events (actor_name, ip, action, object_type, object_id, object_label, detail, changes) values
           ('<b>mallory</b>', '<i>ip</i>', 'test.xss', 'user', '<u>7</u>', '<script>alert(1)</script>', '"><img src=x onerror=alert(2)>',
            '{"<em>field</em>": {"from": "<i>x</i>", "to": "</td><script>alert(3)</script>"}}')`,
      );
      const html = (await admin.get('/audit?action=test.xss')).text;
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html).not.toContain('<script>alert(1)</script>');
      expect(html).not.toMatch(/<script/i);
      expect(html).not.toContain('<img src=x');
      expect(html).not.toMatch(/<(b|i|u|em)>/);
      expect(html).toContain('&lt;b&gt;mallory&lt;/b&gt;');
      const [row] = auditRows(html);
      expect(row).toMatchObject({ who: '<b>mallory</b>', ip: '<i>ip</i>', action: 'test.xss' });
      expect(row.object).toContain('<script>alert(1)</script>');
      expect(row.changes).toContain('<em>field</em>');
      expect(row.changes).toContain('</td><script>alert(3)</script>');
    });

    it('shows a searched value as text in the filter form', async () => {
      const html = (await admin.get(`/audit?q=${encodeURIComponent('"><script>alert(4)</script>')}`)).text;
      expect(html).not.toMatch(/<script/i);
      expect(html).toContain('value="&quot;&gt;&lt;script&gt;alert(4)&lt;/script&gt;"');
    });
  });
});
