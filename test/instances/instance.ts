import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formIn } from '../support/forms';

/**
 * Tessera as production runs it: `node dist/src/main.js` in a child process of its own, on a
 * port of its own, configured only through the environment; and a cookie-keeping HTTP client
 * that talks to it as a browser without JavaScript does.
 */

const root = join(__dirname, '..', '..');

export interface Instance {
  name: string;
  base: string;
  pid: number;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM, then waits for the exit; resolves to the exit code (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }>;
  /** Sends `signal` (an abnormal end: SIGKILL) and waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when the process has exited (by itself, e.g. after a failed start). */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: boolean;
}

/** A port nobody listens on right now (src/database/embedded-postgres.ts's is not loadable under jest). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Starts `node dist/src/main.js` with `env` (plus PATH and HOME only) and a DATA_DIR of its own
 * (removed when it exits), or `options.dataDir` (kept, for restarts on the same folder).
 */
export function spawnInstance(
  name: string,
  port: number,
  env: Record<string, string>,
  options: { dataDir?: string } = {},
): Instance & { ready(timeoutMs?: number): Promise<void> } {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), `tessera-instance-${name}-`));
  const base = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), PUBLIC_URL: base, DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
      resolve({ code, signal });
    }),
  );
  const instance = {
    name,
    base,
    pid: child.pid!,
    exit,
    kill(signal: NodeJS.Signals) {
      if (!instance.exited) child.kill(signal);
      return exit;
    },
    output: () => output,
    get exited() {
      return child.exitCode !== null || child.signalCode !== null;
    },
    async ready(timeoutMs = 60_000) {
      const started = Date.now();
      for (;;) {
        if (instance.exited) throw new Error(`Instance ${name} exited during start-up:\n${output}`);
        try {
          const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000) });
          if (res.status === 200) return;
        } catch {
          // not listening yet
        }
        if (Date.now() - started > timeoutMs) throw new Error(`Instance ${name} did not answer GET /health within ${timeoutMs} ms:\n${output}`);
        await sleep(100);
      }
    },
    async stop(graceMs = 30_000) {
      let killed = false;
      if (!instance.exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          killed = true;
          child.kill('SIGKILL');
        }, graceMs);
        const result = await exit;
        clearTimeout(timer);
        return { ...result, killed };
      }
      return { ...(await exit), killed };
    },
  };
  return instance;
}

export interface Page {
  status: number;
  location: string | null;
  text: string;
}

/** A browser session: keeps cookies, never follows redirects. `cookie` may be shared across instances. */
export class Browser {
  readonly jar = new Map<string, string>();

  cookie(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(url: string, init: RequestInit = {}): Promise<Page> {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string> | undefined), cookie: this.cookie() },
      signal: AbortSignal.timeout(60_000),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      this.jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return { status: res.status, location: res.headers.get('location'), text: await res.text() };
  }

  get(url: string): Promise<Page> {
    return this.request(url);
  }

  post(url: string, fields: Record<string, string | string[]>): Promise<Page> {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) for (const value of Array.isArray(v) ? v : [v]) body.append(k, value);
    return this.request(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() });
  }

  /**
   * Submits the form of `page` (read by forms.ts) that has the button `button`, with what a person
   * types (by label), to the form's action on `base`, as a browser would.
   */
  submit(base: string, page: Page, button: string, typed: Record<string, string> = {}): Promise<Page> {
    const form = formIn(page.text, button);
    for (const [label, value] of Object.entries(typed)) form.fill(label, value);
    return this.post(`${base}${form.action}`, form.values(button));
  }

  /** The CSRF token of the page's form that has the button `button`. */
  static csrfOf(page: Page, button: string): string {
    return String(formIn(page.text, button).values(button)._csrf ?? '');
  }

  /** A multipart upload as a browser sends it: the CSRF field first, then the file. */
  upload(url: string, csrf: string, file: Buffer, fileName: string): Promise<Page> {
    const form = new FormData();
    form.append('_csrf', csrf);
    form.append('file', new Blob([new Uint8Array(file)], { type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' }), fileName);
    return this.request(url, { method: 'POST', body: form });
  }
}
