import { SaxesParser, SaxesTagPlain } from 'saxes';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import * as yauzl from 'yauzl';
import type { ImportLimits } from '../config/config';
import { cleanText, columnLetter, isDateFormat, numberText, serialDateText } from './cells';

/**
 * Reads an uploaded user file without trusting it: a hostile-file gate that needs no inflating
 * (magic bytes, encryption, size, the zip's central directory), then a streaming read of the
 * first worksheet with yauzl + saxes that counts every inflated byte and every row and stops at
 * the limits. Never the in-memory workbook reader (a 2 MB zip bomb costs it gigabytes).
 */

/** The configured limits, and (for tests) the reader's own fixed ones below. */
export type FileLimits = Pick<ImportLimits, 'maxBytes' | 'maxInflatedBytes' | 'maxRows'> & Partial<ReaderLimits>;

export interface ReaderLimits {
  /** XML elements in all parts of one workbook. */
  maxElements: number;
  /** Estimated memory of the cells kept. */
  maxHeldBytes: number;
}

/** A file the import refuses before looking at any row; the message is for the user. */
export class ImportFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportFileError';
  }
}

export interface CellValue {
  text: string;
  /** Set when the cell cannot be used as it is (an Excel error, a formula without a saved result). */
  problem?: string;
}

export interface SheetRow {
  /** The row number the user sees in Excel (or the record number of a CSV file). */
  rowNumber: number;
  cells: (CellValue | undefined)[];
}

export interface ParsedSheet {
  kind: 'xlsx' | 'csv';
  headers: string[];
  headerRow: number;
  rows: SheetRow[];
  /** 0-based indexes of columns right of the header that hold data. */
  extraColumns: number[];
}

export type UploadKind = 'xlsx' | 'csv';

const MB = 1024 * 1024;
const megabytes = (n: number) => `${Math.round((n / MB) * 10) / 10} MB`;

export const NOT_A_WORKBOOK = 'The file is not an Excel workbook (.xlsx). Save it in Excel as "Excel Workbook (*.xlsx)" or as CSV and try again.';
export const ENCRYPTED =
  'The file is an encrypted (password-protected) Excel workbook or an old Excel 97-2003 .xls file, which cannot be read. Remove the password, save it as "Excel Workbook (*.xlsx)" and try again.';
export const DAMAGED = 'The file is not a readable Excel workbook (.xlsx): the archive is damaged or incomplete.';
export const EMPTY_FILE = 'The file is empty.';
export const DOCTYPE_REFUSED = 'The workbook contains an XML document type declaration (DOCTYPE/ENTITY), which Excel never writes: it is refused.';

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const CFB_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
const MAX_ENTRIES = 10_000;
/** Deflate reaches ~1:1000 on zeros; real workbooks stay far below 1:100. */
const MAX_RATIO = 200;
const RATIO_MIN_SIZE = MB;
/** Excel's last column (XFD). */
const MAX_COLUMNS = 16_384;

/*
 * Limits on what a file may make the reader hold, so that a small upload cannot exhaust the
 * server's memory (a header cell at column XFD padded 100,000 rows to 16,384 cells each; one
 * 150 MiB cell; 60 million nested elements). Each is far above what a real user file needs.
 */
/** Columns an import reads: the template has 15 plus one per custom property. */
export const MAX_IMPORT_COLUMNS = 256;
/** Excel's own limit for the text of one cell. */
export const MAX_CELL_CHARS = 32_767;
/** Nesting of XML elements (a worksheet needs 7: worksheet, sheetData, row, c, is, r, t). */
export const MAX_XML_DEPTH = 64;
/** XML elements in all parts of one workbook (100,000 rows of 30 cells take 6 to 9 million). */
export const MAX_XML_ELEMENTS = 20_000_000;
/**
 * Characters between two `<` of a part: bounds what the XML parser buffers for one text or tag
 * before we see it (a cell of 32,767 characters, every one an entity, stays below it).
 */
const MAX_MARKUP_RUN = 1024 * 1024;
/**
 * What the cells of a file may cost once read, estimated as their characters plus a fixed
 * overhead per cell (the object and its slot, measured at ~64 bytes on Node 20): 100,000 rows of
 * 15 typical cells take ~120 MB; a file beyond 160 MB is refused before it is held.
 */
