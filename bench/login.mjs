// Sign-in throughput: POST /login with a valid username, password and CSRF token, bounded
// concurrency (8 connections). Every POST needs a session of its own with its own token, so a
// pool of login pages (GET /login: a fresh session cookie and its CSRF token each) is fetched
// before each run and is NOT part of the measured time: the figures are POST /login only
// (argon2id verify, the sign-in checks, session regeneration, audit event, 303). Compared with
// the raw argon2id verify rate of @node-rs/argon2 measured in the same run, with the same
// concurrency, in this process, so the bound is visible.
//
//   npm run build && node bench/login.mjs [--runs 3] [--seconds 10] [--connections 8] [--main ../other/dist/src/main.js]
//
// --main measures another build of Tessera (e.g. main's, from a worktree of its own) with this
// script. The CPU time of the app per sign-in (all threads) is printed beside the rates: on a busy
// machine it is the steadier figure.
//
// Target (issue #15): sign-in throughput >= 60 % of the raw argon2id verify rate (the rest of the request
// should cost little next to the hash). The argon2id parameters are Tessera's (m=19456, t=2, p=1).
// Uses TEST_DATABASE_URL's server when set, otherwise an embedded PostgreSQL in a temp folder.
//
// Results, the machine they were measured on and what bounds them: BENCHMARKS.md.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { csrfFrom, dist, machine, median, percentile, printTable, processCpuMs, run, seedDemo, session, sql, startApp, startDatabase, option } from './lib.mjs';
import { load, ms, rate, verdict } from './load.mjs';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');

const runs = option('runs', 3);
const seconds = option('seconds', 10);
const connections = option('connections', 8);
const target = { ratio: 0.6 };
const mainIndex = process.argv.indexOf('--main');
const main = mainIndex > 0 ? resolve(process.argv[mainIndex + 1]) : undefined;

console.log(`Sign-in: POST /login, ${connections} connections, ${runs} runs of about ${seconds} s (median); raw argon2id verify with the same concurrency`);
console.log(`Machine: ${machine()}; libuv thread pool ${process.env.UV_THREADPOOL_SIZE ?? 4} threads; load average at start ${load()}`);

/** `count` login pages, each { cookie, body } ready to POST for one of `usernames`. */
async function loginPool(base, usernames, password, count) {
  const pool = [];
  const parallel = 8;
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++;
        const s = session(base);
        const page = await s.get('/login');
        const body = new URLSearchParams({ _csrf: csrfFrom(page.text), username: usernames[i % usernames.length], password }).toString();
        pool.push({ cookie: s.cookie(), body });
      }
    }),
  );
  return pool;
}

/** `count` sign-ins through autocannon from a pool; { rps, p50, p95, p99, wrong }. */
async function loginRun(base, pool) {
  let next = 0;
  const latencies = [];
  const statuses = {};
  const t0 = performance.now();
  const instance = autocannon({
    url: `${base}/login`,
    connections,
    amount: pool.length,
    timeout: 60,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          const item = pool[next++ % pool.length];
          return { ...req, headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: item.cookie }, body: item.body };
        },
      },
    ],
  });
  instance.on('response', (_c, status, _b, t) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status === 303) latencies.push(t);
  });
  await instance;
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const wrong = Object.entries(statuses).filter(([s]) => s !== '303');
  return { rps: latencies.length / elapsed, p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), wrong, elapsed, count: latencies.length };
}

/** Raw argon2id verifications of `hash` for `secs` seconds, `concurrency` at a time. */
async function rawVerify(verify, hash, password, secs, concurrency) {
  const latencies = [];
  const end = performance.now() + secs * 1000;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        if (!(await verify(hash, password))) throw new Error('verify failed');
        latencies.push(performance.now() - t);
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / ((performance.now() - t0) / 1000),
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    // CPU time of this process (all its threads: the hashing runs on libuv's pool) per verify.
    cpuMs: (cpu.user + cpu.system) / 1000 / latencies.length,
  };
}

