import ExcelJS from 'exceljs';
import { Writable } from 'node:stream';
import * as yauzl from 'yauzl';
import { cleanText, looksLikeFormula, TEXT_FORMAT } from './cells';
import { streamingWorkbook } from './sheet-writers';
import { readUpload } from './workbook-reader';

/**
 * The streaming writer writes its data rows as sheet XML of its own (sheet-xml.ts). Random rows —
 * any Unicode, control characters, XML's special characters, text that looks like a formula,
 * very long text, date-like text, empty and missing cells — are written both by it and by
 * exceljs's own row serialisation (what the writer did before): the packages must hold the same
 * bytes, and every cell must read back as written, with exceljs and with the import's reader.
 */

type Cells = (string | null | undefined)[];

/** Deterministic pseudo-random numbers (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POOLS = [
  'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:/_',
  `<>&'"`,
  Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join('') + '\x7f',
  'äöüßéèçñøåÆŒ€£¥©®\u00a0\u2028\u2029\ufeff\ufffd',
  '漢字かなカナ한국어العربيةעברית',
  '😀🎉𝄞𠜎', // astral: surrogate pairs
  '\ud800\udbff\udc00\udfff', // lone surrogates
  ']]><![CDATA[<v></v>&amp;&#10;',
];
const STARTS = ['=', '+', '-', '@', '\t', '\r', '=HYPERLINK("http://evil.example","x")', '+49 151', '-2', '@SUM(A1)', ' =', '\x01='];

function text(next: () => number, pools = POOLS): string {
  const roll = next();
  if (roll < 0.1) return '';
  if (roll < 0.15) return new Date(Date.UTC(1900 + Math.floor(next() * 200), Math.floor(next() * 12), 1 + Math.floor(next() * 28))).toISOString().slice(0, next() < 0.5 ? 10 : 19);
  if (roll < 0.2) return String(Math.floor(next() * 1e15));
  const length = roll < 0.203 ? 32_767 + Math.floor(next() * 10_000) : Math.floor(next() * 40);
  let s = next() < 0.25 ? STARTS[Math.floor(next() * STARTS.length)] : '';
  while (s.length < length) {
    const pool = pools[Math.floor(next() * pools.length)];
    // Whole code points: an astral character is two UTF-16 units.
    const chars = Array.from(pool);
    s += chars[Math.floor(next() * chars.length)];
  }
  return s;
}

function randomRows(seed: number, count: number, width: number, pools = POOLS): Cells[] {
  const next = random(seed);
  return Array.from({ length: count }, () => {
    const kind = next();
    if (kind < 0.03) return []; // a row without cells
    const cells: Cells = Array.from({ length: width }, () => {
      const r = next();
      return r < 0.05 ? null : r < 0.1 ? undefined : text(next, pools);
    });
    return kind < 0.1 ? cells.slice(0, Math.floor(next() * width)) : cells;
  });
}

/** exceljs's own serialisation of the same rows: one shared style object per kind of cell. */
function referenceWorkbook(out: Writable, sheetName: string) {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  const ws = wb.addWorksheet(sheetName, { views: [{ state: 'frozen', ySplit: 1 }] });
  const plain: Partial<ExcelJS.Style> = {};
  const textStyle: Partial<ExcelJS.Style> = { numFmt: TEXT_FORMAT };
  return {
    header(values: string[]) {
      const row = ws.addRow(values);
      row.font = { bold: true };
      row.commit();
    },
    row(values: Cells) {
      const row = ws.addRow([]);
      values.forEach((v, i) => {
        if (v === null || v === undefined || v === '') return;
        const cell = row.getCell(i + 1);
        cell.value = v;
        cell.style = looksLikeFormula(v) ? textStyle : plain;
      });
      row.commit();
    },
    async drain() {},
    async finish() {
      ws.commit();
      await wb.commit();
    },
  };
}

