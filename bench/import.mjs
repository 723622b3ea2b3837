// Import throughput: a valid 10,000-row workbook (local users with passwords, a few organizations,
// roles and custom properties) uploaded over HTTP as the Administrator to the compiled app, timed
// from the upload until the background job is done, compared with the argon2id hashing floor
// measured in the same run (rows × one hash ÷ cores; one hash = median of 50 single-threaded
// hashPassword calls, measured before and after the imports, the mean of both is the floor).
// Two imports of the same size run one after the other:
//   A. alone: total ÷ floor (the sign-in loop would take CPU from the import, so it is not run);
//   B. with a loop of full sign-ins (GET /login + POST /login) of an existing user,
//      `loginConcurrency` at a time, from the upload until the job is done: sign-in p50/p95/p99.
// The same sign-in loop without an import gives the baseline. Reports the server's VmHWM.
//
//   npm run build && node bench/import.mjs [rows=10000] [loginConcurrency=3]
//
// The app runs from a private copy of dist/ (bench/build-snapshot.mjs); BENCH_DIST=<dist folder>
// benchmarks another build.
//
// Results, the machine they were measured on and what bounds them: BENCHMARKS.md.
//
// Uses TEST_DATABASE_URL's server when set (a superuser URL; a database `tessera_bench_import` is
// created and dropped), otherwise an embedded PostgreSQL in a temporary folder.
// Targets: total ≤ 1.15 × the hashing floor; sign-in p95 during the import ≤ 300 ms.
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { snapshotBuild, startAppFrom, waitForDist } from './build-snapshot.mjs';
import {
  ADMIN_PASSWORD, csrfFrom, hashingFloor, login, machine, peakRssMiB, percentile, printTable, root, run, seedDemo, sleep, sql, startDatabase, submitLogin,
} from './lib.mjs';

const require = createRequire(import.meta.url);
const ExcelJS = require(join(root, 'node_modules', 'exceljs'));

const ROWS = Number(process.argv[2] ?? 10_000);
const LOGIN_CONCURRENCY = Number(process.argv[3] ?? 3);
const BASELINE_LOGINS = 150;
const HASH_SAMPLES = 50;
const HEADERS = ['Id', 'UserName', 'FirstName', 'LastName', 'FullName', 'Email', 'Mobile', 'Password', 'Provider', 'Roles', 'Enabled', 'Department', 'Organizations', 'Licence', 'Profile'];

const load = () => loadavg().map((n) => n.toFixed(2)).join(' / ');
const ms = (n) => n.toFixed(0);

/** The workbook, written row by row with exceljs's streaming writer. */
async function writeWorkbook(file, rows, ref, prefix) {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useStyles: false, useSharedStrings: false });
  const ws = wb.addWorksheet('Users');
  ws.addRow([...HEADERS, 'Cost centre', 'Site', 'Skills']).commit();
  const sites = ['Berlin', 'Paris', 'Madrid', 'Rome', 'Vienna'];
  const skills = ['Go', 'SQL', 'Excel', 'Design', 'Support'];
  for (let i = 1; i <= rows; i++) {
    const orgs = i % 5 === 0 ? [ref.orgs[i % ref.orgs.length], ref.orgs[(i + 1) % ref.orgs.length]] : [ref.orgs[i % ref.orgs.length]];
    ws.addRow([
      null,
      `${prefix}${i}`,
      `First${i}`,
      `Last${i}`,
      `First${i} Last${i}`,
      `${prefix}${i}@bench.example`,
      i % 2 === 0 ? `+43 ${prefix === 'bima' ? 660 : 661} ${String(i).padStart(7, '0')}` : null,
      `Passw0rd-${i}`,
      'local',
      i % 7 === 0 ? ref.roles.join(', ') : ref.roles[0],
      i % 50 === 0 ? 'false' : 'true',
      ['Sales', 'Finance', 'Engineering'][i % 3],
      orgs.join('\n'),
      null,
      null,
      `CC-${String(i % 400).padStart(4, '0')}`,
      sites[i % sites.length],
      i % 4 === 0 ? `${skills[i % 5]}\n${skills[(i + 2) % 5]}` : skills[i % 5],
    ]).commit();
  }
  ws.commit();
  await wb.commit();
}

