import zlib from 'node:zlib';
import { HEADERS, rawWorkbook, sheetXml, workbook, zip, zipBomb } from '../../test/support/imports-files';
import { DOCTYPE_REFUSED, EMPTY_FILE, ENCRYPTED, ImportFileError, NOT_A_WORKBOOK, readUpload } from './workbook-reader';

const LIMITS = { maxBytes: 20 * 1024 * 1024, maxInflatedBytes: 200 * 1024 * 1024, maxRows: 100_000 };

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ImportFileError) return error.message;
    throw error;
  }
  throw new Error('the file was accepted');
}

/**
 * Counts what the zip reader inflates while `run` runs: every inflate stream yauzl opens and every
 * byte that comes out of it. Proves "refused from the declared sizes, without inflating" without a
 * timed assertion (wall-clock bounds flake on a busy machine; bytes do not).
 */
async function inflation(run: () => Promise<unknown>): Promise<{ streams: number; bytes: number }> {
  const original = zlib.createInflateRaw;
  const seen = { streams: 0, bytes: 0 };
  const counting = (options?: zlib.ZlibOptions) => {
    const stream = original(options);
    seen.streams++;
    stream.on('data', (chunk: Buffer) => (seen.bytes += chunk.length));
    return stream;
  };
  const descriptor = Object.getOwnPropertyDescriptor(zlib, 'createInflateRaw')!;
  Object.defineProperty(zlib, 'createInflateRaw', { ...descriptor, value: counting });
  try {
    await run();
  } catch {
    // The caller asserts the refusal itself.
  } finally {
    Object.defineProperty(zlib, 'createInflateRaw', descriptor);
  }
  return seen;
}

const texts = (cells: ({ text: string } | undefined)[]) => cells.map((c) => c?.text ?? '');

