import zlib from 'node:zlib';
import {
  HEADERS,
  longCellWorkbook,
  nestedWorkbook,
  rawWorkbook,
  sheetXml,
  streamedWorkbook,
  wideCsv,
  wideHeaderWorkbook,
  workbook,
  zip,
  zipBomb,
} from '../../test/support/imports-files';
import {
  CELL_TOO_LONG,
  DOCTYPE_REFUSED,
  EMPTY_FILE,
  ENCRYPTED,
  ImportFileError,
  MAX_CELL_CHARS,
  MAX_IMPORT_COLUMNS,
  MAX_XML_DEPTH,
  MAX_XML_ELEMENTS,
  NOT_A_WORKBOOK,
  readUpload,
  TOO_DEEP,
  TOO_MANY_COLUMNS,
  TOO_MANY_ELEMENTS,
  TOO_MUCH_DATA,
} from './workbook-reader';

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

/**
 * Small files that once exhausted the server's memory while being read (they pass the zip-bomb
 * gate: honest sizes, ordinary ratios). Each is refused with its own message as soon as it
 * crosses a limit; what a real file needs just below each limit still reads.
 */
describe('readUpload: files that would exhaust memory', () => {
  const SHEET = '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>';
  const cell = (ref: string, text: string) => `<c r="${ref}" t="inlineStr"><is><t>${text}</t></is></c>`;

  it('a 1 MB workbook with a header cell at column XFD and 100,000 rows', async () => {
    const file = wideHeaderWorkbook();
    expect(file.length).toBeLessThan(2 * 1024 * 1024);
    expect(await refusal(readUpload(file, 'x.xlsx', LIMITS))).toBe(TOO_MANY_COLUMNS('XFD'));
    expect(TOO_MANY_COLUMNS('XFD')).toBe('The file has data in column XFD, beyond the 256 columns an import reads. Remove the columns right of your data and try again.');
  });

  it('reads 256 columns, ignores empty (formatted) cells beyond them, and keeps rows unpadded', async () => {
    expect(MAX_IMPORT_COLUMNS).toBe(256);
    const header = `<row r="1">${cell('A1', 'UserName')}${cell('B1', 'Email')}${cell('IV1', 'Last')}<c r="XFD1" s="1"/></row>`;
    const rows = Array.from({ length: 1000 }, (_, i) => `<row r="${i + 2}">${cell(`A${i + 2}`, `u${i}`)}<c r="XFD${i + 2}" s="2"/></row>`).join('');
    const sheet = await readUpload(rawWorkbook(`${SHEET}${header}${rows}</sheetData></worksheet>`), 'x.xlsx', LIMITS);
    expect(sheet.headers).toHaveLength(256);
    expect(sheet.headers[255]).toBe('Last');
    expect(sheet.rows).toHaveLength(1000);
    // Only up to the last filled cell: 1,000 rows of a 256-wide header hold 1,000 cells, not 256,000.
    expect(sheet.rows.every((r) => r.cells.length === 1)).toBe(true);
    const beyond = `${SHEET}<row r="1">${cell('A1', 'UserName')}${cell('IW1', 'Too far')}</row></sheetData></worksheet>`;
    expect(await refusal(readUpload(rawWorkbook(beyond), 'x.xlsx', LIMITS))).toBe(TOO_MANY_COLUMNS('IW'));
  });

  it('a 3 MB CSV with 1,000,000 columns, and a CSV of 256 columns', async () => {
    const file = wideCsv();
    expect(file.length).toBeLessThan(4 * 1024 * 1024);
    expect(await refusal(readUpload(file, 'x.csv', LIMITS))).toBe(TOO_MANY_COLUMNS('IW'));
    const sheet = await readUpload(wideCsv(256), 'x.csv', LIMITS);
    expect(sheet.headers).toHaveLength(256);
    // Empty fields beyond the limit (trailing delimiters) are no data.
    const trailing = await readUpload(Buffer.from(`UserName,Email${','.repeat(10_000)}\r\na,a@x.org\r\n`), 'x.csv', LIMITS);
    expect(trailing.headers).toEqual(['UserName', 'Email']);
  });

  it('a 1.1 MB workbook with one 150 MiB cell (not a bomb by its ratio)', async () => {
    const file = longCellWorkbook();
    expect(file.length).toBeLessThan(2 * 1024 * 1024);
    expect(await refusal(readUpload(file, 'x.xlsx', LIMITS))).toBe(CELL_TOO_LONG);
    expect(CELL_TOO_LONG).toBe("The file has a cell of more than 32,767 characters (Excel's own limit for a cell): it is refused.");
  });

  it("reads a cell of exactly 32,767 characters (Excel's limit) and refuses one more, in a sheet, a shared string and a CSV", async () => {
    expect(MAX_CELL_CHARS).toBe(32_767);
    const sheetWith = (text: string) => rawWorkbook(`${SHEET}<row r="1">${cell('A1', 'UserName')}${cell('B1', 'Email')}</row><row r="2">${cell('A2', text)}</row></sheetData></worksheet>`);
    const full = 'x'.repeat(MAX_CELL_CHARS);
    expect((await readUpload(sheetWith(full), 'x.xlsx', LIMITS)).rows[0].cells[0]?.text).toBe(full);
    // Entities count as the one character they stand for.
    expect((await readUpload(sheetWith('&amp;'.repeat(MAX_CELL_CHARS)), 'x.xlsx', LIMITS)).rows[0].cells[0]?.text).toHaveLength(MAX_CELL_CHARS);
    expect(await refusal(readUpload(sheetWith(`${full}x`), 'x.xlsx', LIMITS))).toBe(CELL_TOO_LONG);
    const sst = `<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>${full}</t><r><t>x</t></r></si></sst>`;
    const shared = rawWorkbook(`${SHEET}<row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>`, [{ name: 'xl/sharedStrings.xml', data: sst }]);
    expect(await refusal(readUpload(shared, 'x.xlsx', LIMITS))).toBe(CELL_TOO_LONG);
    expect((await readUpload(Buffer.from(`UserName,Email\r\n"${full.slice(1)}""",b\r\n`), 'x.csv', LIMITS)).rows[0].cells[0]?.text).toHaveLength(MAX_CELL_CHARS);
    expect(await refusal(readUpload(Buffer.from(`UserName,Email\r\n${full}x,b\r\n`), 'x.csv', LIMITS))).toBe(CELL_TOO_LONG);
    expect(await refusal(readUpload(Buffer.from(`UserName,Email\r\n"${full}""",b\r\n`), 'x.csv', LIMITS))).toBe(CELL_TOO_LONG);
  });

  it('an 11 MB workbook with 60 million nested elements', async () => {
    const file = nestedWorkbook();
    expect(file.length).toBeLessThan(12 * 1024 * 1024);
    expect(await refusal(readUpload(file, 'x.xlsx', LIMITS))).toBe(TOO_DEEP);
  });

  it(`reads elements nested ${MAX_XML_DEPTH} deep and refuses one level more`, async () => {
    // worksheet and sheetData are two levels: the rest in an extension list Excel would skip.
    const nested = (depth: number) =>
      rawWorkbook(`${SHEET}<row r="1">${cell('A1', 'UserName')}${cell('B1', 'Email')}</row></sheetData>${'<x>'.repeat(depth - 1)}${'</x>'.repeat(depth - 1)}</worksheet>`);
    expect((await readUpload(nested(MAX_XML_DEPTH), 'x.xlsx', LIMITS)).headers).toEqual(['UserName', 'Email']);
    expect(await refusal(readUpload(nested(MAX_XML_DEPTH + 1), 'x.xlsx', LIMITS))).toBe(TOO_DEEP);
  });

  it('refuses a workbook past the element limit (20 million; a smaller one here, for speed)', async () => {
    expect(MAX_XML_ELEMENTS).toBe(20_000_000);
    const limits = { ...LIMITS, maxElements: 1_000_000 };
    // A million and one elements, `<a/>` or `<b/>` at random (so that it is not a bomb by its ratio).
    const rnd = lcg(7);
    const block = Buffer.from(Array.from({ length: 250_000 }, () => (rnd() % 2 ? '<a/>' : '<b/>')).join(''));
    function* chunks(): Generator<Buffer> {
      yield Buffer.from(`${SHEET}<row r="1">${cell('A1', 'UserName')}</row></sheetData>`);
      for (let i = 0; i < 4; i++) yield block;
      yield Buffer.from('</worksheet>');
    }
    expect(await refusal(readUpload(streamedWorkbook(chunks()), 'x.xlsx', limits))).toBe(TOO_MANY_ELEMENTS(1_000_000));
    expect(TOO_MANY_ELEMENTS()).toBe('The workbook holds more than 20,000,000 XML elements: it is refused. Split it into smaller files.');
    await expect(readUpload(streamedWorkbook(chunks()), 'x.xlsx', { ...limits, maxElements: 1_000_100 })).resolves.toBeDefined();
  });

  it('refuses a file whose cells would take more memory than one import may hold (160 MB; 16 MB here, for speed)', async () => {
    const limits = { ...LIMITS, maxHeldBytes: 16 * 1024 * 1024 };
    // 10,000 rows of 26 cells that show one of ten shared strings: 260,000 cells, ~17 MB once read.
    const rnd = lcg(11);
    const row = () => `<row>${Array.from({ length: 26 }, () => `<c t="s"><v>${rnd() % 10}</v></c>`).join('')}</row>`;
    const block = Buffer.from(Array.from({ length: 1000 }, row).join(''));
    function* chunks(): Generator<Buffer> {
      yield Buffer.from(`${SHEET}<row r="1">${Array.from({ length: 26 }, (_, i) => cell(`${String.fromCharCode(65 + i)}1`, `H${i}`)).join('')}</row>`);
      for (let i = 0; i < 10; i++) yield block;
      yield Buffer.from('</sheetData></worksheet>');
    }
    const sst = `<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">${Array.from({ length: 10 }, (_, i) => `<si><t>v${i}</t></si>`).join('')}</sst>`;
    const file = streamedWorkbook(chunks());
    const withShared = zip([{ name: 'xl/sharedStrings.xml', data: sst }]);
    // The shared strings part goes in beside the streamed sheet: rebuild the central directory.
    expect(await refusal(readUpload(addEntry(file, withShared), 'x.xlsx', limits))).toBe(TOO_MUCH_DATA(16 * 1024 * 1024));
    expect(TOO_MUCH_DATA()).toBe('The file holds more data than one import can take (more than 160 MB of cells once read). Split it into smaller files.');
    // The same cells as CSV.
    const csv = Buffer.from(`${Array.from({ length: 26 }, (_, i) => `H${i}`).join(',')}\r\n${`${Array(26).fill('v').join(',')}\r\n`.repeat(10_000)}`);
    expect(await refusal(readUpload(csv, 'x.csv', limits))).toBe(TOO_MUCH_DATA(16 * 1024 * 1024));
    await expect(readUpload(csv, 'x.csv', { ...limits, maxHeldBytes: 32 * 1024 * 1024 })).resolves.toBeDefined();
  });
});

/** A small seeded generator (the same files every run). */
function lcg(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x >> 8;
  };
}

/** `base` with the single entry of `extra` appended (both built by the helpers above). */
function addEntry(base: Buffer, extra: Buffer): Buffer {
  const eocd = (b: Buffer) => b.length - 22;
  const parts = (b: Buffer) => {
    const at = eocd(b);
    const size = b.readUInt32LE(at + 12);
    const offset = b.readUInt32LE(at + 16);
    return { locals: b.subarray(0, offset), central: b.subarray(offset, offset + size), count: b.readUInt16LE(at + 10) };
  };
  const a = parts(base);
  const e = parts(extra);
  // The extra entry's central record points at offset 0: move it behind base's local entries.
  const central = Buffer.from(e.central);
  central.writeUInt32LE(a.locals.length, 42);
  const allCentral = Buffer.concat([a.central, central]);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(a.count + e.count, 8);
  end.writeUInt16LE(a.count + e.count, 10);
  end.writeUInt32LE(allCentral.length, 12);
  end.writeUInt32LE(a.locals.length + e.locals.length, 16);
  return Buffer.concat([a.locals, e.locals, allCentral, end]);
}