/** Full sign-ins of `username` with `concurrency` lanes until `until()` is true or `limit` are done. */
async function signInLoop(base, username, password, concurrency, { until = () => false, limit = Infinity } = {}) {
  const times = [];
  let failures = 0;
  let started = 0;
  const lanes = Array.from({ length: concurrency }, async () => {
    while (!until() && started < limit) {
      started++;
      const t0 = performance.now();
      try {
        const { status } = await submitLogin(base, username, password);
        if (status === 303) times.push(performance.now() - t0);
        else failures++;
      } catch {
        failures++;
      }
    }
  });
  await Promise.all(lanes);
  return { times: times.sort((a, b) => a - b), failures };
}

const summary = (label, { times, failures }) => ({
  phase: label,
  signIns: times.length,
  failures,
  p50_ms: ms(percentile(times, 50)),
  p95_ms: ms(percentile(times, 95)),
  p99_ms: ms(percentile(times, 99)),
  max_ms: ms(times.at(-1) ?? NaN),
});

/** Uploads `file` as `admin` and polls the job row until it is done; returns timings and phases. */
async function importOnce(dbUrl, admin, upload, fileName, prefix) {
  const page = await admin.get('/imports');
  const form = new FormData();
  form.append('_csrf', csrfFrom(page.text));
  form.append('file', new Blob([upload], { type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' }), fileName);
  const t0 = performance.now();
  const res = await admin.request('/imports', { method: 'POST', body: form });
  await res.text();
  const uploadMs = performance.now() - t0;
  if (res.status !== 303) throw new Error(`Upload answered ${res.status}`);
  const jobId = Number(/\/imports\/(\d+)/.exec(res.headers.get('location'))?.[1]);
  const phases = [];
  let last = null;
  let job;
  for (;;) {
    [job] = await sql(dbUrl, 'select status, total_rows, processed_rows, message from import_jobs where id = $1', [jobId]);
    const state = job.status === 'importing' && job.total_rows !== null && job.processed_rows >= job.total_rows ? 'importing: hashed, writing' : job.status;
    if (state !== last) {
      phases.push({ state, at_s: ((performance.now() - t0) / 1000).toFixed(1) });
      last = state;
    }
    if (job.status === 'succeeded' || job.status === 'failed') break;
    await sleep(100);
  }
  const totalMs = performance.now() - t0;
  if (job.status !== 'succeeded') throw new Error(`Import failed: ${job.message}`);
  const shown = await admin.get(`/imports/${jobId}`);
  if (shown.status !== 200) throw new Error(`GET /imports/${jobId} answered ${shown.status}`);
  const [{ n: imported }] = await sql(dbUrl, `select count(*)::int as n from users where username like $1`, [`${prefix}%`]);
  return { uploadMs, totalMs, phases, imported };
}

await run('import', async (work) => {
  console.log(`Import benchmark: ${ROWS.toLocaleString('en-US')} rows; ${machine()}; load average ${load()}`);
  if (process.env.BENCH_DIST) console.log(`build under test: ${process.env.BENCH_DIST}`);
  const build = await snapshotBuild();
  const dist = build.load;
  let db;
  let app;
  try {
    await waitForDist();
    db = await startDatabase(work, 'tessera_bench_import');
    await waitForDist();
    await seedDemo(db.url, { users: 1000, orgs: 40, depth: 3 });
    const orgRows = await sql(
      db.url,
      `with recursive t as (select id, ''::text as p from organizations where parent_id is null
                            union all select o.id, case when t.p = '' then o.name else t.p || '/' || o.name end from organizations o join t on o.parent_id = t.id)
       select p from t where p <> '' order by p limit 12`,
    );
    const roleRows = await sql(db.url, `select name from roles where built_in_key in ('member', 'user_manager') order by built_in_key`);
    const ref = { orgs: orgRows.map((r) => r.p), roles: roleRows.map((r) => r.name) };

    const files = {};
    for (const prefix of ['bima', 'bimb']) {
      const file = join(work, `${prefix}.xlsx`);
      const t0 = performance.now();
      await writeWorkbook(file, ROWS, ref, prefix);
      files[prefix] = readFileSync(file);
      console.log(`workbook ${prefix}.xlsx: ${(statSync(file).size / 1024 / 1024).toFixed(2)} MiB, written in ${ms(performance.now() - t0)} ms (streaming writer)`);
    }

    const { ImportWorker } = dist('imports/import-worker.js');
    const { DEMO_PASSWORD } = dist('database/demo-data.js');
    const cores = cpus().length;
    // The worker's lane count (a field initializer, computed as in the app; the constructor only stores its arguments).
    const lanes = new ImportWorker(null, null, { imports: { pollSeconds: 0 } }).hashConcurrency;

    app = await startAppFrom(build, db.url, work);
    const admin = await login(app.base, 'admin', ADMIN_PASSWORD);
    const loginUser = 'user1';
    const rssAfterStart = app.peakRssMiB();
    const baseline = await signInLoop(app.base, loginUser, DEMO_PASSWORD, LOGIN_CONCURRENCY, { limit: BASELINE_LOGINS });
    const loadBaseline = load();

    const hashBefore = (await hashingFloor(ROWS, HASH_SAMPLES)).oneHashMs;
    const loadA = load();
    const a = await importOnce(db.url, admin, files.bima, 'bima.xlsx', 'bima');
    const loadAEnd = load();
    const rssAfterA = app.peakRssMiB();

    const loadB = load();
    let done = false;
    const during = signInLoop(app.base, loginUser, DEMO_PASSWORD, LOGIN_CONCURRENCY, { until: () => done });
    const b = await importOnce(db.url, admin, files.bimb, 'bimb.xlsx', 'bimb');
    done = true;
    const loaded = await during;
    const loadBEnd = load();
    const rssAfterB = app.peakRssMiB();
    const hashAfter = (await hashingFloor(ROWS, HASH_SAMPLES)).oneHashMs;
    const oneHash = (hashBefore + hashAfter) / 2;
    const floorMs = (ROWS * oneHash) / cores;

    console.log(
      `\nargon2id hash (hashPassword, single-threaded, median of ${HASH_SAMPLES}): ${hashBefore.toFixed(1)} ms before, ${hashAfter.toFixed(1)} ms after → ` +
        `floor ${ROWS} × ${oneHash.toFixed(1)} ms ÷ ${cores} cores = ${(floorMs / 1000).toFixed(1)} s; the import hashes with ${lanes} lane(s) (availableParallelism ${availableParallelism()})`,
    );
    printTable('Import job phases (seconds since the upload started)', [
      ...a.phases.map((p) => ({ run: 'A alone', ...p })),
      ...b.phases.map((p) => ({ run: 'B with sign-ins', ...p })),
    ]);
    const row = (label, r, loadStart, loadEnd) => ({
      run: label,
      load_start: loadStart,
      load_end: loadEnd,
      upload_ms: ms(r.uploadMs),
      total_s: (r.totalMs / 1000).toFixed(1),
      floor_s: (floorMs / 1000).toFixed(1),
      total_per_floor: (r.totalMs / floorMs).toFixed(2) + '×',
      imported: r.imported,
      rows_per_s: (ROWS / (r.totalMs / 1000)).toFixed(0),
    });
    printTable(`Imports of ${ROWS.toLocaleString('en-US')} rows, upload to job done; target total ≤ 1.15 × floor (run A)`, [
      row('A alone', a, loadA, loadAEnd),
      row('B with sign-ins', b, loadB, loadBEnd),
    ]);
    printTable(`Sign-ins of ${loginUser} (GET /login + POST /login), ${LOGIN_CONCURRENCY} at a time; target p95 ≤ 300 ms during the import`, [
      { ...summary('no import', baseline), load: loadBaseline },
      { ...summary('during import B', loaded), load: loadBEnd },
    ]);
    printTable('Server peak RSS (VmHWM, MiB)', [
      { after_start_and_login: rssAfterStart.toFixed(0), after_import_A: rssAfterA.toFixed(0), after_import_B: rssAfterB.toFixed(0) },
    ]);
    console.log(`\nload average at the end: ${load()}`);
    if (a.imported !== ROWS || b.imported !== ROWS) throw new Error(`${a.imported} + ${b.imported} users imported, expected ${ROWS} each`);
  } finally {
    await app?.stop();
    await db?.stop();
    build.remove();
  }
});