describe('readUpload: Excel quirks', () => {
  it('reads numbers in text columns, formulas, rich text, dates, booleans, trailing spaces and skips blank rows', async () => {
    const file = await workbook(
      [
        { UserName: 12345, Email: ' anna@example.org  ', Mobile: 4915112345678, FirstName: { richText: [{ text: 'An', font: { bold: true } }, { text: 'na' }] } },
        {},
        { UserName: { formula: 'LOWER("BOB")', result: 'bob' }, Email: 'bob@example.org', Enabled: false, Department: new Date(Date.UTC(2026, 2, 1)) },
      ],
      HEADERS,
    );
    const sheet = await readUpload(file, 'users.xlsx', LIMITS);
    expect(sheet.headers).toEqual(HEADERS);
    expect(sheet.rows.map((r) => r.rowNumber)).toEqual([2, 4]);
    const [anna, bob] = sheet.rows.map((r) => Object.fromEntries(HEADERS.map((h, i) => [h, r.cells[i]?.text ?? ''])));
    expect(anna).toMatchObject({ UserName: '12345', Email: 'anna@example.org', Mobile: '4915112345678', FirstName: 'Anna' });
    expect(bob).toMatchObject({ UserName: 'bob', Enabled: 'false', Department: '2026-03-01' });
  });

  it('flags Excel errors and formulas without a saved result', async () => {
    const file = await workbook([{ UserName: { error: '#N/A' } as never, Email: { formula: 'A1' } as never }]);
    const [row] = (await readUpload(file, 'x.xlsx', LIMITS)).rows;
    expect(row.cells[1]?.problem).toMatch(/Excel error #N\/A/);
    expect(row.cells[5]?.problem).toMatch(/no saved result/);
  });

  it('reads CSV with a BOM, semicolons, quotes and line breaks inside quotes', async () => {
    const csv = '\uFEFFUserName;Email;Roles\r\njsmith;j@example.org;"Member, User manager"\r\n;;\r\n"multi\nline";m@example.org;x\r\n';
    const sheet = await readUpload(Buffer.from(csv), 'users.csv', LIMITS);
    expect(sheet.headers).toEqual(['UserName', 'Email', 'Roles']);
    expect(sheet.rows.map((r) => texts(r.cells))).toEqual([
      ['jsmith', 'j@example.org', 'Member, User manager'],
      ['multi\nline', 'm@example.org', 'x'],
    ]);
  });

  it('reads inline strings of a hand-written sheet and notes data right of the header', async () => {
    const sheet = await readUpload(rawWorkbook(sheetXml([['UserName', 'Email'], ['a', 'a@x.org', 'stray']])), 'x.xlsx', LIMITS);
    expect(texts(sheet.rows[0].cells)).toEqual(['a', 'a@x.org']);
    expect(sheet.extraColumns).toEqual([2]);
  });
});

describe('readUpload: hostile files', () => {
  it('refuses an empty file, a non-zip, an encrypted or legacy file and an oversized one', async () => {
    expect(await refusal(readUpload(Buffer.alloc(0), 'x.xlsx', LIMITS))).toBe(EMPTY_FILE);
    expect(await refusal(readUpload(Buffer.from('<html>hello</html>'), 'x.xlsx', LIMITS))).toBe(NOT_A_WORKBOOK);
    const cfb = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(504)]);
    expect(await refusal(readUpload(cfb, 'x.xlsx', LIMITS))).toBe(ENCRYPTED);
    expect(await refusal(readUpload(Buffer.alloc(2048, 1), 'x.xlsx', { ...LIMITS, maxBytes: 1024 }))).toMatch(/larger than the limit/);
  });

  it('refuses a zip that is not a workbook and a truncated one', async () => {
    expect(await refusal(readUpload(zip([{ name: 'hello.txt', data: 'hi' }]), 'x.xlsx', LIMITS))).toBe(NOT_A_WORKBOOK);
    const good = await workbook([{ UserName: 'a', Email: 'a@x.org' }]);
    expect(await refusal(readUpload(good.subarray(0, good.length - 30), 'x.xlsx', LIMITS))).toMatch(/not a readable Excel workbook/);
  });

  it('refuses a zip bomb from its declared sizes without inflating it', async () => {
    const bomb = await zipBomb(300);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    // "would unpack": the central directory's declared sizes, not the inflating budget ("unpacks").
    expect(await refusal(readUpload(bomb, 'x.xlsx', LIMITS))).toMatch(/would unpack to more than 200 MB|zip bomb/);
    // Not a single byte is inflated, so neither time nor memory grows with the bomb.
    expect(await inflation(() => readUpload(bomb, 'x.xlsx', LIMITS))).toEqual({ streams: 0, bytes: 0 });
    // Far below the total limit, the ratio check refuses a bomb just as early.
    const ratio = await zipBomb(20);
    expect(await refusal(readUpload(ratio, 'x.xlsx', LIMITS))).toMatch(/zip bomb/);
    expect(await inflation(() => readUpload(ratio, 'x.xlsx', LIMITS))).toEqual({ streams: 0, bytes: 0 });
    // Building the 300 MB bomb takes the test seconds; refusing it takes the gate milliseconds.
  }, 60_000);

  it('counts inflated bytes: a valid workbook is inflated, so the counter above can see inflating', async () => {
    const file = await workbook([{ UserName: 'a', Email: 'a@x.org' }]);
    const seen = await inflation(() => readUpload(file, 'x.xlsx', LIMITS));
    expect(seen.streams).toBeGreaterThan(0);
    expect(seen.bytes).toBeGreaterThan(0);
  });

  it('stops a bomb that lies about its size while inflating, a bounded number of bytes in', async () => {
    const bomb = await zipBomb(50, { lieAboutSize: true });
    const limits = { ...LIMITS, maxInflatedBytes: 10 * 1024 * 1024 };
    expect(await refusal(readUpload(bomb, 'x.xlsx', limits))).toMatch(/unpacks to more than 10 MB|not a readable/);
    // Far less than the 50 MB it holds: at most the limit and one inflate chunk (in fact it stops
    // at once, when the bytes outgrow the size the entry declared).
    const seen = await inflation(() => readUpload(bomb, 'x.xlsx', limits));
    expect(seen.bytes).toBeLessThanOrEqual(limits.maxInflatedBytes + 1024 * 1024);
  });

  it('refuses DOCTYPE and entity declarations', async () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><worksheet><sheetData><row><c t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>`;
    expect(await refusal(readUpload(rawWorkbook(laughs), 'x.xlsx', LIMITS))).toBe(DOCTYPE_REFUSED);
  });

  it('stops past the row cap', async () => {
    const rows = [['UserName', 'Email'], ...Array.from({ length: 11 }, (_, i) => [`u${i}`, `u${i}@x.org`])];
    expect(await refusal(readUpload(rawWorkbook(sheetXml(rows)), 'x.xlsx', { ...LIMITS, maxRows: 10 }))).toMatch(/more than 10 rows/);
    await expect(readUpload(rawWorkbook(sheetXml(rows.slice(0, 11))), 'x.xlsx', { ...LIMITS, maxRows: 10 })).resolves.toBeDefined();
  });

  it('refuses CSV that is not UTF-8', async () => {
    expect(await refusal(readUpload(Buffer.from([0x55, 0x73, 0xe9, 0x0a]), 'x.csv', LIMITS))).toMatch(/not UTF-8/);
  });
});
