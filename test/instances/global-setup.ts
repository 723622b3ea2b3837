import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Global setup of the `instances` project (jest runs it only when a test of that project runs):
 * the tests start the compiled app (`node dist/src/main.js`) as child processes, so the build
 * must exist and be newer than every source. Builds with `npm run build` when dist is missing
 * (a clean clone) or older than a source file; otherwise leaves dist alone.
 */
const root = join(__dirname, '..', '..');
const INPUTS = ['src', 'migrations', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'nest-cli.json'];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

export default function buildDist(): void {
  const main = join(root, 'dist', 'src', 'main.js');
  const built = existsSync(main) ? statSync(main).mtimeMs : 0;
  const sources = Math.max(...INPUTS.map((p) => newestMtime(join(root, p))));
  if (built > sources) return;
  const started = Date.now();
  const result = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status !== 0) {
    throw new Error(`npm run build failed (status ${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  }
  process.stderr.write(`instances: built dist in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
