// A private copy of the compiled app for one benchmark run, so that a `npm run build` elsewhere in
// the same checkout (which empties dist/ first) cannot pull the build away mid-run. The copy lives
// in the project folder (`.bench-build-*`, removed afterwards) so that node_modules, views/ and
// public/ resolve as from dist/. BENCH_DIST=<folder> benchmarks another build's dist folder.
import { cpSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { root, sleep, startApp } from './lib.mjs';

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

/** Starts the snapshot's main.js on a free port against `url`: bench/lib.mjs's startApp. */
export function startAppFrom(snapshot, url, work, env = {}) {
  return startApp(url, work, env, { main: join(snapshot.dir, 'dist', 'src', 'main.js') });
}
