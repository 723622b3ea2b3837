// Credential-mail throughput: N due credential jobs (default 10,000) sent by D dispatchers
// (default 2), each the compiled app's CredentialDispatcher in a process of its own on one
// database, to a local SMTP sink in this process. Reports wall time against the argon2id hashing
// floor measured in the same run (every mail needs a fresh password hashed: N × one hash ÷
// cores, see bench/lib.mjs `hashingFloor`), the CPU each dispatcher used, and checks that every
// user got exactly one mail.
//
//   npm run build && node bench/credential-mail.mjs [count] [dispatchers] [--profile]
//
// Beside the dispatchers' CPU it prints the CPU of the PostgreSQL cluster and of this process (the
// SMTP sink) during the sends. --profile takes a CPU profile of each dispatcher's main thread
// while it sends (node:inspector; the hashes run on libuv's threads, outside it) and prints where
// that time goes, per mail.
//
// Target (issue #15): wall time ≤ 1.15 × the hashing floor. Results, the machine they were
// measured on and what bounds them: BENCHMARKS.md.
//
// Uses TEST_DATABASE_URL's server when set (a superuser URL; a database `tessera_bench` is
// created and dropped), otherwise an embedded PostgreSQL in a temporary folder.
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ADMIN_PASSWORD, cpu, dist, hashingFloor, machine, printTable, run, startDatabase, sql } from './lib.mjs';
import { profiled, summarise } from './cpu-profile.mjs';

const require = createRequire(import.meta.url);
const load = () => loadavg()[0].toFixed(2);

const profile = process.argv.includes('--profile');
const positional = process.argv.slice(2).filter((a) => a !== '--profile');
if (positional[0] === '--dispatcher') await dispatcher(positional[1], positional[2], positional[3]);
else await main(Number(positional[0] ?? 10000), Number(positional[1] ?? 2));

/**
 * One dispatcher process: the app's module as `npm start` builds it (scheduler off), which
 * reports "ready", sends every due job when told "go" on stdin (what each minute's cron kick
 * does), reports what it sent and its CPU time, and stops.
 */
async function dispatcher(databaseUrl, smtpUrl, dataDir) {
  const { NestFactory } = require('@nestjs/core');
  const { AppModule } = dist('app.module.js');
  const { loadConfig } = dist('config/config.js');
  const { CredentialDispatcher } = dist('credentials/credential-dispatcher.js');
  const config = loadConfig({ DATA_DIR: dataDir, SMTP_URL: smtpUrl, SCHEDULER: 'off', ADMIN_PASSWORD });
  const runtime = { config, databaseUrl, sessionSecret: 'bench-session-secret-bench-session-secret', pruneSessions: false, poolMax: 10 };
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(runtime), { logger: ['error'] });
  const lines = createInterface({ input: process.stdin });
  console.log('ready');
  for await (const line of lines) if (line === 'go') break;
  const cpu0 = process.cpuUsage();
  const send = () => app.get(CredentialDispatcher).dispatchDue();
  const [result, cpuProfile] = profile ? await profiled(send) : [await send(), null];
  const used = process.cpuUsage(cpu0);
  // The profile goes to a file: a large stdout line could be cut off by the exit below.
  const profileFile = cpuProfile ? join(dataDir, 'dispatch.cpuprofile') : null;
  if (profileFile) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(profileFile, JSON.stringify(cpuProfile));
  }
  console.log(JSON.stringify({ ...result, cpuMs: (used.user + used.system) / 1000, profileFile }));
  await app.close();
  process.exit(0);
}

