import ExcelJS from 'exceljs';
import { constants as zlibConstants, crc32, createDeflateRaw, deflateRawSync } from 'node:zlib';

/**
 * Upload files for the import tests: real workbooks written with exceljs, and hand-made zips
 * (bombs, lying sizes, DOCTYPE) that no spreadsheet program would write.
 */

export const HEADERS = ['Id', 'UserName', 'FirstName', 'LastName', 'FullName', 'Email', 'Mobile', 'Password', 'Provider', 'Roles', 'Enabled', 'Department', 'Organizations', 'Licence', 'Profile'];

export type Row = Record<string, string | number | boolean | Date | ExcelJS.CellValue | undefined>;

/** An .xlsx with `headers` in row 1 and one row per object (missing keys stay empty). */
export async function workbook(rows: Row[], headers: string[] = HEADERS, configure?: (ws: ExcelJS.Worksheet) => void): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Users');
  ws.addRow(headers);
  for (const row of rows) ws.addRow(headers.map((h) => (row[h] === undefined ? null : row[h])));
  configure?.(ws);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** A valid local user row number `i`. */
export function userRow(i: number, extra: Row = {}): Row {
  return { UserName: `imp${i}`, FirstName: `First${i}`, LastName: `Last${i}`, Email: `imp${i}@example.org`, Password: `Passw0rd-${i}`, ...extra };
}

export interface ZipEntrySpec {
  name: string;
  data: Buffer | string;
  /** Uncompressed size written into the headers (a lie when it differs from the data). */
  declaredSize?: number;
}

/** A zip archive (deflate) built by hand. */
export function zip(entries: ZipEntrySpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : e.data;
    const compressed = deflateRawSync(data);
    locals.push(localHeader(e.name, crc32(data), compressed.length, e.declaredSize ?? data.length), compressed);
    centrals.push(centralHeader(e.name, crc32(data), compressed.length, e.declaredSize ?? data.length, offset));
    offset += 30 + Buffer.byteLength(e.name) + compressed.length;
  }
  const central = Buffer.concat(centrals);
  return Buffer.concat([...locals, central, endOfCentral(entries.length, central.length, offset)]);
}

function localHeader(name: string, crc: number, compressedSize: number, size: number): Buffer {
  const n = Buffer.from(name);
  const b = Buffer.alloc(30);
  b.writeUInt32LE(0x04034b50, 0);
  b.writeUInt16LE(20, 4);
  b.writeUInt16LE(0, 6);
  b.writeUInt16LE(8, 8);
  b.writeUInt32LE(crc >>> 0, 14);
  b.writeUInt32LE(compressedSize, 18);
  b.writeUInt32LE(size, 22);
  b.writeUInt16LE(n.length, 26);
  return Buffer.concat([b, n]);
}

function centralHeader(name: string, crc: number, compressedSize: number, size: number, offset: number): Buffer {
  const n = Buffer.from(name);
  const b = Buffer.alloc(46);
  b.writeUInt32LE(0x02014b50, 0);
  b.writeUInt16LE(20, 4);
  b.writeUInt16LE(20, 6);
  b.writeUInt16LE(0, 8);
  b.writeUInt16LE(8, 10);
  b.writeUInt32LE(crc >>> 0, 16);
  b.writeUInt32LE(compressedSize, 20);
  b.writeUInt32LE(size, 24);
  b.writeUInt16LE(n.length, 28);
  b.writeUInt32LE(offset, 42);
  return Buffer.concat([b, n]);
}

function endOfCentral(count: number, size: number, offset: number): Buffer {
  const b = Buffer.alloc(22);
  b.writeUInt32LE(0x06054b50, 0);
  b.writeUInt16LE(count, 8);
  b.writeUInt16LE(count, 10);
  b.writeUInt32LE(size, 12);
  b.writeUInt32LE(offset, 16);
  return b;
}

const CONTENT_TYPES = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`;
const WORKBOOK = `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Users" sheetId="1" r:id="rId1"/></sheets></workbook>`;
const RELS = `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`;

/** A minimal hand-written workbook whose first sheet is `sheetXml`. */
export function rawWorkbook(sheetXml: string | Buffer, extra: ZipEntrySpec[] = [], sheetDeclaredSize?: number): Buffer {
  return zip([
    { name: '[Content_Types].xml', data: CONTENT_TYPES },
    { name: 'xl/workbook.xml', data: WORKBOOK },
    { name: 'xl/_rels/workbook.xml.rels', data: RELS },
    { name: 'xl/worksheets/sheet1.xml', data: sheetXml, declaredSize: sheetDeclaredSize },
    ...extra,
  ]);
}

