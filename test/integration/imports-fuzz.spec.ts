import { DEFAULT_PASSWORD_POLICY } from '../../src/accounts/password-policy';
import { ImportWorker } from '../../src/imports/import-worker';
import { ReferenceData, validateSheet } from '../../src/imports/import-rules';
import { CELL_TOO_LONG, ImportFileError, readUpload, TOO_DEEP, TOO_MANY_COLUMNS } from '../../src/imports/workbook-reader';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { decodeEntities } from '../support/html';
import { login } from '../support/http';
import { longCellWorkbook, nestedWorkbook, rawWorkbook, sheetXml, wideCsv, wideHeaderWorkbook, workbook } from '../support/imports-files';
import { uploadFile, userDataFingerprint } from '../support/imports-factories';
import { configureProviders } from '../support/sso';

/**
 * Fuzzing the upload pipeline: thousands of byte-mutated variants of a small valid workbook (and
 * of its sheet XML) go through reading and validation; none may throw anything but the import's
 * own "not a readable file" error. A sample also runs through the real worker on the database:
 * each either imports every one of its users or changes nothing; and 120 go through the
 * upload form over HTTP: each is refused with 422 or queued with 303 (never a 500), and its job
 * ends succeeded or failed with the import's own message (never "an unexpected error"). Files
 * shaped to exhaust memory (a header at XFD, a million columns, a 150 MiB cell, 60 million nested
 * elements) are refused on the import page with their own message, and write nothing.
 */
jest.setTimeout(300_000);

const LIMITS = { maxBytes: 20 * 1024 * 1024, maxInflatedBytes: 200 * 1024 * 1024, maxRows: 100_000 };
const HEAD = ['Id', 'UserName', 'Email', 'Provider', 'FirstName', 'Mobile', 'Enabled'];
const ROWS = Array.from({ length: 6 }, (_, i) => [`id-${i}`, `fz${i}`, `fz${i}@example.org`, 'azure', `Name ${i}`, `49151${i}`, 'true']);

/** mulberry32: a small seeded generator, so every run fuzzes the same variants. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(source: Buffer, rnd: () => number): Buffer {
  let bytes = Buffer.from(source);
  const edits = 1 + Math.floor(rnd() * 6);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rnd() * bytes.length);
    const kind = Math.floor(rnd() * 5);
    if (kind === 0) bytes[at] = Math.floor(rnd() * 256);
    else if (kind === 1) bytes[at] ^= 1 << Math.floor(rnd() * 8);
    else if (kind === 2) bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([Math.floor(rnd() * 256)]), bytes.subarray(at)]);
    else if (kind === 3) bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + Math.floor(rnd() * 16))]);
    else bytes = bytes.subarray(0, Math.max(1, at));
  }
  return bytes;
}

const ref: ReferenceData = {
  properties: [],
  roles: new Map([['member', { id: 1, name: 'Member' }]]),
  defaultRoleIds: [1],
  organizations: new Map([['', { id: 1, name: 'Global' }]]),
  rootName: 'Global',
  licences: new Map(),
  defaultLicenceId: null,
  profiles: new Map(),
  defaultProfileId: null,
  departments: new Map(),
  policy: DEFAULT_PASSWORD_POLICY,
  // The rows name the provider azure, which is configured (in the database too, see beforeAll).
  providers: new Set(['azure']),
};
const none = { usernames: new Set<string>(), emails: new Set<string>(), mobiles: new Set<string>(), externalIds: new Set<string>() };

/** Reads and validates; returns what happened, throws only on an unexpected exception. */
async function pipeline(file: Buffer, name: string): Promise<'refused' | 'invalid' | 'valid'> {
  try {
    const sheet = await readUpload(file, name, LIMITS);
    return validateSheet(sheet, ref, none).errors.length > 0 ? 'invalid' : 'valid';
  } catch (error) {
    if (error instanceof ImportFileError) return 'refused';
    throw new Error(`${name}: unexpected ${(error as Error).stack ?? String(error)}`);
  }
}