async function write(make: typeof streamingWorkbook | typeof referenceWorkbook, header: string[], rows: Cells[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  const writer = make(out, 'Users');
  writer.header(header);
  for (const [i, row] of rows.entries()) {
    writer.row(row);
    if (i % 50 === 49) await writer.drain();
  }
  await writer.finish();
  if (!out.writableFinished) await new Promise((resolve) => out.once('finish', resolve));
  return Buffer.concat(chunks);
}

/** The entries of a zip, inflated. */
function unzip(file: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(file, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error);
      const entries = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const parts: Buffer[] = [];
          stream.on('data', (d: Buffer) => parts.push(d));
          stream.on('end', () => {
            entries.set(entry.fileName, Buffer.concat(parts));
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(entries));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

/**
 * What a value becomes in the file and back: the characters XML 1.0 cannot hold left out (C0
 * controls but tab, LF and CR; DEL, as exceljs does; U+FFFE and U+FFFF), line ends normalised by
 * the XML parser, lone surrogates replaced in UTF-8.
 */
function readBack(value: string): string {
  return value
    .replace(/[\x00-\x08\x0B\x0C\x0E-\x1F\x7F\uFFFE\uFFFF]/g, '')
    .replace(/\r\n?/g, '\n')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/**
 * exceljs's reader decodes entities twice: a cell holding the text `&amp;` (written `&amp;amp;`)
 * reads back as `&`. Its writer and ours write the same bytes; the import's reader reads them right.
 */
function exceljsReadBack(text: string): string {
  return text.replace(/&(quot|apos|lt|gt|amp);/g, (_, name: string) => ({ quot: '"', apos: "'", lt: '<', gt: '>', amp: '&' })[name]!);
}

const HEADER = ['Id', 'UserName', 'FirstName', 'LastName', 'FullName', 'Email', 'Mobile', 'Password', 'Provider', 'Roles', 'Enabled', 'Department', 'Organizations', 'Skill'];

describe('streamingWorkbook', () => {
  jest.setTimeout(120_000);

  it.each([1, 2, 3, 4])('writes the bytes exceljs writes for random rows (seed %i)', async (seed) => {
    const rows = randomRows(seed, 400, HEADER.length);
    const [ours, reference] = await Promise.all([write(streamingWorkbook, HEADER, rows).then(unzip), write(referenceWorkbook, HEADER, rows).then(unzip)]);
    expect([...ours.keys()].sort()).toEqual([...reference.keys()].sort());
    for (const [name, data] of reference) {
      // core.xml holds the time of writing.
      if (name !== 'docProps/core.xml') expect({ name, xml: ours.get(name)!.toString('utf8') }).toEqual({ name, xml: data.toString('utf8') });
    }
  });

  it.each([5, 6])('writes cells that read back as written, formula-like text in Text format (seed %i)', async (seed) => {
    // Excel's longest cell is 32,767 characters; the import refuses longer ones.
    const rows = randomRows(seed, 300, HEADER.length, [...POOLS, '\ufffe\uffff']).map((cells) => cells.map((v) => v?.slice(0, 32_767)));
    // The cases the export guards against, and every XML special character, at known places.
    rows.push(['=1+1', '+49 151', '-2 minus', '@SUM(A1)', '\tTabbed', '\rx', '=HYPERLINK("http://evil.example","click")', `<a href="x">&amp;'</a>`, ']]>', 'x'.repeat(32_767)]);
    const file = await write(streamingWorkbook, HEADER, rows);

    // exceljs's reader: type, value and Text format of every cell.
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(file as unknown as ExcelJS.Buffer);
    const ws = wb.worksheets[0];
    expect((ws.getRow(1).values as unknown[]).slice(1)).toEqual(HEADER);
    expect(ws.getRow(1).getCell(1).font).toEqual({ bold: true });
    expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    // The import's reader (yauzl + saxes): the text of every cell.
    const sheet = await readUpload(file, 'users.xlsx', { maxBytes: 50 * 1024 * 1024, maxInflatedBytes: 500 * 1024 * 1024, maxRows: 10_000 });
    expect(sheet.headers).toEqual(HEADER);
    const imported = new Map(sheet.rows.map((r) => [r.rowNumber, r.cells]));
    let checked = 0;
    rows.forEach((cells, r) => {
      const row = ws.getRow(r + 2);
      for (let c = 0; c < HEADER.length + 1; c++) {
        const value = cells[c];
        const cell = row.getCell(c + 1);
        const where = `row ${r + 2}, column ${c + 1}, written ${JSON.stringify(value)}`;
        const importedText = imported.get(r + 2)?.[c]?.text ?? '';
        // A value of characters XML cannot hold only is an empty cell, read back as no value.
        if (value === null || value === undefined || readBack(value) === '') {
          expect({ where, value: cell.value, importedText }).toEqual({ where, value: null, importedText: '' });
          continue;
        }
        expect({ where, type: cell.type, value: cell.value, text: cell.numFmt === TEXT_FORMAT, importedText }).toEqual({
          where,
          type: ExcelJS.ValueType.String,
          value: exceljsReadBack(readBack(value)),
          text: looksLikeFormula(value),
          importedText: cleanText(readBack(value)),
        });
        checked++;
      }
    });
    expect(checked).toBeGreaterThan(3_000);
  });
});
