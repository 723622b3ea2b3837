// Credential-mail throughput: N due credential jobs (default 10,000) sent by one or more
// dispatchers of the compiled app to a local SMTP sink. Reports wall time and mails per second,
// and checks that every user got exactly one mail.
//
//   npm run build && node bench/credential-mail.mjs [count] [instances]
//
// Results, the machine they were measured on and what bounds them: BENCHMARKS.md.
//
// Uses TEST_DATABASE_URL's server when set (a superuser URL; a database `tessera_bench` is
// created and dropped), otherwise an embedded PostgreSQL in a temporary folder.
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const dist = (p) => require(join(process.cwd(), 'dist', 'src', p));
const { NestFactory } = require('@nestjs/core');
const { SMTPServer } = require('smtp-server');
const { Client } = require('pg');
const { AppModule } = dist('app.module.js');
const { loadConfig } = dist('config/config.js');
const { prepareDatabase } = dist('database/prepare.js');
const { startEmbeddedPostgres, ensureDatabase } = dist('database/embedded-postgres.js');
const { CredentialDispatcher } = dist('credentials/credential-dispatcher.js');

const count = Number(process.argv[2] ?? 10000);
const instances = Number(process.argv[3] ?? 2);
const work = mkdtempSync(join(tmpdir(), 'tessera-bench-mail-'));
chmodSync(work, 0o755); // as root, the embedded PostgreSQL runs as `postgres` and must enter it

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

let embedded = null;
let databaseUrl;
const external = process.env.TEST_DATABASE_URL;
if (external) {
  const admin = new Client({ connectionString: external });
  await admin.connect();
  await admin.query('drop database if exists tessera_bench');
  await admin.query('create database tessera_bench');
  await admin.end();
  const url = new URL(external);
  url.pathname = '/tessera_bench';
  databaseUrl = url.toString();
} else {
  embedded = await startEmbeddedPostgres(join(work, 'pg'));
  databaseUrl = await ensureDatabase(embedded, 'tessera_bench');
}

const config = loadConfig({ DATA_DIR: join(work, 'data'), SMTP_URL: smtpUrl, SCHEDULER: 'off', ADMIN_PASSWORD: 'Bench-pass-2026' });
await prepareDatabase(databaseUrl, config.adminPassword);
const db = new Client({ connectionString: databaseUrl });
await db.connect();
const [{ id: org }] = (await db.query('select id from organizations where parent_id is null')).rows;
const users = await db.query(
  `with c as (insert into contacts (kind, full_name, email, organization_id)
              select 'person', 'Bench ' || g, 'bench' || g || '@example.org', $1 from generate_series(1, $2) g returning id, email)
   insert into users (contact_id, username) select id, split_part(email, '@', 1) from c returning id`,
  [org, count],
);
await db.query(
  `insert into credential_jobs (user_id, recipient_kind, recipient_user_id, due_at, next_attempt_at)
   select id, 'user', id, now() - interval '1 minute', now() - interval '1 minute' from unnest($1::int[]) id`,
  [users.rows.map((r) => r.id)],
);

const runtime = { config, databaseUrl, sessionSecret: 'bench-session-secret-bench-session-secret', pruneSessions: false, poolMax: 10 };
const apps = [];
for (let i = 0; i < instances; i++) apps.push(await NestFactory.createApplicationContext(AppModule.forRoot(runtime), { logger: ['error'] }));

console.log(`Sending ${count} credential mails with ${instances} dispatcher(s) to ${smtpUrl} …`);
const started = process.hrtime.bigint();
const results = await Promise.all(apps.map((app) => app.get(CredentialDispatcher).dispatchDue()));
const seconds = Number(process.hrtime.bigint() - started) / 1e9;

const sent = results.reduce((n, r) => n + r.sent, 0);
const twice = [...recipients.values()].filter((n) => n > 1).length;
const states = (await db.query('select status, count(*)::int as n from credential_jobs group by status')).rows;
console.log(`sent ${sent} in ${seconds.toFixed(1)} s (${(sent / seconds).toFixed(0)} mails/s); per dispatcher: ${results.map((r) => r.sent).join(', ')}`);
console.log(`distinct recipients ${recipients.size}, received twice ${twice}; job states ${JSON.stringify(states)}`);

for (const app of apps) await app.close();
await db.end();
await new Promise((resolve) => sink.close(resolve));
if (external) {
  const admin = new Client({ connectionString: external });
  await admin.connect();
  await admin.query('drop database if exists tessera_bench with (force)');
  await admin.end();
}
if (embedded) await embedded.stop();
rmSync(work, { recursive: true, force: true });
process.exit(sent === count && twice === 0 ? 0 : 1);
