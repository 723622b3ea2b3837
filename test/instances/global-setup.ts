import { join } from 'node:path';
import { buildIfStale } from '../../scripts/build-if-stale.js';

/**
 * Global setup of the `instances` project (jest runs it only when a test of that project runs):
 * the tests start the compiled app (`node dist/src/main.js`) as child processes, so the build
 * must exist and be newer than every source. Builds when dist is missing (a clean clone) or
 * older than a source file, with the same check as `npm start`; otherwise leaves dist alone.
 */
export default function buildDist(): void {
  const result = buildIfStale(join(__dirname, '..', '..'), { quiet: true });
  if (result.built) process.stderr.write(`instances: built dist in ${result.seconds.toFixed(1)} s (${result.reason})\n`);
}
