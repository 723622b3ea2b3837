import type { ImportLimits } from '../config/config';

/**
 * What an upload may cost the server, and the messages that refuse it: a small hostile file must
 * not exhaust memory or time. Shared by the upload gate and both readers.
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

export const MB = 1024 * 1024;
export const megabytes = (n: number) => `${Math.round((n / MB) * 10) / 10} MB`;

export const NOT_A_WORKBOOK = 'The file is not an Excel workbook (.xlsx). Save it in Excel as "Excel Workbook (*.xlsx)" or as CSV and try again.';
export const ENCRYPTED =
  'The file is an encrypted (password-protected) Excel workbook or an old Excel 97-2003 .xls file, which cannot be read. Remove the password, save it as "Excel Workbook (*.xlsx)" and try again.';
export const DAMAGED = 'The file is not a readable Excel workbook (.xlsx): the archive is damaged or incomplete.';
export const EMPTY_FILE = 'The file is empty.';
export const DOCTYPE_REFUSED = 'The workbook contains an XML document type declaration (DOCTYPE/ENTITY), which Excel never writes: it is refused.';

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
export const MAX_MARKUP_RUN = 1024 * 1024;
/**
 * What the cells of a file may cost once read, estimated as their characters plus a fixed
 * overhead per cell (the object and its slot, measured at ~64 bytes on Node 20): 100,000 rows of
 * 15 typical cells take ~120 MB; a file beyond 160 MB is refused before it is held.
 */
export const MAX_HELD_BYTES = 160 * MB;
export const CELL_OVERHEAD = 64;

export const TOO_MANY_COLUMNS = (column: string) =>
  `The file has data in column ${column}, beyond the ${MAX_IMPORT_COLUMNS} columns an import reads. Remove the columns right of your data and try again.`;
export const CELL_TOO_LONG = `The file has a cell of more than ${MAX_CELL_CHARS.toLocaleString('en-US')} characters (Excel's own limit for a cell): it is refused.`;
export const TOO_DEEP = `The workbook nests XML elements more than ${MAX_XML_DEPTH} levels deep, which Excel never writes: it is refused.`;
export const TOO_MANY_ELEMENTS = (limit = MAX_XML_ELEMENTS) => `The workbook holds more than ${limit.toLocaleString('en-US')} XML elements: it is refused. Split it into smaller files.`;
export const TOO_MUCH_DATA = (limit = MAX_HELD_BYTES) =>
  `The file holds more data than one import can take (more than ${megabytes(limit)} of cells once read). Split it into smaller files.`;

/**
 * What one file may cost the reader, counted across all parts of a workbook (or the records of a
 * CSV): inflated bytes, XML elements, and the estimated memory of the cells it keeps.
 */
export class ReadBudget {
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
