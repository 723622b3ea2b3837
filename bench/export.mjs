// Users export at scale: 100,000 demo users (`npm run seed:demo -- --users 100000 --orgs 1000
// --depth 6`), GET /users/export as the Administrator of the compiled app. Reports the time to the
// first and the last byte, the server's CPU time, and its memory: the resident set (VmRSS) right
// after start-up and sign-in (idle), and the peak (VmHWM, reset just before each export through
// /proc/<pid>/clear_refs) minus the resident set before the export: what the export adds. Then,
// outside the timing, checks each download with exceljs's streaming reader: a valid .xlsx with a
// header row and one row per user (the demo users and the built-in admin: 100,001 users, 100,002
// rows).
//
//   npm run build && node bench/export.mjs [--users 100000] [--runs 1] [--before ../other/dist/src/main.js]
//       [--cpu-prof <folder>]
//
// --before starts a second build of Tessera (e.g. main's, from a worktree of its own) on the same
// database and exports from both, one after the other and in alternating order in each run, so
// that before and after come from one run under the same load. --cpu-prof writes a V8 CPU profile
// of this build's server (all runs) into <folder> when it stops.
//
// The app runs from a private copy of dist/ (bench/build-snapshot.mjs); BENCH_DIST=<dist folder>
// benchmarks another build.
//
// Results, the machine they were measured on and what bounds them: BENCHMARKS.md.
//
// Uses TEST_DATABASE_URL's server when set (a superuser URL; a database `tessera_bench_export` is
// created and dropped), otherwise an embedded PostgreSQL in a temporary folder.
// Targets: last byte ≤ 5 s; the export adds ≤ 64 MiB to the server's RSS; idle RSS after start ≤ 150 MiB.
import { createRequire } from 'node:module';
import { createWriteStream, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { snapshotBuild, startAppFrom, waitForDist } from './build-snapshot.mjs';
import { ADMIN_PASSWORD, login, machine, median, option, printTable, root, run, seedDemo, sleep, sql, startApp, startDatabase } from './lib.mjs';

const require = createRequire(import.meta.url);
const ExcelJS = require(join(root, 'node_modules', 'exceljs'));

/** The text after `--name` on the command line, or `fallback`. */
function stringOption(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

// `node bench/export.mjs 100000` (a bare number) is still the number of users.
const USERS = /^\d+$/.test(process.argv[2] ?? '') ? Number(process.argv[2]) : option('users', 100_000);
const RUNS = option('runs', 1);
const BEFORE = stringOption('before', '');
const CPU_PROF = stringOption('cpu-prof', '');
const load = () => loadavg().map((n) => n.toFixed(2)).join(' / ');

/** A field of /proc/<pid>/status in MiB (VmRSS, VmHWM). */
function statusMiB(pid, field) {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0); false when the kernel refuses. */
function resetPeak(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** CPU seconds (user + system) that process `pid` has used so far. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

/** Rows of the first worksheet, read with exceljs's streaming reader. */
async function countRows(file) {
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(file, { worksheets: 'emit', sharedStrings: 'cache', styles: 'ignore', hyperlinks: 'ignore' });
  let sheets = 0;
  let rows = 0;
  let header = null;
  for await (const sheet of reader) {
    sheets++;
    for await (const row of sheet) {
      if (sheets !== 1) continue;
      rows++;
      if (rows === 1) header = row.values.slice(1);
    }
  }
  return { sheets, rows, header };
}

/**
 * A module preloaded into the server (--cpu-prof): SIGUSR2 starts V8's CPU profiler in the
 * server, the next SIGUSR2 stops it and writes `export-<pid>.cpuprofile` into CPU_PROF, so the
 * profile holds the exports and nothing of the start-up. Returns its path.
 */
function profiler(work) {
  const file = join(work, 'cpu-profiler.cjs');
  writeFileSync(
    file,
    `const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');
const session = new Session();
session.connect();
let running = false;
process.on('SIGUSR2', () => {
  if (!running) {
    session.post('Profiler.enable', () => session.post('Profiler.start'));
    running = true;
    return;
  }
  session.post('Profiler.stop', (error, result) => {
    if (!error) writeFileSync(${JSON.stringify(resolve(CPU_PROF || '.'))} + '/export-' + process.pid + '.cpuprofile', JSON.stringify(result.profile));
  });
  running = false;
});
`,
  );
  return file;
}

/** One export from `app` with `admin`'s session into `file`: time, CPU, memory. */
async function exportOnce(app, admin, file) {
  const rssBefore = statusMiB(app.pid, 'VmRSS');
  const peakReset = resetPeak(app.pid);
  const hwmBefore = statusMiB(app.pid, 'VmHWM');
  let maxRss = rssBefore;
  const sampler = setInterval(() => {
    try {
      maxRss = Math.max(maxRss, statusMiB(app.pid, 'VmRSS'));
    } catch {
      // process gone
    }
  }, 50);
  const loadBefore = load();
  const out = createWriteStream(file);
  const cpuBefore = cpuSeconds(app.pid);
  const t0 = performance.now();
  const res = await admin.request('/users/export');
  if (res.status !== 200) throw new Error(`GET /users/export answered ${res.status}`);
  let firstByteMs = null;
  let bytes = 0;
  for await (const chunk of res.body) {
    firstByteMs ??= performance.now() - t0;
    bytes += chunk.length;
    if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve));
  }
  const lastByteMs = performance.now() - t0;
  const serverCpu = cpuSeconds(app.pid) - cpuBefore;
  clearInterval(sampler);
  await new Promise((resolve, reject) => out.end((e) => (e ? reject(e) : resolve())));
  const hwmAfter = statusMiB(app.pid, 'VmHWM');
  maxRss = Math.max(maxRss, statusMiB(app.pid, 'VmRSS'));
  return {
    bytes,
    firstByteMs,
    lastByteMs,
    serverCpu,
    rssBefore,
    // With the peak reset, VmHWM after − VmRSS before is the export's own peak; without it
    // (an old kernel) only the 50 ms samples of VmRSS are left.
    added: peakReset ? hwmAfter - rssBefore : maxRss - rssBefore,
    hwmBefore,
    hwmAfter,
    maxRss,
    load: `${loadBefore} → ${load()}`,
  };
}

await run('export', async (work) => {
  console.log(`Export benchmark: ${USERS.toLocaleString('en-US')} users, ${RUNS} run(s)${BEFORE ? `, before = ${BEFORE}` : ''}; ${machine()}; load average ${load()}`);
  const build = await snapshotBuild();
  let db;
  const apps = [];
  try {
    await waitForDist();
    db = await startDatabase(work, 'tessera_bench_export');
    let t0 = performance.now();
    await waitForDist();
    const seeded = await seedDemo(db.url, { users: USERS, orgs: 1000, depth: 6 });
    console.log(`demo data: ${seeded.organizations} organizations, ${seeded.users} users in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const [{ n: users }] = await sql(db.url, 'select count(*)::int as n from users');

    if (CPU_PROF) mkdirSync(resolve(CPU_PROF), { recursive: true });
    const builds = [
      ...(BEFORE ? [{ name: 'before', start: () => startApp(db.url, work, {}, { main: resolve(BEFORE) }) }] : []),
      {
        name: BEFORE ? 'after' : 'Tessera',
        start: () => startAppFrom(build, db.url, work, CPU_PROF ? { NODE_OPTIONS: `--require ${profiler(work)}` } : {}),
      },
    ];
    for (const b of builds) {
      const app = await b.start();
      const admin = await login(app.base, 'admin', ADMIN_PASSWORD);
      await sleep(500);
      // Idle: started and one user signed in, before any export loaded its code.
      const idle = statusMiB(app.pid, 'VmRSS');
      const idlePeak = statusMiB(app.pid, 'VmHWM');
      // Warm the route once on a tiny filter so that first-use costs (modules, plans) are not the export's.
      const warm = await admin.request('/users/export?q=user1x');
      await warm.arrayBuffer();
      await sleep(500);
      apps.push({ ...b, app, admin, idle, idlePeak, warm: statusMiB(app.pid, 'VmRSS'), results: [] });
    }

    let ok = true;
    const profiled = CPU_PROF ? apps[apps.length - 1].app : null;
    profiled && process.kill(profiled.pid, 'SIGUSR2');
    for (let r = 0; r < RUNS; r++) {
      // Alternate the order, so that neither build always runs second (on a warmer cache).
      for (const a of r % 2 === 0 ? apps : [...apps].reverse()) {
        const file = join(work, `users-${a.name}.xlsx`);
        const m = await exportOnce(a.app, a.admin, file);
        a.results.push(m);
        t0 = performance.now();
        const check = await countRows(file);
        const good = check.rows === users + 1 && check.header?.[1] === 'UserName';
        ok &&= good;
        console.log(
          `${a.name} run ${r + 1}: ${(m.lastByteMs / 1000).toFixed(2)} s, ${m.serverCpu.toFixed(2)} s CPU, +${m.added.toFixed(0)} MiB (load ${m.load}); ` +
            `read back in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${check.sheets} sheet(s), ${check.rows.toLocaleString('en-US')} rows = header + ${(check.rows - 1).toLocaleString('en-US')} users ` +
            `(expected header + ${users.toLocaleString('en-US')}), header ${JSON.stringify(check.header?.slice(0, 4))}… → ${good ? 'OK' : 'WRONG'}`,
        );
        rmSync(file, { force: true });
        await sleep(1000);
      }
    }

    if (profiled) {
      process.kill(profiled.pid, 'SIGUSR2');
      await sleep(2000);
      console.log(`CPU profile of ${apps[apps.length - 1].name}'s server during the exports: ${resolve(CPU_PROF)}/export-${profiled.pid}.cpuprofile`);
    }

    const med = (a, f) => median(a.results.map(f));
    printTable(`GET /users/export, ${USERS.toLocaleString('en-US')} users (median of ${RUNS}; load average at the end ${load()})`, apps.map((a) => ({
      build: a.name,
      MiB: (a.results[0].bytes / 1024 / 1024).toFixed(1),
      first_byte_ms: med(a, (m) => m.firstByteMs).toFixed(0),
      last_byte_s: med(a, (m) => m.lastByteMs / 1000).toFixed(2),
      'target ≤ 5 s': med(a, (m) => m.lastByteMs) <= 5000 ? 'met' : 'missed',
      server_cpu_s: med(a, (m) => m.serverCpu).toFixed(2),
      rows_per_s: (USERS / (med(a, (m) => m.lastByteMs) / 1000)).toFixed(0),
    })));
    printTable('Server memory (MiB): idle RSS after start and sign-in (target ≤ 150), and what the export adds to the RSS (target ≤ 64)', apps.map((a) => ({
      build: a.name,
      idle_VmRSS: a.idle.toFixed(0),
      'idle ≤ 150': a.idle <= 150 ? 'met' : 'missed',
      idle_VmHWM: a.idlePeak.toFixed(0),
      VmRSS_after_warm_up: a.warm.toFixed(0),
      VmRSS_before_export: med(a, (m) => m.rssBefore).toFixed(0),
      VmHWM_during_export: med(a, (m) => m.hwmAfter).toFixed(0),
      added: med(a, (m) => m.added).toFixed(0),
      'added ≤ 64': med(a, (m) => m.added) <= 64 ? 'met' : 'missed',
      VmRSS_max_sampled: med(a, (m) => m.maxRss).toFixed(0),
    })));
    console.log(`\nverification: ${ok ? 'every download OK' : 'a download was WRONG'}; load average at the end: ${load()}`);
    if (!ok) process.exitCode = 1;
  } finally {
    for (const a of apps) await a.app.stop();
    await db?.stop();
    build.remove();
  }
});