export const MAX_HELD_BYTES = 160 * MB;
const CELL_OVERHEAD = 64;

export const TOO_MANY_COLUMNS = (column: string) =>
  `The file has data in column ${column}, beyond the ${MAX_IMPORT_COLUMNS} columns an import reads. Remove the columns right of your data and try again.`;
export const CELL_TOO_LONG = `The file has a cell of more than ${MAX_CELL_CHARS.toLocaleString('en-US')} characters (Excel's own limit for a cell): it is refused.`;
export const TOO_DEEP = `The workbook nests XML elements more than ${MAX_XML_DEPTH} levels deep, which Excel never writes: it is refused.`;
export const TOO_MANY_ELEMENTS = (limit = MAX_XML_ELEMENTS) => `The workbook holds more than ${limit.toLocaleString('en-US')} XML elements: it is refused. Split it into smaller files.`;
export const TOO_MUCH_DATA = (limit = MAX_HELD_BYTES) =>
  `The file holds more data than one import can take (more than ${megabytes(limit)} of cells once read). Split it into smaller files.`;

export interface GateResult {
  kind: UploadKind;
  /** Sum of the declared uncompressed sizes (xlsx). */
  declaredBytes: number;
}

/**
 * The checks that need no inflating: empty, too large, encrypted / legacy, not a zip, and the
 * central directory's declared sizes and ratios. Runs in milliseconds at upload time.
 */
export async function gateUpload(buffer: Buffer, fileName: string, limits: FileLimits): Promise<GateResult> {
  if (buffer.length === 0) throw new ImportFileError(EMPTY_FILE);
  if (buffer.length > limits.maxBytes) throw new ImportFileError(`The file is larger than the limit of ${megabytes(limits.maxBytes)}.`);
  if (buffer.subarray(0, 8).equals(CFB_MAGIC)) throw new ImportFileError(ENCRYPTED);
  const isZip = buffer.subarray(0, 4).equals(ZIP_MAGIC);
  if (!isZip) {
    if (/\.csv$/i.test(fileName.trim())) {
      csvText(buffer);
      return { kind: 'csv', declaredBytes: buffer.length };
    }
    throw new ImportFileError(NOT_A_WORKBOOK);
  }
  const zip = await openZip(buffer);
  try {
    const entries = await listEntries(zip, limits);
    const names = new Set(entries.map((e) => e.fileName));
    if (!names.has('[Content_Types].xml') || !names.has('xl/workbook.xml')) throw new ImportFileError(NOT_A_WORKBOOK);
    // A DOCTYPE can only stand in an XML prolog: the first bytes of each part tell (the streaming
    // parser refuses one further in as well).
    for (const entry of entries.filter((e) => /\.(xml|rels)$/i.test(e.fileName)).slice(0, PEEK_ENTRIES)) {
      if (/<!(DOCTYPE|ENTITY)/i.test(await peek(zip, entry))) throw new ImportFileError(DOCTYPE_REFUSED);
    }
    return { kind: 'xlsx', declaredBytes: entries.reduce((sum, e) => sum + e.uncompressedSize, 0) };
  } finally {
    zip.close();
  }
}

const PEEK_ENTRIES = 200;
const PEEK_BYTES = 4096;

/** The first few kilobytes of an entry, inflated (the rest is never read). */
function peek(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<string> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => {
      if (error || !stream) return reject(new ImportFileError(DAMAGED));
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = () => {
        stream.removeAllListeners('data');
        stream.on('error', () => undefined);
        stream.destroy();
        resolve(Buffer.concat(chunks).toString('latin1'));
      };
      stream.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= PEEK_BYTES) finish();
      });
      stream.on('end', finish);
      stream.on('error', () => reject(new ImportFileError(DAMAGED)));
    });
  });
}

/** Gate, then the streaming read of the first worksheet (or the CSV records). */
export async function readUpload(buffer: Buffer, fileName: string, limits: FileLimits): Promise<ParsedSheet> {
  const gate = await gateUpload(buffer, fileName, limits);
  if (gate.kind === 'csv') return readCsv(csvText(buffer), limits);
  const zip = await openZip(buffer);
  try {
    const entries = await listEntries(zip, limits);
    return await readWorkbook(zip, entries, limits);
  } finally {
    zip.close();
  }
}

