import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from '../../src/app.module';
import { Clock } from '../../src/credentials/clock';
import { CredentialDispatcher, LEASE_MS } from '../../src/credentials/credential-dispatcher';
import { APP_RUNTIME, AppRuntime } from '../../src/runtime';
import { createTestApp, TestApp } from '../support/app';
import { globalOrganization } from '../support/factories';
import { SmtpSink } from '../support/smtp-sink';

jest.setTimeout(180_000);

/**
 * Two app instances on one database share the credential jobs (SPEC §1 "Scale-out"): claims with
 * `FOR UPDATE SKIP LOCKED` never hand a job to both, and a claim of an instance that died is
 * taken over once its lease expired.
 */
describe('credential dispatch across instances', () => {
  let sink: SmtpSink;
  let t: TestApp;
  let second: NestExpressApplication;
  let a: CredentialDispatcher;
  let b: CredentialDispatcher;

  const startInstance = async () => {
    const runtime = t.app.get<AppRuntime>(APP_RUNTIME);
    const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(runtime), { bodyParser: false, logger: ['error'], abortOnError: false });
    await app.init();
    return app;
  };

  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await createTestApp({ env: { SMTP_URL: sink.url, SCHEDULER: 'off' } });
    second = await startInstance();
    a = t.app.get(CredentialDispatcher);
    b = second.get(CredentialDispatcher);
  });
  afterAll(async () => {
    await second?.close();
    await t.close();
    await sink.stop();
  });

  /** `count` local users with e-mail addresses `<prefix><n>@example.org`, each with a job due now. */
  const dueJobs = async (prefix: string, count: number): Promise<number[]> => {
    const org = await globalOrganization(t);
    const users = await t.sql<{ id: number }>(
      `with c as (insert into contacts (kind, full_name, email, organization_id)
                  select 'person', $1 || g, $1 || g || '@example.org', $2 from generate_series(1, $3) g returning id, email)
       insert into users (contact_id, username) select id, split_part(email, '@', 1) from c returning id`,
      [prefix, org.id, count],
    );
    const ids = users.map((u) => u.id);
    await t.sql(
      `insert into credential_jobs (user_id, recipient_kind, recipient_user_id, due_at, next_attempt_at)
       select id, 'user', id, now() - interval '1 minute', now() - interval '1 minute' from unnest($1::int[]) id`,
      [ids],
    );
    return ids;
  };

  const received = (prefix: string) => sink.messages.flatMap((m) => m.to).filter((to) => to.startsWith(prefix));
  const jobStates = async (ids: number[]) =>
    t.sql<{ status: string; n: number }>('select status, count(*)::int as n from credential_jobs where user_id = any($1) group by status', [ids]);

  it('sends 500 due jobs with two dispatchers: 500 mails, none twice', async () => {
    const ids = await dueJobs('bulk', 500);
    const [ra, rb] = await Promise.all([a.dispatchDue(), b.dispatchDue()]);
    expect(ra.sent + rb.sent).toBe(500);
    expect(ra.failed + rb.failed + ra.retrying + rb.retrying).toBe(0);
    const to = received('bulk');
    expect(to).toHaveLength(500);
    expect(new Set(to).size).toBe(500);
    expect(await jobStates(ids)).toEqual([{ status: 'sent', n: 500 }]);
    const [{ n }] = await t.sql<{ n: number }>(`select count(*)::int as n from users where id = any($1) and password_hash is not null and session_version = 2`, [ids]);
    expect(n).toBe(500);
  });

  it('takes over the claim of an instance that died once its lease expired: nothing lost, nothing twice', async () => {
    const ids = await dueJobs('lease', 100);
    // The second instance claims 30 jobs and dies before sending them.
    const abandoned = await b.claim(30);
    expect(abandoned).toHaveLength(30);
    await a.dispatchDue();
    expect(received('lease')).toHaveLength(70);
    expect(await jobStates(ids)).toEqual(
      expect.arrayContaining([
        { status: 'sending', n: 30 },
        { status: 'sent', n: 70 },
      ]),
    );
    t.app.get(Clock).advance(LEASE_MS + 1000);
    await a.dispatchDue();
    const to = received('lease');
    expect(to).toHaveLength(100);
    expect(new Set(to).size).toBe(100);
    expect(await jobStates(ids)).toEqual([{ status: 'sent', n: 100 }]);
    const [{ n }] = await t.sql<{ n: number }>(`select count(*)::int as n from credential_jobs where user_id = any($1) and attempts = 2`, [ids]);
    expect(n).toBe(30);
  });

  it('an instance stopping mid-run finishes the mails in hand and hands its other claims back at once; the other sends them', async () => {
    const ids = await dueJobs('stop', 200);
    const running = b.kick();
    await sink.waitFor(sink.messages.length + 10);
    await second.close();
    await running;
    const sentBeforeStop = received('stop').length;
    expect(sentBeforeStop).toBeLessThan(200);
    // Nothing is left waiting for a lease to expire.
    expect((await jobStates(ids)).find((s) => s.status === 'sending')).toBeUndefined();
    await a.dispatchDue();
    const to = received('stop');
    expect(to).toHaveLength(200);
    expect(new Set(to).size).toBe(200);
    expect(await jobStates(ids)).toEqual([{ status: 'sent', n: 200 }]);
  });
});
