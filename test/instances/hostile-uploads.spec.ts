import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { createTestDatabase, TestDatabase } from '../support/database';
import { longCellWorkbook, nestedWorkbook, wideCsv, wideHeaderWorkbook } from '../support/imports-files';
import { Browser, freePort, Instance, sleep, spawnInstance } from './instance';

jest.setTimeout(600_000);

const ADMIN_PASSWORD = 'Admin-pass-2026';
const MiB = 1024 * 1024;
/** The target for every hostile file: the server's peak resident memory stays below it. */
const RSS_LIMIT = 512 * MiB;

/**
 * The compiled app (`node dist/src/main.js`, as production runs it) takes each upload that once
 * exhausted its memory and crashed it: a header cell at XFD over 100,000 rows, a CSV of a million
 * columns, one 150 MiB cell, 60 million nested elements. Each goes through the upload form into
 * the background worker; the job fails with its message, the process lives on, no user is
 * written, and the process's peak resident memory (VmHWM, a fresh process per file so that each
 * figure is that file's own) stays below 512 MiB. The figures are printed after the run.
 */
describe('hostile uploads against the compiled app', () => {
  let db: TestDatabase;
  let pg: Client;
  const peaks: Record<string, number> = {};
  const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []) => (await pg.query(text, params)).rows as T[];
  const peakRss = (pid: number) => Number(/^VmHWM:\s*(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

  beforeAll(async () => {
    db = await createTestDatabase();
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  });
  afterAll(async () => {
    await pg?.end();
    await db?.drop();
    const mib = Object.fromEntries(Object.entries(peaks).map(([k, v]) => [k, Math.round(v / MiB)]));
    process.stderr.write(`hostile uploads, peak RSS (VmHWM) in MiB: ${JSON.stringify(mib)}\n`);
  });

  async function started(name: string): Promise<{ instance: Instance; browser: Browser }> {
    const port = await freePort();
    const instance = spawnInstance(name, port, { DATABASE_URL: db.url, SESSION_SECRET: 'hostile-uploads-secret-0123456789abcdef', ADMIN_PASSWORD, SCHEDULER: 'off', IMPORT_POLL_SECONDS: '1' });
    await instance.ready(120_000);
    const browser = new Browser();
    const login = await browser.get(`${instance.base}/login`);
    const signedIn = await browser.submit(instance.base, login, 'Sign in', { Username: 'admin', Password: ADMIN_PASSWORD });
    if (signedIn.status !== 303) throw new Error(`Sign-in answered ${signedIn.status}:\n${instance.output()}`);
    return { instance, browser };
  }

  it('an idle server, signed in (the baseline)', async () => {
    const { instance, browser } = await started('baseline');
    expect((await browser.get(`${instance.base}/imports`)).status).toBe(200);
    peaks.baseline = peakRss(instance.pid);
    await instance.stop(10_000);
  });

  const shapes: [string, string, () => Buffer, RegExp][] = [
    ['header at XFD, 100,000 rows', 'xfd-header.xlsx', () => wideHeaderWorkbook(), /data in column XFD, beyond the 256 columns/],
    ['CSV, 1,000,000 columns', 'million-columns.csv', () => wideCsv(), /data in column IW, beyond the 256 columns/],
    ['one 150 MiB cell', 'long-cell.xlsx', () => longCellWorkbook(), /a cell of more than 32,767 characters/],
    ['60 million nested elements', 'nested.xlsx', () => nestedWorkbook(), /more than 64 levels deep/],
  ];

  it.each(shapes)('%s: refused on the import page, the server lives on below 512 MiB', async (label, fileName, make, message) => {
    const { instance, browser } = await started(fileName.replace(/\W/g, '-'));
    try {
      await refusedBelowLimit(instance, browser, label, fileName, make, message);
    } finally {
      // Also after a failure: no server of this test outlives it.
      await instance.stop(10_000);
    }
  });

  async function refusedBelowLimit(instance: Instance, browser: Browser, label: string, fileName: string, make: () => Buffer, message: RegExp): Promise<void> {
    const [{ n: usersBefore }] = await sql<{ n: number }>('select count(*)::int as n from users');
    const file = make();
    const page = await browser.get(`${instance.base}/imports`);
    const upload = await browser.upload(`${instance.base}/imports`, Browser.csrfOf(page, 'Import'), file, fileName);
    if (upload.status !== 303) throw new Error(`Upload answered ${upload.status}:\n${upload.text.slice(0, 500)}\n${instance.output()}`);
    const id = Number(/^\/imports\/(\d+)$/.exec(upload.location ?? '')?.[1]);

    // Waits for the worker (no time bound to assert: a generous one only to end a hung run).
    let status = '';
    for (let waited = 0; waited < 300_000; waited += 250) {
      if (instance.exited) throw new Error(`The server died on ${fileName}:\n${instance.output()}`);
      [{ status }] = await sql<{ status: string }>('select status from import_jobs where id = $1', [id]);
      if (status === 'failed' || status === 'succeeded') break;
      await sleep(250);
    }
    const result = await browser.get(`${instance.base}/imports/${id}`);
    expect(result.status).toBe(200);
    expect(/<p id="import-result">([^<]*)<\/p>/.exec(result.text)?.[1]).toMatch(message);
    expect(status).toBe('failed');
    const [{ n: usersAfter }] = await sql<{ n: number }>('select count(*)::int as n from users');
    expect(usersAfter).toBe(usersBefore);

    peaks[label] = peakRss(instance.pid);
    expect(instance.exited).toBe(false);
    expect(peaks[label]).toBeLessThan(RSS_LIMIT);
  }
});