function openZip(buffer: Buffer): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false, decodeStrings: true }, (error, zip) => {
      if (error || !zip) reject(new ImportFileError(DAMAGED));
      else resolve(zip);
    });
  });
}

/** The central directory, checked entry by entry against the limits (nothing is inflated). */
function listEntries(zip: yauzl.ZipFile, limits: FileLimits): Promise<yauzl.Entry[]> {
  if (zip.entryCount > MAX_ENTRIES) return Promise.reject(new ImportFileError(`The workbook holds more than ${MAX_ENTRIES} parts: it is refused.`));
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    let declared = 0;
    const fail = (error: Error) => {
      zip.removeAllListeners();
      zip.on('error', () => undefined);
      reject(error);
    };
    zip.on('entry', (entry: yauzl.Entry) => {
      if (entry.isEncrypted()) return fail(new ImportFileError(ENCRYPTED));
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) return fail(new ImportFileError(DAMAGED));
      declared += entry.uncompressedSize;
      if (declared > limits.maxInflatedBytes) {
        return fail(new ImportFileError(`The workbook would unpack to more than ${megabytes(limits.maxInflatedBytes)}: it is refused.`));
      }
      if (entry.uncompressedSize > RATIO_MIN_SIZE && entry.uncompressedSize / Math.max(entry.compressedSize, 1) > MAX_RATIO) {
        return fail(new ImportFileError(`The workbook is compressed suspiciously well (a "zip bomb"): it is refused.`));
      }
      entries.push(entry);
      zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    zip.on('error', () => fail(new ImportFileError(DAMAGED)));
    zip.readEntry();
  });
}

/**
 * What one file may cost the reader, counted across all parts of a workbook (or the records of a
 * CSV): inflated bytes, XML elements, and the estimated memory of the cells it keeps.
 */
class ReadBudget {
  inflated = 0;
  elements = 0;
  held = 0;
  private readonly maxElements: number;
  private readonly maxHeld: number;
  constructor(
    private readonly maxInflated: number,
    limits: Partial<ReaderLimits>,
  ) {
    this.maxElements = limits.maxElements ?? MAX_XML_ELEMENTS;
    this.maxHeld = limits.maxHeldBytes ?? MAX_HELD_BYTES;
  }
  inflate(n: number): void {
    this.inflated += n;
    if (this.inflated > this.maxInflated) throw new ImportFileError(`The workbook unpacks to more than ${megabytes(this.maxInflated)}: it is refused.`);
  }
  element(): void {
    if (++this.elements > this.maxElements) throw new ImportFileError(TOO_MANY_ELEMENTS(this.maxElements));
  }
  /** A kept text (a cell, a shared string) of `length` characters. */
  hold(length: number): void {
    if (length > MAX_CELL_CHARS) throw new ImportFileError(CELL_TOO_LONG);
    this.held += CELL_OVERHEAD + length;
    if (this.held > this.maxHeld) throw new ImportFileError(TOO_MUCH_DATA(this.maxHeld));
  }
}

interface SaxHandlers {
  opentag?: (tag: SaxesTagPlain) => void;
  closetag?: (tag: SaxesTagPlain) => void;
  /** Text and CDATA. */
  text?: (text: string) => void;
}

/**
 * Streams one zip entry through a SAX parser; DOCTYPE is refused, every byte and element is
 * counted, and the nesting depth and the length of a text or tag are bounded before the parser
 * buffers them.
 */