await run('login', async (work) => {
  const db = await startDatabase(work);
  let app;
  try {
    const seeded = await seedDemo(db.url, { users: 1000, orgs: 10, depth: 2 });
    // 40 users with one membership each (no organization chooser after sign-in).
    const users = await sql(
      db.url,
      `select u.username, u.password_hash from users u where not u.built_in
          and (select count(*) from memberships m where m.user_id = u.id) = 1 order by u.id limit 40`,
    );
    const usernames = users.map((u) => u.username);
    const { verifyPassword } = dist('accounts/password-hasher.js');
    const hash = users[0].password_hash;
    console.log(`Hash: ${hash.split('$').slice(1, 4).join(' ')}`);
    app = await startApp(db.url, work, {}, main ? { main } : {});

    // Warm-up, and the size of one run's pool from the rate seen.
    const warm = await loginRun(app.base, await loginPool(app.base, usernames, seeded.password, 4 * connections));
    const perRun = Math.min(3000, Math.max(4 * connections, Math.round(warm.rps * seconds)));
    console.log(`Warm-up: ${warm.rps.toFixed(0)} sign-ins/s; ${perRun} sign-ins per run`);

    const raw = [];
    const logins = [];
    for (let i = 0; i < runs; i++) {
      // Alternate, so both see the same background load.
      raw.push({ ...(await rawVerify(verifyPassword, hash, seeded.password, seconds, connections)), load: load() });
      const pool = await loginPool(app.base, usernames, seeded.password, perRun);
      const cpu0 = processCpuMs(app.pid);
      const r = await loginRun(app.base, pool);
      // The app's CPU time (every thread, the hashing included) per sign-in: unlike the rate, queueing on a busy machine does not change it much.
      const cpuMs = (processCpuMs(app.pid) - cpu0) / r.count;
      if (r.wrong.length) throw new Error(`Unexpected statuses: ${JSON.stringify(Object.fromEntries(r.wrong))}`);
      logins.push({ ...r, cpuMs, load: load() });
    }
    const med = (list) => ({
      rps: median(list.map((r) => r.rps)),
      p50: median(list.map((r) => r.p50)),
      p95: median(list.map((r) => r.p95)),
      p99: median(list.map((r) => r.p99)),
      runs: list.map((r) => r.rps.toFixed(0)).join(' / '),
      cpuMs: median(list.map((r) => r.cpuMs)),
      load: list[list.length - 1].load,
    });
    const m = { raw: med(raw), login: med(logins) };
    const ratio = m.login.rps / m.raw.rps;
    printTable(`Sign-in vs raw argon2id verify, ${connections} at a time, median of ${runs} runs (latencies in ms; target: sign-ins/s >= ${target.ratio * 100} % of verifies/s)`, [
      { what: 'raw argon2id verify (in-process)', 'per s': rate(m.raw.rps), p50: ms(m.raw.p50), p95: ms(m.raw.p95), p99: ms(m.raw.p99), 'runs per s': m.raw.runs, 'CPU ms each': ms(m.raw.cpuMs), 'of raw': '100 %', target: '', load: m.raw.load },
      {
        what: 'POST /login (pre-fetched tokens)',
        'per s': rate(m.login.rps),
        p50: ms(m.login.p50),
        p95: ms(m.login.p95),
        p99: ms(m.login.p99),
        'runs per s': m.login.runs,
        'CPU ms each': ms(m.login.cpuMs),
        'of raw': `${(ratio * 100).toFixed(0)} %`,
        target: verdict(ratio >= target.ratio),
        load: m.login.load,
      },
    ]);
    console.log(`\nCPU of the app per sign-in beyond one raw verify: ${ms(m.login.cpuMs - m.raw.cpuMs)} ms`);
    console.log(`Tessera peak RSS ${app.peakRssMiB().toFixed(0)} MiB; load average at the end ${load()} (1 / 5 / 15 min)`);
  } finally {
    await app?.stop();
    await db.stop();
  }
});