describe('fuzzed uploads', () => {
  let t: TestApp;
  let xlsx: Buffer;
  let xml: string;
  beforeAll(async () => {
    t = await createTestApp({ env: { IMPORT_POLL_SECONDS: '0' } });
    await configureProviders(t, ['azure']);
    xlsx = await workbook(
      ROWS.map((r) => Object.fromEntries(HEAD.map((h, i) => [h, r[i]]))),
      HEAD,
    );
    xml = sheetXml([HEAD, ...ROWS]);
  });
  afterAll(async () => {
    await t.close();
  });

  it('never throws anything but a clear refusal for 2,000 byte-mutated workbooks', async () => {
    const rnd = random(20261122);
    const outcomes = { refused: 0, invalid: 0, valid: 0 };
    for (let i = 0; i < 2000; i++) outcomes[await pipeline(mutate(xlsx, rnd), `m${i}.xlsx`)]++;
    expect(outcomes.refused + outcomes.invalid + outcomes.valid).toBe(2000);
    expect(outcomes.refused).toBeGreaterThan(0);
  });

  it('never throws for 1,500 mutated sheet XML parts and CSV files (deeper paths: XML, cells, rules)', async () => {
    const rnd = random(4242);
    const outcomes = { refused: 0, invalid: 0, valid: 0 };
    for (let i = 0; i < 1000; i++) outcomes[await pipeline(rawWorkbook(mutate(Buffer.from(xml), rnd)), `x${i}.xlsx`)]++;
    const csv = Buffer.from([HEAD, ...ROWS].map((r) => r.join(';')).join('\r\n'));
    for (let i = 0; i < 500; i++) outcomes[await pipeline(mutate(csv, rnd), `c${i}.csv`)]++;
    // The mutations reach every outcome: refusals, rule violations and clean files.
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.invalid).toBeGreaterThan(0);
    expect(outcomes.valid).toBeGreaterThan(0);
  });

  it('through the worker, a mutated file imports all of its users or changes nothing', async () => {
    const rnd = random(777);
    const [admin] = await t.sql<{ id: number }>(`select id from users where username = 'admin'`);
    let succeeded = 0;
    let failed = 0;
    for (let i = 0; i <= 40; i++) {
      // The last one is the untouched workbook: it must import.
      const file = i === 40 ? xlsx : i % 2 === 0 ? rawWorkbook(mutate(Buffer.from(xml), rnd)) : mutate(xlsx, rnd);
      const before = await userDataFingerprint(t);
      const [{ n: usersBefore }] = await t.sql<{ n: number }>('select count(*)::int as n from users');
      const [job] = await t.sql<{ id: number }>(
        `insert into import_jobs (created_by_id, created_by_name, file_name, file_size, file_kind, file_data) values ($1, 'admin', $2, $3, 'xlsx', $4) returning id`,
        [admin.id, `fuzz${i}.xlsx`, file.length, file],
      );
      await t.app.get(ImportWorker).drain();
      const [done] = await t.sql<{ status: string; imported_count: number; message: string }>('select status, imported_count, message from import_jobs where id = $1', [job.id]);
      // The worker turns any exception into a failed job: only its own messages count as handled.
      expect(done.message).not.toContain('unexpected error');
      const [{ n: usersAfter }] = await t.sql<{ n: number }>('select count(*)::int as n from users');
      if (done.status === 'succeeded') {
        succeeded++;
        expect(usersAfter - usersBefore).toBe(done.imported_count);
        // Remove them again so later files are judged on their own.
        await t.sql(`delete from users where username like 'fz%' or username like '%fz%'`);
        await t.sql(`delete from contacts c where not exists (select 1 from users u where u.contact_id = c.id) and c.id > 1`);
      } else {
        failed++;
        expect(done.status).toBe('failed');
        expect(await userDataFingerprint(t)).toEqual(before);
      }
    }
    expect(succeeded).toBeGreaterThanOrEqual(1);
    expect(failed).toBeGreaterThanOrEqual(1);
    expect(succeeded + failed).toBe(41);
  });

  it('through the upload form, 120 mutated files answer 303 or 422 (never 500) and write all or nothing', async () => {
    const admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    const rnd = random(31337);
    const csv = Buffer.from([HEAD, ...ROWS].map((r) => r.join(';')).join('\r\n'));
    const statuses: Record<number, number> = {};
    const outcomes = { refused: 0, succeeded: 0, failed: 0 };
    for (let i = 0; i < 120; i++) {
      const [file, name] = i % 3 === 0 ? [mutate(xlsx, rnd), `h${i}.xlsx`] : i % 3 === 1 ? [rawWorkbook(mutate(Buffer.from(xml), rnd)), `h${i}.xlsx`] : [mutate(csv, rnd), `h${i}.csv`];
      const before = await userDataFingerprint(t);
      const [{ n: usersBefore }] = await t.sql<{ n: number }>('select count(*)::int as n from users');
      const res = await uploadFile(admin, file, name);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status !== 303 && res.status !== 422) throw new Error(`${name} answered ${res.status}:\n${res.text.slice(0, 1000)}`);
      if (res.status === 422) {
        outcomes.refused++;
        expect(await userDataFingerprint(t)).toEqual(before);
        continue;
      }
      const id = Number(/^\/imports\/(\d+)$/.exec(res.headers.location as string)?.[1]);
      await t.app.get(ImportWorker).drain();
      const [done] = await t.sql<{ status: string; imported_count: number; message: string }>('select status, imported_count, message from import_jobs where id = $1', [id]);
      expect(done.message).not.toContain('unexpected error');
      const page = await admin.get(`/imports/${id}`);
      expect(page.status).toBe(200);
      // Failed jobs keep their file for "Download with errors"; drop it so that the fingerprints
      // (which digest every row) do not grow with every iteration.
      await t.sql('update import_jobs set file_data = null where id = $1', [id]);
      const [{ n: usersAfter }] = await t.sql<{ n: number }>('select count(*)::int as n from users');
      if (done.status === 'succeeded') {
        outcomes.succeeded++;
        expect(usersAfter - usersBefore).toBe(done.imported_count);
        await t.sql(`delete from users where username like 'fz%' or username like '%fz%'`);
        await t.sql(`delete from contacts c where not exists (select 1 from users u where u.contact_id = c.id) and c.id > 1`);
      } else {
        outcomes.failed++;
        expect(done.status).toBe('failed');
        expect(await userDataFingerprint(t)).toEqual(before);
      }
    }
    expect(Object.keys(statuses).sort()).toEqual(['303', '422']);
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.failed).toBeGreaterThan(0);
    expect(outcomes.succeeded + outcomes.failed + outcomes.refused).toBe(120);
  });

  it('through the upload form, files shaped to exhaust memory fail with a clear message on the import page and write nothing', async () => {
    const admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    const shapes: [string, () => Buffer, string][] = [
      ['xfd-header.xlsx', () => wideHeaderWorkbook(), TOO_MANY_COLUMNS('XFD')],
      ['million-columns.csv', () => wideCsv(), TOO_MANY_COLUMNS('IW')],
      ['long-cell.xlsx', () => longCellWorkbook(), CELL_TOO_LONG],
      ['nested.xlsx', () => nestedWorkbook(), TOO_DEEP],
    ];
    for (const [name, make, message] of shapes) {
      const before = await userDataFingerprint(t);
      const res = await uploadFile(admin, make(), name);
      expect(res.status).toBe(303);
      const id = Number(/^\/imports\/(\d+)$/.exec(res.headers.location as string)?.[1]);
      await t.app.get(ImportWorker).drain();
      const page = await admin.get(`/imports/${id}`);
      expect(page.status).toBe(200);
      const result = /<p id="import-result">([^<]*)<\/p>/.exec(page.text)?.[1];
      expect(decodeEntities(result ?? '')).toBe(`Import failed: ${message}`);
      await t.sql('update import_jobs set file_data = null where id = $1', [id]);
      expect(await userDataFingerprint(t)).toEqual(before);
    }
  });
});