async function parseEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, budget: ReadBudget, handlers: SaxHandlers): Promise<void> {
  const stream = await new Promise<Readable>((resolve, reject) => {
    zip.openReadStream(entry, (error, s) => (error || !s ? reject(new ImportFileError(DAMAGED)) : resolve(s)));
  });
  const parser = new SaxesParser();
  let failure: Error | null = null;
  let depth = 0;
  parser.on('doctype', () => {
    throw new ImportFileError(DOCTYPE_REFUSED);
  });
  parser.on('error', (error) => {
    throw error instanceof ImportFileError ? error : new ImportFileError(DAMAGED);
  });
  parser.on('opentag', (tag) => {
    budget.element();
    if (++depth > MAX_XML_DEPTH) throw new ImportFileError(TOO_DEEP);
    handlers.opentag?.(tag as SaxesTagPlain);
  });
  parser.on('closetag', (tag) => {
    depth--;
    handlers.closetag?.(tag as SaxesTagPlain);
  });
  if (handlers.text) {
    parser.on('text', handlers.text);
    parser.on('cdata', handlers.text);
  }
  const decoder = new StringDecoder('utf8');
  // Characters since the last `<`: saxes keeps a whole text or tag in memory until it ends.
  let run = 0;
  try {
    for await (const chunk of stream) {
      const bytes = chunk as Buffer;
      budget.inflate(bytes.length);
      const text = decoder.write(bytes);
      const lastOpen = text.lastIndexOf('<');
      run = lastOpen < 0 ? run + text.length : text.length - lastOpen - 1;
      if (run > MAX_MARKUP_RUN) throw new ImportFileError(CELL_TOO_LONG);
      parser.write(text);
    }
    parser.write(decoder.end());
    parser.close();
  } catch (error) {
    failure = error instanceof ImportFileError ? error : new ImportFileError(DAMAGED);
  } finally {
    stream.destroy();
  }
  if (failure) throw failure;
}

const local = (name: string) => name.slice(name.indexOf(':') + 1);

function attr(tag: SaxesTagPlain, name: string): string | undefined {
  const direct = tag.attributes[name];
  if (direct !== undefined) return direct;
  for (const [key, value] of Object.entries(tag.attributes)) if (local(key) === name) return value;
  return undefined;
}

/** Resolves a relationship target (`worksheets/sheet1.xml`, `/xl/worksheets/sheet1.xml`). */
function resolveTarget(target: string): string {
  if (target.startsWith('/')) return target.slice(1);
  const parts = ['xl'];
  for (const part of target.split('/')) {
    if (part === '..') parts.pop();
    else if (part !== '.' && part !== '') parts.push(part);
  }
  return parts.join('/');
}

/** `AB12` → 27 (0-based column); `null` for anything else. */
function columnIndex(ref: string | undefined): number | null {
  const m = ref ? /^([A-Za-z]{1,3})\d*$/.exec(ref) : null;
  if (!m) return null;
  let n = 0;
  for (const ch of m[1].toUpperCase()) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n - 1;
}

