// Cold start: time from spawning `node dist/src/main.js` to the first 200 on GET /login, with the
// embedded PostgreSQL (no DATABASE_URL). The first start gets a fresh DATA_DIR, so it includes
// creating the cluster (initdb), the database, every migration and the first-start data; the
// second start reuses that DATA_DIR. A few runs, median.
//
//   npm run build && node bench/cold-start.mjs [--runs 3]
//
// Target: <= 10 s after build (both starts). Each run uses a fresh temporary folder, removed at the end.
//
// Results, the machine they were measured on and what bounds them: BENCHMARKS.md.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort, machine, median, printTable, root, run, sleep, option } from './lib.mjs';
import { load, verdict } from './load.mjs';

const runs = option('runs', 3);
const targetMs = 10_000;

console.log(`Cold start of node dist/src/main.js with the embedded PostgreSQL, ${runs} runs (median)`);
console.log(`Machine: ${machine()}; load average at start ${load()}`);

/**
 * Spawns Tessera on `dataDir` and waits for GET /login to answer 200; stops it again (SIGTERM,
 * waiting for the embedded PostgreSQL to stop). Returns the milliseconds from spawn to the 200,
 * and when the log said the embedded PostgreSQL starts (code loaded), Nest starts (database ready
 * and migrated) and "ready" (listening).
 */
async function coldStart(dataDir) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      PUBLIC_URL: base,
      DATA_DIR: dataDir,
      ADMIN_PASSWORD: 'Bench-pass-2026',
      SCHEDULER: 'off',
      IMPORT_POLL_SECONDS: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const marks = {};
  const onData = (d) => {
    output += d;
    const now = performance.now() - t0;
    if (marks.pg === undefined && /Starting the embedded PostgreSQL/.test(output)) marks.pg = now;
    if (marks.nest === undefined && /Starting Nest application/.test(output)) marks.nest = now;
    if (marks.ready === undefined && /Tessera is ready/.test(output)) marks.ready = now;
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`Tessera exited during start-up:\n${output}`);
      try {
        const res = await fetch(`${base}/login`);
        await res.arrayBuffer();
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      if (performance.now() - t0 > 120_000) throw new Error(`No 200 on GET /login within 120 s:\n${output}`);
      await sleep(20);
    }
    return { ms: performance.now() - t0, ...marks };
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
}

const results = { first: [], second: [] };
for (let i = 0; i < runs; i++) {
  await run('cold-start', async (work) => {
    const dataDir = join(work, 'data');
    results.first.push({ ...(await coldStart(dataDir)), load: load() });
    results.second.push({ ...(await coldStart(dataDir)), load: load() });
  });
}
const s = (v) => (v === undefined ? '?' : (v / 1000).toFixed(2));
const rows = [];
for (const [kind, label] of [
  ['first', 'first start (fresh DATA_DIR: initdb, migrations)'],
  ['second', 'second start (existing DATA_DIR)'],
]) {
  const list = results[kind];
  const m = median(list.map((r) => r.ms));
  rows.push({
    start: label,
    'median s': s(m),
    'runs s': list.map((r) => s(r.ms)).join(' / '),
    'modules loaded s': s(median(list.map((r) => r.pg ?? NaN))),
    'Nest starts s': s(median(list.map((r) => r.nest ?? NaN))),
    'ready log s': s(median(list.map((r) => r.ready ?? NaN))),
    target: `<= ${targetMs / 1000} s ${verdict(m <= targetMs)}`,
    load: list[list.length - 1].load,
  });
}
printTable('Spawn to first 200 on GET /login, embedded PostgreSQL (seconds; "modules loaded": the code is loaded and PostgreSQL starts; "Nest starts": PostgreSQL up and migrated; "ready": listening)', rows);
console.log(`\nLoad average at the end ${load()} (1 / 5 / 15 min)`);