function startDispatcher(databaseUrl, smtpUrl, dataDir) {
  const args = [import.meta.filename, '--dispatcher', databaseUrl, smtpUrl, dataDir, ...(profile ? ['--profile'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error('a dispatcher exited early');
    return value;
  };
  return {
    async ready() {
      if ((await next()) !== 'ready') throw new Error('a dispatcher did not start');
    },
    async go() {
      child.stdin.write('go\n');
      return JSON.parse(await next());
    },
  };
}

async function main(count, dispatchers) {
  const { SMTPServer } = require('smtp-server');
  await run('mail', async (work) => {
    // SMTP sink: accepts everything, counts recipients.
    const recipients = new Map();
    const sink = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      closeTimeout: 100,
      onData(stream, session, callback) {
        stream.on('data', () => undefined);
        stream.on('end', () => {
          for (const r of session.envelope.rcptTo) recipients.set(r.address, (recipients.get(r.address) ?? 0) + 1);
          callback();
        });
      },
    });
    await new Promise((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const smtpUrl = `smtp://127.0.0.1:${sink.server.address().port}`;
    const db = await startDatabase(work);
    try {
      const [{ id: org }] = await sql(db.url, 'select id from organizations where parent_id is null');
      const users = await sql(
        db.url,
        `with c as (insert into contacts (kind, full_name, email, organization_id)
                    select 'person', 'Bench ' || g, 'bench' || g || '@example.org', $1 from generate_series(1, $2) g returning id, email)
         insert into users (contact_id, username) select id, split_part(email, '@', 1) from c returning id`,
        [org, count],
      );
      await sql(
        db.url,
        `insert into credential_jobs (user_id, recipient_kind, recipient_user_id, due_at, next_attempt_at)
         select id, 'user', id, now() - interval '1 minute', now() - interval '1 minute' from unnest($1::int[]) id`,
        [users.map((r) => r.id)],
      );

      const loadStart = load();
      const floorBefore = await hashingFloor(count);
      const children = Array.from({ length: dispatchers }, (_, i) => startDispatcher(db.url, smtpUrl, join(work, `data-${i}`)));
      for (const child of children) await child.ready();
      console.log(`Sending ${count} credential mails with ${dispatchers} dispatcher process(es) to ${smtpUrl} …`);
      const started = performance.now();
      const cpu0 = cpu(process.pid, work);
      const results = await Promise.all(children.map((child) => child.go()));
      const wallMs = performance.now() - started;
      const cpu1 = cpu(process.pid, work);
      const floorAfter = await hashingFloor(count);
      const loadEnd = load();
      const floorMs = (floorBefore.floorMs + floorAfter.floorMs) / 2;

      const sent = results.reduce((n, r) => n + r.sent, 0);
      const twice = [...recipients.values()].filter((n) => n > 1).length;
      const states = await sql(db.url, 'select status, count(*)::int as n from credential_jobs group by status');
      console.log(`\n${machine()}`);
      console.log(
        `argon2id hash (single-threaded, median of 50): ${floorBefore.oneHashMs.toFixed(1)} ms before, ${floorAfter.oneHashMs.toFixed(1)} ms after → ` +
          `floor ${count} × ${((floorBefore.oneHashMs + floorAfter.oneHashMs) / 2).toFixed(1)} ms ÷ ${floorBefore.cores} cores = ${(floorMs / 1000).toFixed(1)} s`,
      );
      console.log(`distinct recipients ${recipients.size}, received twice ${twice}; job states ${JSON.stringify(states)}`);
      printTable(`${count.toLocaleString('en-US')} due credential mails; target wall time ≤ 1.15 × floor`, [
        {
          mails: count,
          dispatchers,
          sent,
          per_dispatcher: results.map((r) => r.sent).join(' / '),
          wall_s: (wallMs / 1000).toFixed(1),
          floor_s: (floorMs / 1000).toFixed(1),
          wall_per_floor: `${(wallMs / floorMs).toFixed(2)}×`,
          mails_per_s: (sent / (wallMs / 1000)).toFixed(0),
          dispatcher_cpu_s: results.map((r) => (r.cpuMs / 1000).toFixed(1)).join(' / '),
          cpu_ms_per_mail: (results.reduce((n, r) => n + r.cpuMs, 0) / sent).toFixed(1),
          pg_cpu_ms_per_mail: cpu0.pg === null ? 'n/a' : ((cpu1.pg - cpu0.pg) / sent).toFixed(1),
          sink_cpu_ms_per_mail: ((cpu1.node - cpu0.node) / sent).toFixed(1),
          load_start: loadStart,
          load_end: loadEnd,
        },
      ]);
      for (const [i, r] of results.entries()) {
        if (!r.profileFile) continue;
        console.log(`\nDispatcher ${i + 1}'s main thread while it sent ${r.sent} mails (the hashes run on libuv's threads, not here):`);
        summarise(JSON.parse(readFileSync(r.profileFile, 'utf8')), undefined, undefined, r.sent, 'mail');
      }
      if (sent !== count || twice !== 0) process.exitCode = 1;
    } finally {
      await new Promise((resolve) => sink.close(resolve));
      await db.stop();
    }
  });
}