async function readWorkbook(zip: yauzl.ZipFile, entries: yauzl.Entry[], limits: FileLimits): Promise<ParsedSheet> {
  const byName = new Map(entries.map((e) => [e.fileName, e] as const));
  const budget = new ReadBudget(limits.maxInflatedBytes, limits);

  // Workbook: 1904 dates, the first sheet's relationship id.
  let date1904 = false;
  let firstSheetRel: string | null = null;
  await parseEntry(zip, byName.get('xl/workbook.xml')!, budget, {
    opentag: (tag) => {
      const name = local(tag.name);
      if (name === 'workbookPr') date1904 = ['1', 'true'].includes(attr(tag, 'date1904') ?? '');
      if (name === 'sheet' && firstSheetRel === null) firstSheetRel = attr(tag, 'id') ?? null;
    },
  });
  let sheetPath: string | null = null;
  const rels = byName.get('xl/_rels/workbook.xml.rels');
  if (rels && firstSheetRel) {
    await parseEntry(zip, rels, budget, {
      opentag: (tag) => {
        if (local(tag.name) === 'Relationship' && tag.attributes.Id === firstSheetRel && tag.attributes.Target) sheetPath = resolveTarget(tag.attributes.Target);
      },
    });
  }
  const sheetEntry = byName.get(sheetPath ?? 'xl/worksheets/sheet1.xml');
  if (!sheetEntry) throw new ImportFileError('The workbook has no worksheet.');

  // Styles: which cell formats are dates.
  const dateStyles = new Set<number>();
  const styles = byName.get('xl/styles.xml');
  if (styles) {
    const customFormats = new Map<number, string>();
    let inCellXfs = false;
    let xfIndex = 0;
    await parseEntry(zip, styles, budget, {
      opentag: (tag) => {
        const name = local(tag.name);
        if (name === 'numFmt') customFormats.set(Number(attr(tag, 'numFmtId')), attr(tag, 'formatCode') ?? '');
        else if (name === 'cellXfs') inCellXfs = true;
        else if (name === 'xf' && inCellXfs) {
          const id = Number(attr(tag, 'numFmtId') ?? 0);
          if (isDateFormat(id, customFormats.get(id))) dateStyles.add(xfIndex);
          xfIndex++;
        }
      },
      closetag: (tag) => {
        if (local(tag.name) === 'cellXfs') inCellXfs = false;
      },
    });
  }

  // Shared strings: rich text runs joined, phonetic hints (rPh) left out. Each is held (and
  // counted) once, however many cells refer to it.
  const shared: string[] = [];
  const sst = byName.get('xl/sharedStrings.xml');
  if (sst) {
    const current = new TextParts();
    let inSi = false;
    let inText = false;
    let phonetic = 0;
    await parseEntry(zip, sst, budget, {
      opentag: (tag) => {
        const name = local(tag.name);
        if (name === 'si') {
          inSi = true;
          current.reset();
        } else if (name === 'rPh') phonetic++;
        else if (name === 't' && !tag.isSelfClosing) inText = phonetic === 0;
      },
      text: (t) => {
        if (inText && inSi) current.add(t);
      },
      closetag: (tag) => {
        const name = local(tag.name);
        if (name === 't') inText = false;
        else if (name === 'rPh') phonetic--;
        else if (name === 'si' && inSi) {
          const text = current.text() ?? '';
          budget.hold(text.length);
          shared.push(text);
          inSi = false;
        }
      },
    });
  }

  const collector = new RowCollector(limits.maxRows, 'xlsx', budget);
  // Sheet: rows and cells, streamed.
  let rowNumber = 0;
  let cells: (CellValue | undefined)[] = [];
  let col = -1;
  let type = 'n';
  let style = 0;
  const value = new TextParts();
  const inline = new TextParts();
  let hasFormula = false;
  let inV = false;
  let inInlineT = false;
  let phonetic = 0;
  await parseEntry(zip, sheetEntry, budget, {
    opentag: (tag) => {
      switch (local(tag.name)) {
        case 'row': {
          const r = Number(attr(tag, 'r'));
          rowNumber = Number.isInteger(r) && r > rowNumber ? r : rowNumber + 1;
          cells = [];
          col = -1;
          break;
        }
        case 'c': {
          const index = columnIndex(attr(tag, 'r'));
          col = index === null ? col + 1 : index;
          if (col >= MAX_COLUMNS) throw new ImportFileError(DAMAGED);
          type = attr(tag, 't') ?? 'n';
          style = Number(attr(tag, 's') ?? 0);
          value.clear();
          inline.clear();
          hasFormula = false;
          break;
        }
        case 'v':
          inV = true;
          value.reset();
          break;
        case 'f':
          hasFormula = true;
          break;
        case 'is':
          inline.reset();
          break;
        case 'rPh':
          phonetic++;
          break;
        case 't':
          if (inline.open && !tag.isSelfClosing) inInlineT = phonetic === 0;
          break;
      }
    },
    text: (t) => {
      if (inV && value.open) value.add(t);
      else if (inInlineT && inline.open) inline.add(t);
    },
    closetag: (tag) => {
      switch (local(tag.name)) {
        case 'v':
          inV = false;
          break;
        case 't':
          inInlineT = false;
          break;
        case 'rPh':
          phonetic--;
          break;
        case 'c': {
          if (col < 0) break;
          const cell = cellValue(type, style, value.text(), inline.text(), hasFormula, shared, dateStyles, date1904);
          collector.cell(cells, col, cell);
          break;
        }
        case 'row':
          collector.add(rowNumber, cells);
          break;
      }
    },
  });
  return collector.result();
}

/**
 * The text of one cell as it streams in, in parts: `null` until its element opens (no value
 * at all), and refused as soon as it outgrows Excel's limit for a cell.
 */
