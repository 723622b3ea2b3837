// Users export at scale: 100,000 demo users (`npm run seed:demo -- --users 100000 --orgs 1000
// --depth 6`), GET /users/export as the Administrator of the compiled app. Reports the time to the
// first and the last byte, and the server's peak RSS (VmHWM) after start-up + sign-in and after the
// export (the growth between the two isolates the export), plus the largest current RSS (VmRSS)
// sampled every 50 ms during the export. Then, outside the timing, checks the download with
// exceljs's streaming reader: a valid .xlsx with a header row and one row per user (the demo
// users and the built-in admin: 100,001 users, 100,002 rows).
//
//   npm run build && node bench/export.mjs [users=100000]
//
// The app runs from a private copy of dist/ (bench/build-snapshot.mjs); BENCH_DIST=<dist folder>
// benchmarks another build.
//
// Results, the machine they were measured on and what bounds them: BENCHMARKS.md.
//
// Uses TEST_DATABASE_URL's server when set (a superuser URL; a database `tessera_bench_export` is
// created and dropped), otherwise an embedded PostgreSQL in a temporary folder.
// Targets: last byte ≤ 5 s; server peak RSS (VmHWM after the export) ≤ 200 MiB.
import { createRequire } from 'node:module';
import { createWriteStream, readFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { snapshotBuild, startAppFrom, waitForDist } from './build-snapshot.mjs';
import { ADMIN_PASSWORD, login, machine, printTable, root, run, seedDemo, sleep, sql, startDatabase } from './lib.mjs';

const require = createRequire(import.meta.url);
const ExcelJS = require(join(root, 'node_modules', 'exceljs'));

const USERS = Number(process.argv[2] ?? 100_000);
const load = () => loadavg().map((n) => n.toFixed(2)).join(' / ');

/** Current resident set size (VmRSS) of `pid`, in MiB. */
function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
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

await run('export', async (work) => {
  console.log(`Export benchmark: ${USERS.toLocaleString('en-US')} users; ${machine()}; load average ${load()}`);
  const build = await snapshotBuild();
  let db;
  let app;
  try {
    await waitForDist();
    db = await startDatabase(work, 'tessera_bench_export');
    let t0 = performance.now();
    await waitForDist();
    const seeded = await seedDemo(db.url, { users: USERS, orgs: 1000, depth: 6 });
    console.log(`demo data: ${seeded.organizations} organizations, ${seeded.users} users in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    app = await startAppFrom(build, db.url, work);
    const admin = await login(app.base, 'admin', ADMIN_PASSWORD);
    // Warm the route once on a tiny filter so that first-use costs (modules, plans) are not the export's.
    const warm = await admin.request('/users/export?q=user1x');
    await warm.arrayBuffer();
    await sleep(500);
    const hwmBefore = app.peakRssMiB();
    const rssBefore = rssMiB(app.pid);
    const loadBefore = load();

    let maxRss = rssBefore;
    const sampler = setInterval(() => {
      try {
        maxRss = Math.max(maxRss, rssMiB(app.pid));
      } catch {
        // process gone
      }
    }, 50);
    const file = join(work, 'users.xlsx');
    const out = createWriteStream(file);
    const cpuBefore = cpuSeconds(app.pid);
    t0 = performance.now();
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
    const loadAfter = load();
    const hwmAfter = app.peakRssMiB();
    maxRss = Math.max(maxRss, rssMiB(app.pid));

    printTable(`GET /users/export (load average before ${loadBefore}, after ${loadAfter})`, [
      {
        users: USERS,
        MiB: (bytes / 1024 / 1024).toFixed(1),
        first_byte_ms: firstByteMs.toFixed(0),
        last_byte_s: (lastByteMs / 1000).toFixed(2),
        target: '≤ 5 s',
        server_cpu_s: serverCpu.toFixed(2),
        rows_per_s: (USERS / (lastByteMs / 1000)).toFixed(0),
      },
    ]);
    printTable('Server memory (MiB); the target (≤ 200 MiB) is on VmHWM after the export', [
      {
        VmHWM_before: hwmBefore.toFixed(0),
        VmHWM_after: hwmAfter.toFixed(0),
        VmHWM_growth: (hwmAfter - hwmBefore).toFixed(0),
        VmRSS_before: rssBefore.toFixed(0),
        VmRSS_max_during: maxRss.toFixed(0),
        VmRSS_growth: (maxRss - rssBefore).toFixed(0),
      },
    ]);

    // Every user is in the Administrator's scope: the demo users and the built-in admin.
    const [{ n: users }] = await sql(db.url, 'select count(*)::int as n from users');
    t0 = performance.now();
    const check = await countRows(file);
    const ok = check.rows === users + 1 && check.header?.[1] === 'UserName';
    console.log(
      `\nverification (streaming reader, ${((performance.now() - t0) / 1000).toFixed(1)} s, ${(statSync(file).size / 1024 / 1024).toFixed(1)} MiB): ` +
        `${check.sheets} sheet(s), ${check.rows.toLocaleString('en-US')} rows = header + ${(check.rows - 1).toLocaleString('en-US')} users (expected header + ${users.toLocaleString('en-US')}: ${USERS.toLocaleString('en-US')} demo users and admin), header ${JSON.stringify(check.header?.slice(0, 4))}… → ${ok ? 'OK' : 'WRONG'}`,
    );
    console.log(`load average at the end: ${load()}`);
    if (!ok) process.exitCode = 1;
  } finally {
    await app?.stop();
    await db?.stop();
    build.remove();
  }
});