/** Inline-string sheet XML for `rows` (header included). */
export function sheetXml(rows: string[][]): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const body = rows.map((cells, r) => `<row r="${r + 1}">${cells.map((c) => `<c t="inlineStr"><is><t>${esc(c)}</t></is></c>`).join('')}</row>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${body}</sheetData></worksheet>`;
}

/**
 * A zip bomb: a sheet part of `megabytes` MB of zeros-like XML padding, deflated in streaming
 * fashion (a small file; the central directory states the true size, or a lie).
 */
export async function zipBomb(megabytes: number, options: { lieAboutSize?: boolean } = {}): Promise<Buffer> {
  const head = Buffer.from(sheetXml([HEADERS]).replace('</sheetData></worksheet>', '</sheetData>'));
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  const deflate = createDeflateRaw({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (b: Buffer) => parts.push(b));
  const done = new Promise<void>((resolve) => deflate.on('end', () => resolve()));
  let crc = crc32(head);
  deflate.write(head);
  for (let i = 0; i < megabytes; i++) {
    crc = crc32(chunk, crc);
    deflate.write(chunk);
  }
  const tail = Buffer.from('</worksheet>');
  crc = crc32(tail, crc);
  deflate.end(tail);
  await done;
  const compressed = Buffer.concat(parts);
  const size = head.length + megabytes * chunk.length + tail.length;
  const declared = options.lieAboutSize ? 4096 : size;
  const name = 'xl/worksheets/sheet1.xml';
  const pre = zip([
    { name: '[Content_Types].xml', data: CONTENT_TYPES },
    { name: 'xl/workbook.xml', data: WORKBOOK },
    { name: 'xl/_rels/workbook.xml.rels', data: RELS },
  ]);
  // Re-assemble: the three small entries, then the bomb entry, then one central directory.
  const eocdAt = pre.length - 22;
  const centralSize = pre.readUInt32LE(eocdAt + 12);
  const centralOffset = pre.readUInt32LE(eocdAt + 16);
  const localsPart = pre.subarray(0, centralOffset);
  const centralPart = pre.subarray(centralOffset, centralOffset + centralSize);
  const bombLocal = Buffer.concat([localHeader(name, crc, compressed.length, declared), compressed]);
  const bombCentral = centralHeader(name, crc, compressed.length, declared, localsPart.length);
  const central = Buffer.concat([centralPart, bombCentral]);
  return Buffer.concat([localsPart, bombLocal, central, endOfCentral(4, central.length, localsPart.length + bombLocal.length)]);
}

/*
 * Hostile shapes that passed the zip-bomb gate (honest sizes, ordinary compression ratios) and
 * then exhausted the server's memory while being read. Each is generated here, streamed through
 * deflate chunk by chunk, so that no test holds the inflated part (up to 180 MB) in memory.
 */

/**
 * A deflated zip entry built from `chunks` as they are produced. Each chunk is deflated on its
 * own and ends on a sync flush, so the pieces concatenate into one valid deflate stream; a chunk
 * that comes again (the same Buffer) reuses its piece, so a 180 MB part takes a second to build.
 */
function deflateChunks(chunks: Iterable<Buffer>): { compressed: Buffer; crc: number; size: number } {
  const pieces = new Map<Buffer, Buffer>();
  const parts: Buffer[] = [];
  let crc = 0;
  let size = 0;
  for (const chunk of chunks) {
    crc = crc32(chunk, crc);
    size += chunk.length;
    let piece = pieces.get(chunk);
    if (!piece) {
      piece = deflateRawSync(chunk, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
      pieces.set(chunk, piece);
    }
    parts.push(piece);
  }
  // The final (empty) block.
  parts.push(deflateRawSync(Buffer.alloc(0)));
  return { compressed: Buffer.concat(parts), crc, size };
}

/** A workbook whose sheet part is streamed from `chunks` (the other parts as in `rawWorkbook`). */
export function streamedWorkbook(chunks: Iterable<Buffer>): Buffer {
  const { compressed, crc, size } = deflateChunks(chunks);
  const name = 'xl/worksheets/sheet1.xml';
  const pre = zip([
    { name: '[Content_Types].xml', data: CONTENT_TYPES },
    { name: 'xl/workbook.xml', data: WORKBOOK },
    { name: 'xl/_rels/workbook.xml.rels', data: RELS },
  ]);
  const eocdAt = pre.length - 22;
  const centralSize = pre.readUInt32LE(eocdAt + 12);
  const centralOffset = pre.readUInt32LE(eocdAt + 16);
  const localsPart = pre.subarray(0, centralOffset);
  const sheetLocal = Buffer.concat([localHeader(name, crc, compressed.length, size), compressed]);
  const central = Buffer.concat([pre.subarray(centralOffset, centralOffset + centralSize), centralHeader(name, crc, compressed.length, size, localsPart.length)]);
  return Buffer.concat([localsPart, sheetLocal, central, endOfCentral(4, central.length, localsPart.length + sheetLocal.length)]);
}

const SHEET_OPEN = '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>';
const SHEET_CLOSE = '</sheetData></worksheet>';
const inlineCell = (ref: string, text: string) => `<c r="${ref}" t="inlineStr"><is><t>${text}</t></is></c>`;

/**
 * Header cells UserName, Email and one at column XFD (Excel's last), then `rows` users: every row
 * padded to 16,384 cells once cost the reader 13 GB (~0.8 MB as a file).
 */
export function wideHeaderWorkbook(rows = 100_000, lastColumn = 'XFD'): Buffer {
  function* chunks(): Generator<Buffer> {
    yield Buffer.from(`${SHEET_OPEN}<row r="1">${inlineCell('A1', 'UserName')}${inlineCell('B1', 'Email')}${inlineCell(`${lastColumn}1`, 'Note')}</row>`);
    const BATCH = 1000;
    for (let start = 2; start < rows + 2; start += BATCH) {
      let xml = '';
      for (let r = start; r < Math.min(start + BATCH, rows + 2); r++) xml += `<row r="${r}">${inlineCell(`A${r}`, `wide${r}`)}${inlineCell(`B${r}`, `wide${r}@example.org`)}</row>`;
      yield Buffer.from(xml);
    }
    yield Buffer.from(SHEET_CLOSE);
  }
  return streamedWorkbook(chunks());
}

/** A CSV whose header row has `columns` columns (~3 MB for a million). */
export function wideCsv(columns = 1_000_000): Buffer {
  const header = ['UserName', 'Email', ...Array.from({ length: columns - 2 }, (_, i) => (i % 2 === 0 ? 'ab' : 'cd'))].join(',');
  return Buffer.from(`${header}\r\nwidecsv,widecsv@example.org\r\n`);
}

/**
 * One inline-string cell of `mebibytes` MiB (a 150 MiB cell is ~1.1 MB as a file). Not a bomb
 * by ratio: a pseudo-random letter every 256 characters keeps deflate near 1:130.
 */
export function longCellWorkbook(mebibytes = 150): Buffer {
  const block = Buffer.alloc(1024 * 1024, 0x61);
  let x = 12345;
  for (let i = 0; i < block.length; i += 256) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    block[i] = 0x62 + (x % 20);
  }
  function* chunks(): Generator<Buffer> {
    yield Buffer.from(`${SHEET_OPEN}<row r="1">${inlineCell('A1', 'UserName')}${inlineCell('B1', 'Email')}</row><row r="2"><c r="A2" t="inlineStr"><is><t>`);
    for (let i = 0; i < mebibytes; i++) yield block;
    yield Buffer.from(`</t></is></c></row>${SHEET_CLOSE}`);
  }
  return streamedWorkbook(chunks());
}

/**
 * `elements` nested elements inside the sheet data, each `<a>` or `<b>` at random, never closed
 * (60 million: 180 MB of XML in an ~11 MB file, a ratio of 1:16).
 */
export function nestedWorkbook(elements = 60_000_000): Buffer {
  // One megabyte of random `<a>`/`<b>`, repeated: beyond deflate's 32 KB window a repeat costs
  // as much as fresh randomness, so the file is as small (and as slow to refuse) as the real one.
  const PER_CHUNK = 350_000;
  const block = Buffer.alloc(PER_CHUNK * 3);
  let x = 987654321;
  for (let i = 0; i < PER_CHUNK; i++) {
    if (i % 31 === 0) x = (x * 1103515245 + 12345) & 0x7fffffff;
    block[i * 3] = 0x3c;
    block[i * 3 + 1] = (x >> i % 31) & 1 ? 0x61 : 0x62;
    block[i * 3 + 2] = 0x3e;
  }
  function* chunks(): Generator<Buffer> {
    yield Buffer.from(`${SHEET_OPEN}<row r="1">${inlineCell('A1', 'UserName')}${inlineCell('B1', 'Email')}</row>`);
    let done = 0;
    for (; done + PER_CHUNK <= elements; done += PER_CHUNK) yield block;
    if (done < elements) yield block.subarray(0, (elements - done) * 3);
    yield Buffer.from(SHEET_CLOSE);
  }
  return streamedWorkbook(chunks());
}