class TextParts {
  private parts: string[] | null = null;
  private length = 0;
  get open(): boolean {
    return this.parts !== null;
  }
  /** No element seen (yet). */
  clear(): void {
    this.parts = null;
    this.length = 0;
  }
  /** The element opened: an empty text so far. */
  reset(): void {
    this.parts = [];
    this.length = 0;
  }
  add(text: string): void {
    this.length += text.length;
    if (this.length > MAX_CELL_CHARS) throw new ImportFileError(CELL_TOO_LONG);
    this.parts?.push(text);
  }
  text(): string | null {
    return this.parts === null ? null : this.parts.join('');
  }
}

function cellValue(
  type: string,
  style: number,
  v: string | null,
  inline: string | null,
  hasFormula: boolean,
  shared: string[],
  dateStyles: Set<number>,
  date1904: boolean,
): CellValue | undefined {
  if (type === 'inlineStr') return inline === null ? undefined : { text: cleanText(inline) };
  if (v === null) {
    return hasFormula ? { text: '', problem: 'The formula in this cell has no saved result. Open the file in Excel, save it and import it again.' } : undefined;
  }
  switch (type) {
    case 's': {
      const s = shared[Number(v)];
      return s === undefined ? { text: '', problem: 'The cell refers to a text the workbook does not contain.' } : { text: cleanText(s) };
    }
    case 'str':
      return { text: cleanText(v) };
    case 'b':
      return { text: v.trim() === '1' || v.trim().toLowerCase() === 'true' ? 'true' : 'false' };
    case 'e':
      return { text: v, problem: `The cell holds the Excel error ${v}.` };
    case 'd':
      return { text: v.replace(/T00:00:00(\.000)?Z?$/, '').replace('T', ' ').replace(/Z$/, '') };
    default: {
      const n = Number(v);
      if (dateStyles.has(style) && Number.isFinite(n)) return { text: serialDateText(n, date1904) };
      return { text: numberText(v) };
    }
  }
}

const filled = (c: CellValue | undefined): boolean => c !== undefined && (c.text !== '' || c.problem !== undefined);

/**
 * Collects rows: the first non-blank row is the header; blank rows are skipped; the row cap,
 * the column limit and the memory budget are enforced. A row keeps only its cells up to its last
 * filled one within the header (no padding: a wide header costs nothing in sparse rows).
 */
class RowCollector {
  private headers: string[] | null = null;
  private headerRow = 0;
  private readonly rows: SheetRow[] = [];
  private readonly extra = new Set<number>();

  constructor(
    private readonly maxRows: number,
    private readonly kind: 'xlsx' | 'csv',
    private readonly budget: ReadBudget,
  ) {}

  /** Puts a cell into its row; a filled one beyond the column limit refuses the file, an empty one is dropped. */
  cell(cells: (CellValue | undefined)[], col: number, cell: CellValue | undefined): void {
    if (col < MAX_IMPORT_COLUMNS) cells[col] = cell;
    else if (filled(cell)) throw new ImportFileError(TOO_MANY_COLUMNS(columnLetter(col)));
  }

  add(rowNumber: number, cells: (CellValue | undefined)[]): void {
    if (!cells.some(filled)) return;
    if (this.headers === null) {
      this.headers = Array.from({ length: cells.length }, (_, i) => cells[i]?.text ?? '');
      while (this.headers.length > 0 && this.headers[this.headers.length - 1].trim() === '') this.headers.pop();
      for (const h of this.headers) this.budget.hold(h.length);
      this.headerRow = rowNumber;
      return;
    }
    if (this.rows.length >= this.maxRows) {
      throw new ImportFileError(`The file has more than ${this.maxRows.toLocaleString('en-US')} rows; split it into smaller files.`);
    }
    const width = this.headers.length;
    for (let i = width; i < cells.length; i++) if (filled(cells[i])) this.extra.add(i);
    let kept = Math.min(width, cells.length);
    while (kept > 0 && cells[kept - 1] === undefined) kept--;
    // Explicit `undefined` rather than holes, so that every array method sees every column.
    const row: (CellValue | undefined)[] = new Array(kept);
    for (let i = 0; i < kept; i++) {
      row[i] = cells[i];
      this.budget.hold(cells[i]?.text.length ?? 0);
    }
    this.rows.push({ rowNumber, cells: row });
  }

