// A private copy of the compiled app for one benchmark run, so that a `npm run build` elsewhere in
// the same checkout (which empties dist/ first) cannot pull the build away mid-run. The copy lives
// in the project folder (`.bench-build-*`, removed afterwards) so that node_modules, views/ and
// public/ resolve as from dist/. BENCH_DIST=<folder> benchmarks another build's dist folder.
// startAppFrom() is bench/lib.mjs's startApp() spawning the snapshot's main.js instead of dist's.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { peakRssMiB, root, sleep } from './lib.mjs';

const require = createRequire(import.meta.url);

/**
 * Waits while dist/ is being rebuilt (bench/lib.mjs's startDatabase and seedDemo load from it;
 * call this right before them).
 */
export async function waitForDist() {
  const main = join(root, 'dist', 'src', 'main.js');
  const settled = () => existsSync(main) && Date.now() - statSync(join(root, 'dist', 'src')).mtimeMs > 3000 && Date.now() - statSync(main).mtimeMs > 3000;
  for (let i = 0; i < 240 && !settled(); i++) await sleep(500);
}

export async function snapshotBuild() {
  const source = resolve(process.env.BENCH_DIST ?? join(root, 'dist'));
  // A build running right now: wait for it to finish writing main.js.
  for (let i = 0; i < 120 && !existsSync(join(source, 'src', 'main.js')); i++) await sleep(500);
  if (!existsSync(join(source, 'src', 'main.js'))) throw new Error(`${source}/src/main.js is missing: run \`npm run build\` first.`);
  await sleep(process.env.BENCH_DIST ? 0 : 2000); // let a build that just wrote main.js write the rest
  const dir = mkdtempSync(join(root, '.bench-build-'));
  cpSync(source, join(dir, 'dist'), { recursive: true });
  return {
    dir,
    source,
    /** A module of the snapshot, e.g. `load('accounts/password-hasher.js')`. */
    load: (path) => require(join(dir, 'dist', 'src', path)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts the snapshot's main.js on a free port against `url`; the same contract as lib.mjs's startApp. */
export async function startAppFrom(snapshot, url, work, env = {}) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(snapshot.dir, 'dist', 'src', 'main.js')], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: url,
      PORT: String(port),
      PUBLIC_URL: base,
      DATA_DIR: join(work, `data-${port}`),
      SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
      SCHEDULER: 'off',
      IMPORT_POLL_SECONDS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Tessera exited during start-up:\n${output}`);
    try {
      const res = await fetch(`${base}/login`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() - t0 > 60_000) {
      child.kill('SIGKILL');
      throw new Error(`Tessera did not answer GET /login within 60 s:\n${output}`);
    }
    await sleep(50);
  }
  return {
    base,
    pid: child.pid,
    startMs: performance.now() - t0,
    output: () => output,
    peakRssMiB: () => peakRssMiB(child.pid),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
