import { SaxesParser, SaxesTagPlain } from 'saxes';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import type * as yauzl from 'yauzl';
import { cleanText, isDateFormat, numberText, serialDateText } from './cells';
import { CellValue, ParsedSheet, RowCollector } from './sheet-rows';
import { CELL_TOO_LONG, DAMAGED, DOCTYPE_REFUSED, FileLimits, ImportFileError, MAX_CELL_CHARS, MAX_MARKUP_RUN, MAX_XML_DEPTH, ReadBudget, TOO_DEEP } from './upload-limits';

/**
 * The streaming read of a workbook's first worksheet with yauzl + saxes: every inflated byte,
 * element and kept cell is counted against the limits, and the read stops at the first one
 * exceeded. Never the in-memory workbook reader (a 2 MB zip bomb costs it gigabytes).
 */

/** Excel's last column (XFD). */
const MAX_COLUMNS = 16_384;

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

export async function readWorkbook(zip: yauzl.ZipFile, entries: yauzl.Entry[], limits: FileLimits): Promise<ParsedSheet> {
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