  result(): ParsedSheet {
    if (this.headers === null) throw new ImportFileError('The file has no header row and no data.');
    return { kind: this.kind, headers: this.headers, headerRow: this.headerRow, rows: this.rows, extraColumns: [...this.extra].sort((a, b) => a - b) };
  }
}

/** The text of a CSV upload: UTF-8 (an optional BOM removed); anything else is refused. */
function csvText(buffer: Buffer): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buffer);
  } catch {
    throw new ImportFileError('The CSV file is not UTF-8 text. Save it as "CSV UTF-8 (Comma delimited)" and try again.');
  }
  if (text.includes('\u0000')) throw new ImportFileError('The CSV file contains binary data.');
  return text.replace(/^\uFEFF/, '');
}

/** How much of the first line decides the delimiter (a header has a few hundred characters). */
const DELIMITER_SAMPLE = 64 * 1024;

/**
 * RFC 4180 records; the delimiter (comma or semicolon) is taken from the header line. Fields are
 * sliced out of the text (never built a character at a time), and each is checked against the
 * cell length and column limits as soon as it ends.
 */
export function readCsv(text: string, limits: Pick<FileLimits, 'maxRows' | 'maxHeldBytes'>): ParsedSheet {
  const lineEnd = text.search(/\r?\n|$/);
  const firstLine = text.slice(0, Math.min(lineEnd, DELIMITER_SAMPLE));
  const unquoted = firstLine.replace(/"[^"]*"/g, '');
  let semicolons = 0;
  let commas = 0;
  for (let i = 0; i < unquoted.length; i++) {
    if (unquoted[i] === ';') semicolons++;
    else if (unquoted[i] === ',') commas++;
  }
  const delimiter = semicolons > commas ? ';' : ',';
  // Nothing is inflated: the budget counts the cells kept beside the text.
  const collector = new RowCollector(limits.maxRows, 'csv', new ReadBudget(Number.MAX_SAFE_INTEGER, limits));
  let record: (CellValue | undefined)[] = [];
  let column = 0;
  let recordNumber = 0;
  const endField = (raw: string) => {
    if (raw.length > MAX_CELL_CHARS) throw new ImportFileError(CELL_TOO_LONG);
    collector.cell(record, column++, raw === '' ? undefined : { text: cleanText(raw) });
  };
  const endRecord = () => {
    recordNumber++;
    collector.add(recordNumber, record);
    record = [];
    column = 0;
  };
  let i = 0;
  const n = text.length;
  while (i < n) {
    // One field, starting at i.
    let raw: string;
    if (text[i] === '"') {
      const parts: string[] = [];
      let length = 0;
      let from = i + 1;
      for (;;) {
        const quote = text.indexOf('"', from);
        if (quote < 0) {
          // Unterminated: the rest of the text is the field (as before).
          parts.push(text.slice(from));
          length += n - from;
          i = n;
          break;
        }
        length += quote - from;
        if (length > MAX_CELL_CHARS) throw new ImportFileError(CELL_TOO_LONG);
        parts.push(text.slice(from, quote));
        if (text[quote + 1] === '"') {
          parts.push('"');
          length++;
          from = quote + 2;
          continue;
        }
        i = quote + 1;
        break;
      }
      raw = parts.join('');
      // Anything between the closing quote and the next delimiter belongs to the field too.
      let end = i;
      while (end < n && text[end] !== delimiter && text[end] !== '\n' && text[end] !== '\r') end++;
      if (end > i) raw += text.slice(i, end);
      i = end;
    } else {
      let end = i;
      while (end < n && text[end] !== delimiter && text[end] !== '\n' && text[end] !== '\r') end++;
      raw = text.slice(i, end);
      i = end;
    }
    endField(raw);
    if (i >= n) break;
    const ch = text[i];
    if (ch === delimiter) {
      i++;
      if (i >= n) endField('');
      continue;
    }
    // A line break ends the record.
    i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
    endRecord();
  }
  if (record.length > 0 || column > 0) endRecord();
  return collector.result();
}
