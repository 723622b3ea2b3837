import { Client } from 'pg';
import { createTestDatabase, TestDatabase } from '../support/database';
import { userRow, workbook } from '../support/imports-files';
import { SmtpSink } from '../support/smtp-sink';
import { Browser, freePort, Instance, sleep, spawnInstance } from './instance';

// Minutes on a busy 2-core machine (scheduling 1,000 users and hashing 1,300 passwords): the
// limits leave room for that.
jest.setTimeout(360_000);

const ADMIN_PASSWORD = 'Admin-pass-2026';
const MAILS = 1000;
const IMPORT_ROWS = 300;

/**
 * SPEC §1 "Scale-out": two Tessera processes (`node dist/src/main.js`, as production runs them)
 * on one PostgreSQL, each with its scheduler and import worker on. A session made on one
 * instance works on the other; 1,000 due credential mails are sent by both, each exactly once;
 * an import uploaded to one instance runs once while the other keeps serving pages.
 */
describe('two app processes on one PostgreSQL', () => {
  let db: TestDatabase;
  let pg: Client;
  let sink: SmtpSink;
  let a: Instance;
  let b: Instance;
  const admin = new Browser();
  const timings: Record<string, number> = {};

  const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []) => (await pg.query(text, params)).rows as T[];
  const time = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await work();
    } finally {
      timings[label] = Date.now() - started;
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    sink = await SmtpSink.start();
    const portA = await freePort();
    let portB = await freePort();
    while (portB === portA) portB = await freePort();
    const env = {
      DATABASE_URL: db.url,
      SMTP_URL: sink.url,
      SESSION_SECRET: 'instances-session-secret-0123456789abcdef',
      ADMIN_PASSWORD,
      SCHEDULER: 'on',
      // Both workers look for queued imports every second, so both compete for the upload.
      IMPORT_POLL_SECONDS: '1',
    };
    // Started together: the migrations and first-start data run once, under the advisory lock.
    const starting = [spawnInstance('a', portA, env), spawnInstance('b', portB, env)];
    [a, b] = starting;
    await time('start', () => Promise.all(starting.map((i) => i.ready())));
  });

  afterAll(async () => {
    // Normally stopped by the last test already; this only cleans up after a failure.
    await Promise.all([a, b].filter((i) => i && !i.exited).map((i) => i.stop(10_000)));
    await pg?.end();
    await sink?.stop();
    await db?.drop();
    process.stderr.write(`two instances, ms: ${JSON.stringify(timings)}\n`);
  });

  /** Fails with both processes' output, which tells why far better than a status code. */
  const expectStatus = (page: { status: number; location: string | null; text: string }, status: number, what: string) => {
    if (page.status !== status) {
      throw new Error(`${what}: expected ${status}, got ${page.status} (location ${page.location ?? '-'})\n${page.text.slice(0, 800)}\n--- a ---\n${a.output()}\n--- b ---\n${b.output()}`);
    }
  };

  it('a session made on one instance is signed in on the other (sessions live in PostgreSQL)', async () => {
    const login = await admin.get(`${a.base}/login`);
    expectStatus(login, 200, 'GET /login on a');
    const signedIn = await admin.submit(a.base, login, 'Sign in', { Username: 'admin', Password: ADMIN_PASSWORD });
    expectStatus(signedIn, 303, 'POST /login on a');
    expect(admin.jar.get('tessera.sid')).toBeDefined();

    // The same cookie, the other process: no sign-in page, the admin's users list.
    const onB = await admin.get(`${b.base}/users`);
    expectStatus(onB, 200, 'GET /users on b with the session of a');
    expect(onB.text).toContain('Sign out');
    expect(onB.text).toContain('admin');

    // A stranger on b is sent to the sign-in page.
    const stranger = await new Browser().get(`${b.base}/users`);
    expect(stranger.status).toBe(303);
    expect(stranger.location).toMatch(/\/login/);
  });

  it('1,000 credential mails scheduled through both instances are sent by both, each exactly once', async () => {
    const [{ id: global }] = await sql<{ id: number }>('select id from organizations where parent_id is null');
    const users = await sql<{ id: number; username: string; email: string }>(
      `with c as (insert into contacts (kind, full_name, email, organization_id)
                  select 'person', 'Mass ' || g, 'mass' || g || '@example.org', $1 from generate_series(1, $2) g returning id, email),
            u as (insert into users (contact_id, username) select id, split_part(email, '@', 1) from c returning id, username, contact_id),
            m as (insert into memberships (user_id, organization_id) select id, $1 from u)
       select u.id, u.username, c.email from u join c on c.id = u.contact_id order by u.id`,
      [global, MAILS],
    );
    expect(users).toHaveLength(MAILS);

    // "Email new password now" for the selected users, as the users list submits it: one page
    // of 100 selected users per request, the pages alternating between the two instances, one
    // request on each at a time. Each instance starts a dispatch pass right after its first
    // request. The token is a's, the session the same.
    // The bulk form of the users list pages 100 ids a post: the token from its rendered form.
    const token = Browser.csrfOf(await admin.get(`${a.base}/users`), 'Set password send date for selected users');
    const PAGE = 100;
    await time('schedule', async () => {
      for (let first = 0; first < MAILS; first += 2 * PAGE) {
        const posts = await Promise.all(
          [a, b].map((instance, k) => {
            const ids = users.slice(first + k * PAGE, first + (k + 1) * PAGE).map((u) => String(u.id));
            return admin.post(`${instance.base}/users/password-send-date/now`, { _csrf: token, ids });
          }),
        );
        for (const [k, post] of posts.entries()) {
          expectStatus(post, 303, `POST /users/password-send-date/now on ${[a, b][k].name}`);
          expect(post.location).toBe('/users');
        }
      }
    });

    // Every selected user was scheduled, none skipped (the flash messages of concurrent requests
    // on one session may overwrite each other, so the audit log counts).
    const flashes = await admin.get(`${a.base}/users`);
    expect(flashes.text).toContain(`to ${PAGE} users`);
    expect(flashes.text).not.toContain('Skipped');
    const [{ n: scheduled }] = await sql<{ n: number }>(`select count(*)::int as n from credential_jobs where status in ('pending', 'sending', 'sent')`);
    expect(scheduled).toBe(MAILS);
    const [{ n: audited }] = await sql<{ n: number }>(`select count(*)::int as n from audit_events where action = 'credentials.send_requested'`);
    expect(audited).toBe(MAILS);

    // Both dispatchers run until the queue is empty: every job sent, and no mail arrives twice.
    await time('mails', async () => {
      const started = Date.now();
      for (;;) {
        const [{ open }] = await sql<{ open: number }>(`select count(*)::int as open from credential_jobs where status <> 'sent'`);
        if (open === 0 && sink.messages.length >= MAILS) return;
        if (Date.now() - started > 150_000) {
          throw new Error(`150 s after scheduling: ${sink.messages.length} mails received, ${open} jobs not sent\n--- a ---\n${a.output()}\n--- b ---\n${b.output()}`);
        }
        await sleep(250);
      }
    });
    await sleep(500); // a duplicate would arrive now
    const recipients = sink.messages.flatMap((m) => m.to);
    expect(recipients).toHaveLength(MAILS);
    expect(new Set(recipients)).toEqual(new Set(users.map((u) => u.email)));
    const byAddress = new Map(users.map((u) => [u.email, u.username]));
    const wrong = sink.messages.filter((m) => !m.text.includes(byAddress.get(m.to[0])!));
    expect(wrong).toHaveLength(0);

    // Each job was sent once, by the instance that claimed it: both processes took part.
    const jobs = await sql<{ claimed_by: string; n: number; attempts: number }>(
      `select claimed_by, count(*)::int as n, max(attempts)::int as attempts from credential_jobs where status = 'sent' group by claimed_by`,
    );
    const pidOf = (claimedBy: string) => Number(/:(\d+):[0-9a-f]+$/.exec(claimedBy)?.[1]);
    const perPid = new Map(jobs.map((j) => [pidOf(j.claimed_by), j.n]));
    expect([...perPid.keys()].sort()).toEqual([a.pid, b.pid].sort());
    expect(perPid.get(a.pid)! + perPid.get(b.pid)!).toBe(MAILS);
    expect(perPid.get(a.pid)).toBeGreaterThan(0);
    expect(perPid.get(b.pid)).toBeGreaterThan(0);
    expect(Math.max(...jobs.map((j) => j.attempts))).toBe(1);
    timings.sentByA = perPid.get(a.pid)!;
    timings.sentByB = perPid.get(b.pid)!;
    const scheduledOnA = new Set(users.filter((_, i) => Math.floor(i / PAGE) % 2 === 0).map((u) => u.id));
    const cross = await sql<{ claimed_by: string; user_id: number }>(`select claimed_by, user_id from credential_jobs where status = 'sent'`);
    timings.crossSent = cross.filter((j) => (pidOf(j.claimed_by) === a.pid) !== scheduledOnA.has(j.user_id)).length;

    // The mail log and the users agree; the new password replaced the old one once per user.
    const [log] = await sql<{ sent: number; other: number }>(
      `select count(*) filter (where status = 'sent')::int as sent, count(*) filter (where status <> 'sent')::int as other from mail_messages where kind = 'credentials'`,
    );
    expect(log).toEqual({ sent: MAILS, other: 0 });
    const [state] = await sql<{ sent: number; versions: number }>(
      `select count(*) filter (where password_send_status = 'sent' and password_hash is not null)::int as sent, count(distinct session_version)::int as versions
         from users where id = any($1)`,
      [users.map((u) => u.id)],
    );
    expect(state).toEqual({ sent: MAILS, versions: 1 });
  });

  it('an import uploaded to one instance runs once while the other keeps serving pages', async () => {
    const file = await workbook(Array.from({ length: IMPORT_ROWS }, (_, i) => userRow(i + 1)));
    const importsPage = await admin.get(`${a.base}/imports`);
    expectStatus(importsPage, 200, 'GET /imports on a');
    const started = Date.now();
    const upload = await admin.upload(`${a.base}/imports`, Browser.csrfOf(importsPage, 'Import'), file, 'users.xlsx');
    expectStatus(upload, 303, 'POST /imports on a');
    const jobId = Number(/^\/imports\/(\d+)$/.exec(upload.location ?? '')?.[1]);
    expect(jobId).toBeGreaterThan(0);

    // While the import runs (on whichever instance claimed it), b answers every page.
    const statuses: number[] = [];
    const seen = new Set<string>();
    let job: { status: string; imported_count: number; attempts: number; total_rows: number | null };
    await time('import', async () => {
      for (;;) {
        [job] = await sql<typeof job>('select status, imported_count, attempts, total_rows from import_jobs where id = $1', [jobId]);
        seen.add(job.status);
        if (job.status === 'succeeded' || job.status === 'failed') return;
        if (Date.now() - started > 200_000) throw new Error(`Import still ${job.status} after 200 s\n--- a ---\n${a.output()}\n--- b ---\n${b.output()}`);
        const [page, progress] = await Promise.all([admin.get(`${b.base}/users?q=imp`), admin.get(`${b.base}/imports/${jobId}`)]);
        statuses.push(page.status, progress.status);
        await sleep(200);
      }
    });
    expect(job!).toEqual({ status: 'succeeded', imported_count: IMPORT_ROWS, attempts: 1, total_rows: IMPORT_ROWS });
    expect(seen.has('importing') || seen.has('validating')).toBe(true);
    expect(statuses.length).toBeGreaterThanOrEqual(4);
    expect(statuses.every((s) => s === 200)).toBe(true);
    timings.pagesOnBDuringImport = statuses.length;

    // One job, each user created exactly once.
    const [{ jobs }] = await sql<{ jobs: number }>('select count(*)::int as jobs from import_jobs');
    expect(jobs).toBe(1);
    const [created] = await sql<{ n: number; distinct: number }>(
      `select count(*)::int as n, count(distinct lower(username))::int as distinct from users where username like 'imp%'`,
    );
    expect(created).toEqual({ n: IMPORT_ROWS, distinct: IMPORT_ROWS });
    const done = await admin.get(`${b.base}/imports/${jobId}`);
    expectStatus(done, 200, `GET /imports/${jobId} on b`);
    expect(done.text).toContain(`${IMPORT_ROWS} users`);
    const [{ n: audited }] = await sql<{ n: number }>(`select count(*)::int as n from audit_events where action = 'import.succeeded'`);
    expect(audited).toBe(1);
  });

  it('both processes stop on SIGTERM with status 0 after their own shutdown, and leave no claimed job behind', async () => {
    const results = await time('stop', () => Promise.all([a.stop(), b.stop()]));
    for (const [i, instance] of [a, b].entries()) {
      // Status 0: Tessera's shutdown ran to its end (status 143 would mean a signal hook exited first).
      expect({ name: instance.name, ...results[i] }).toMatchObject({ name: instance.name, code: 0, signal: null, killed: false });
      expect(instance.exited).toBe(true);
      expect(instance.output()).toContain('SIGTERM received');
      expect(instance.output()).not.toMatch(/\bERROR\b|Unhandled/);
    }
    const [{ open }] = await sql<{ open: number }>(`select count(*)::int as open from credential_jobs where status = 'sending'`);
    expect(open).toBe(0);
  });
});
