#!/usr/bin/env node
'use strict';
/**
 * `npm start` (its `prestart`) and the `instances` tests run the compiled app, `dist/src/main.js`.
 * A build takes most of a restart (about 10 of 11 seconds on 2 cores), so it runs only when dist
 * is missing or older than one of the files it is made from. `views/` and `public/` are read at
 * run time from the project folder, never copied into dist, so they do not count.
 *
 * Run directly (`node scripts/build-if-stale.js`) it builds when needed and says why; required,
 * it offers the same check to other scripts (test/instances/global-setup.ts).
 */
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');

/** What `nest build` compiles from (tsconfig.build.json) and what changes its output. */
const BUILD_INPUTS = ['src', 'migrations', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'nest-cli.json'];

/** The newest file (or folder: a deleted file changes its folder) under `path`, or null. */
function newest(path) {
  if (!existsSync(path)) return null;
  const stat = statSync(path);
  let found = { path, mtimeMs: stat.mtimeMs };
  if (stat.isDirectory()) {
    for (const entry of readdirSync(path)) {
      const inner = newest(join(path, entry));
      if (inner && inner.mtimeMs > found.mtimeMs) found = inner;
    }
  }
  return found;
}

/** Why dist must be rebuilt (a sentence), or null when it is newer than every input. */
function staleReason(root) {
  const main = join(root, 'dist', 'src', 'main.js');
  if (!existsSync(main)) return 'dist/src/main.js is missing';
  const built = statSync(main).mtimeMs;
  for (const input of BUILD_INPUTS) {
    const found = newest(join(root, input));
    if (found && found.mtimeMs >= built) return `${relative(root, found.path)} is newer than dist`;
  }
  return null;
}

/**
 * Builds with `npm run build` when dist is stale. Returns what happened; throws when the build
 * fails. `quiet` collects the build's output (into the error) instead of showing it.
 */
function buildIfStale(root, options = {}) {
  const reason = staleReason(root);
  if (reason === null) return { built: false, reason: null, seconds: 0 };
  const started = Date.now();
  const result = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8', stdio: options.quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
  if (result.status !== 0) {
    const output = options.quiet ? `\n${result.stdout}\n${result.stderr}` : '';
    throw new Error(`npm run build failed (status ${result.status ?? result.signal})${output}`);
  }
  return { built: true, reason, seconds: (Date.now() - started) / 1000 };
}

module.exports = { BUILD_INPUTS, staleReason, buildIfStale };

if (require.main === module) {
  const root = join(__dirname, '..');
  const reason = staleReason(root);
  if (reason === null) {
    process.stdout.write('dist is newer than every source: starting without a build.\n');
  } else {
    process.stdout.write(`Building (${reason}).\n`);
    try {
      buildIfStale(root);
    } catch (error) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
  }
}
