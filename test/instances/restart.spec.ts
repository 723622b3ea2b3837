import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, sleep, spawnInstance } from './instance';

jest.setTimeout(240_000);

/**
 * Restarts of the compiled app on its embedded PostgreSQL (no DATABASE_URL): after kill -9 the
 * postmaster lives on as an orphan holding the data folder, and a stale `postmaster.pid` may
 * name a process that is gone or is now another program. Each start must still come up and
 * serve /login; a start that cannot succeed says why, never "undefined".
 */
describe('restarting on the same DATA_DIR', () => {
  let dataDir: string;
  const cluster = () => join(dataDir, 'pg', 'cluster');
  const pidFile = () => join(cluster(), 'postmaster.pid');
  const env = { ADMIN_PASSWORD: 'Admin-pass-2026', SCHEDULER: 'off', IMPORT_POLL_SECONDS: '0' };

  const alive = (pid: number) => {
    try {
      return !/^State:\s*[ZX]/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return false;
    }
  };
  const postmasterPid = () => Number(readFileSync(pidFile(), 'utf8').split('\n')[0]);

  async function start(name: string) {
    const port = await freePort();
    const instance = spawnInstance(name, port, env, { dataDir });
    await instance.ready(120_000);
    const login = await fetch(`${instance.base}/login`, { signal: AbortSignal.timeout(10_000) });
    if (login.status !== 200) throw new Error(`GET /login answered ${login.status}:\n${instance.output()}`);
    return instance;
  }

  /** A start that must fail: its exit code and everything it printed. */
  async function failedStart(name: string, port: number) {
    const instance = spawnInstance(name, port, env, { dataDir });
    const timer = setTimeout(() => void instance.kill('SIGKILL'), 120_000);
    const { code } = await instance.exit;
    clearTimeout(timer);
    return { code, output: instance.output() };
  }

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-restart-'));
    // As root the cluster runs as the `postgres` user, which must be able to enter the folder.
    chmodSync(dataDir, 0o755);
  });
  afterAll(async () => {
    // Only after a failure is a postmaster still running here: stop it before removing its files.
    if (existsSync(pidFile())) {
      const pid = postmasterPid();
      if (alive(pid)) {
        process.kill(pid, 'SIGINT');
        for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts again after kill -9 left its PostgreSQL running as an orphan, and stops the orphan', async () => {
    const first = await start('first');
    const orphan = postmasterPid();
    await first.kill('SIGKILL');
    // The scenario: the app is gone, its postmaster is not.
    expect(alive(orphan)).toBe(true);

    const second = await start('second');
    expect(second.output()).toContain(`Stopping the embedded PostgreSQL (pid ${orphan})`);
    expect(alive(orphan)).toBe(false);
    expect(postmasterPid()).not.toBe(orphan);
    const stopped = await second.stop();
    expect(stopped).toMatchObject({ code: 0, killed: false });
    expect(existsSync(pidFile())).toBe(false);
  });

  it('starts with a stale postmaster.pid: its pid is now another program, or no process at all', async () => {
    // A real lock file of this cluster, kept from a running server.
    const running = await start('lockfile');
    const lockFile = readFileSync(pidFile(), 'utf8');
    await running.stop();

    // After a reboot the pid may belong to any program: PostgreSQL itself then refuses to start.
    const stranger = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      writeFileSync(pidFile(), lockFile.replace(/^\d+/, String(stranger.pid)));
      const withStranger = await start('stranger');
      expect(alive(stranger.pid!)).toBe(true);
      await withStranger.stop();
    } finally {
      stranger.kill('SIGKILL');
    }

    // A pid of no process (beyond the kernel's pid_max, so it can never be running).
    const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    writeFileSync(pidFile(), lockFile.replace(/^\d+/, String(pidMax + 1)));
    const withNone = await start('nobody');
    await withNone.stop();
  });

  it('names the cause when it cannot start: the port is taken, PostgreSQL refuses the data folder', async () => {
    const taken: Server = createServer();
    const port = await new Promise<number>((resolve) => taken.listen(0, () => resolve((taken.address() as { port: number }).port)));
    try {
      const busy = await failedStart('busy-port', port);
      expect(busy.code).toBe(1);
      expect(busy.output).toContain(`Tessera failed to start: PORT ${port} is already in use by another program`);
      expect(busy.output).not.toContain('undefined');
      // Its PostgreSQL was stopped on the way out.
      expect(existsSync(pidFile())).toBe(false);
    } finally {
      taken.close();
    }

    // A cluster of another PostgreSQL version: the server process exits during start-up.
    const versionFile = join(cluster(), 'PG_VERSION');
    const version = readFileSync(versionFile, 'utf8');
    writeFileSync(versionFile, '9\n');
    try {
      const refused = await failedStart('old-cluster', await freePort());
      expect(refused.code).toBe(1);
      expect(refused.output).toMatch(/Tessera failed to start: The embedded PostgreSQL in \S+ did not start: .*database files are incompatible with server/);
      expect(refused.output).not.toContain('undefined');
    } finally {
      writeFileSync(versionFile, version);
    }
  });
});
