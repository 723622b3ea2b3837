import type ExcelJS from 'exceljs';
import type { Writable } from 'node:stream';
import { columnLetter, looksLikeFormula, TEXT_FORMAT } from './cells';
import { SheetRowXml } from './sheet-xml';
import { catalogue, COLUMN_DOCS, ERRORS_COLUMN, ENABLED_CHOICES, PropertyColumn, STANDARD_COLUMNS, StandardColumn } from './columns';

/**
 * The workbooks Tessera writes: the import template, the file back with its errors, and the
 * users export. Every data cell is a string cell (never a formula); text a spreadsheet could take
 * for a formula (`=`, `+`, `-`, `@`, tab, CR) also gets the Text number format, so Excel shows it
 * as text and keeps it text when the cell is edited — while the value itself stays unchanged, so
 * the import reads back exactly what was exported.
 */


export { ERRORS_COLUMN };

/**
 * exceljs, loaded on the first workbook written: its 25 MiB of code stay out of a server that
 * never exports (the import reads with yauzl + saxes).
 */
function excel(): typeof ExcelJS {
  return require('exceljs') as typeof ExcelJS;
}

const HEADER_FONT = { bold: true } as const;
const TEMPLATE_ROWS = 10_000;

/** Writes one string cell safely (see above). */
export function setSafe(cell: ExcelJS.Cell, value: string | null | undefined): void {
  if (value === null || value === undefined || value === '') return;
  cell.value = value;
  if (looksLikeFormula(value)) cell.numFmt = TEXT_FORMAT;
}

export function safeRow(ws: ExcelJS.Worksheet, values: (string | null | undefined)[]): ExcelJS.Row {
  const row = ws.addRow([]);
  values.forEach((v, i) => setSafe(row.getCell(i + 1), v));
  return row;
}

export interface TemplateData {
  properties: PropertyColumn[];
  providers: string[];
  roles: string[];
  /** Organization paths below the root, e.g. `A/A1`; the root itself is `rootName`. */
  organizations: string[];
  rootName: string;
  licences: string[];
  profiles: string[];
  departments: string[];
}

/** The import template: Users (headers, list validations, notes), Columns (documentation), Reference data. */
export async function writeTemplate(out: Writable, data: TemplateData): Promise<void> {
  const wb = new (excel().Workbook)();
  wb.creator = 'Tessera';
  const users = wb.addWorksheet('Users', { views: [{ state: 'frozen', ySplit: 1 }] });
  const docs = wb.addWorksheet('Columns');
  const reference = wb.addWorksheet('Reference data');

  const headers = catalogue(data.properties);
  const headerRow = users.addRow(headers);
  headerRow.font = HEADER_FONT;
  headers.forEach((h, i) => {
    const column = users.getColumn(i + 1);
    column.width = Math.max(12, h.length + 4);
    // Text format: mobile numbers and numeric usernames stay exactly as typed.
    column.numFmt = TEXT_FORMAT;
  });

  // Reference lists (also the sources of the list validations).
  const lists: { title: string; values: string[] }[] = [
    { title: 'Roles', values: data.roles },
    { title: 'Organizations', values: [data.rootName, ...data.organizations] },
    { title: 'Licences', values: data.licences },
    { title: 'Profiles', values: data.profiles },
    { title: 'Departments', values: data.departments },
    { title: 'Provider', values: data.providers },
    { title: 'Enabled', values: ENABLED_CHOICES },
    ...data.properties.filter((p) => p.allowedValues.length > 0).map((p) => ({ title: p.name, values: p.allowedValues })),
  ];
  const listRange = new Map<string, string>();
  lists.forEach((list, i) => {
    const col = columnLetter(i);
    setSafe(reference.getCell(`${col}1`), list.title);
    reference.getCell(`${col}1`).font = HEADER_FONT;
    reference.getColumn(i + 1).width = Math.max(14, list.title.length + 4);
    list.values.forEach((v, r) => setSafe(reference.getCell(`${col}${r + 2}`), v));
    listRange.set(list.title, `'Reference data'!$${col}$2:$${col}$${Math.max(2, list.values.length + 1)}`);
  });

  const validate = (columnIndex: number, listTitle: string, allowed: string[], strict: boolean, multiValued = false) => {
    const col = columnLetter(columnIndex);
    const note = `Allowed values: ${allowed.join(', ')}${multiValued ? ' (one value per line in the cell)' : ''}`;
    users.getCell(`${col}1`).note = note;
    // A list validation cannot hold several lines: multi-valued columns get the note only.
    if (multiValued) return;
    (users as unknown as { dataValidations: { add(range: string, validation: ExcelJS.DataValidation): void } }).dataValidations.add(`${col}2:${col}${TEMPLATE_ROWS + 1}`, {
      type: 'list',
      allowBlank: true,
      formulae: [listRange.get(listTitle)!],
      showErrorMessage: true,
      errorStyle: strict ? 'stop' : 'warning',
      errorTitle: headers[columnIndex],
      error: note,
    });
  };
  validate(STANDARD_COLUMNS.indexOf('Provider'), 'Provider', data.providers, false);
  validate(STANDARD_COLUMNS.indexOf('Enabled'), 'Enabled', ENABLED_CHOICES, true);
  data.properties.forEach((p, i) => {
    if (p.allowedValues.length > 0) validate(STANDARD_COLUMNS.length + i, p.name, p.allowedValues, true, p.multiValued);
  });

  // Column documentation.
  const docHeader = docs.addRow(['Column', 'Required', 'Format', 'Default', 'Description']);
  docHeader.font = HEADER_FONT;
  [18, 20, 50, 40, 80].forEach((w, i) => (docs.getColumn(i + 1).width = w));
  for (const name of STANDARD_COLUMNS) {
    const d = COLUMN_DOCS[name as StandardColumn];
    safeRow(docs, [name, d.required, d.format, d.defaultValue, d.description]);
  }
  for (const p of data.properties) {
    const format =
      p.allowedValues.length > 0 ? `one of: ${p.allowedValues.join(', ')}${p.multiValued ? '; several values one per line' : ''}` : p.multiValued ? 'text; several values one per line' : 'text';
    safeRow(docs, [p.name, 'no', format, 'empty', `Custom property${p.multiValued ? ' (multi-valued)' : ''}.`]);
  }
  safeRow(docs, []);
  safeRow(docs, ['Notes']);
  safeRow(docs, ['', '', 'Only the first sheet is imported. Header names are matched without regard to case or spaces; columns may be left out or reordered (UserName and Email are required).']);
  safeRow(docs, ['', '', 'The import is all or nothing: if any row has an error, no user is imported and every error is listed.']);

  await wb.xlsx.write(out);
}

/**
 * A streaming workbook writer: rows go straight to `out`, so memory stays flat however many rows
 * there are. exceljs makes the package (zip, workbook, styles, the sheet's frame and header row);
 * the data rows are written as sheet XML by `SheetRowXml` into exceljs's own sheet stream — the
 * same bytes exceljs would write, at a fifth of the CPU (BENCHMARKS.md "Export").
 */
export function streamingWorkbook(out: Writable, sheetName: string) {
  const { stream, ValueType } = excel();
  const wb = new stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  const ws = wb.addWorksheet(sheetName, { views: [{ state: 'frozen', ySplit: 1 }] });
  // The style exceljs gives a string cell with the Text format (as setSafe() sets it), added on
  // first use as exceljs does, so that styles.xml is the same too.
  const text: Partial<ExcelJS.Style> = { numFmt: TEXT_FORMAT };
  const rowXml = new SheetRowXml(() => (wb as unknown as WriterInternals).styles.addStyleModel(text, ValueType.String));
  // The sheet's part in the zip; its first write opens it (exceljs does so for the header row).
  const sheetStream = () => (ws as unknown as SheetInternals).stream;
  let rowNumber = 0;
  let pending = '';
  const flush = () => {
    if (pending === '') return;
    void sheetStream().write(pending);
    pending = '';
  };
  return {
    /** The header row, in bold (written by exceljs, which starts the sheet's data with it). */
    header(values: string[]) {
      const row = ws.addRow(values);
      row.font = HEADER_FONT;
      row.commit();
      rowNumber = row.number;
    },
    /** One data row; after header(), which opens the sheet's data. */
    row(values: (string | null | undefined)[]) {
      if (rowNumber === 0) throw new Error('streamingWorkbook: header() comes first.');
      pending += rowXml.row(++rowNumber, values);
      if (pending.length >= FLUSH_CHARS) flush();
    },
    /**
     * Waits until exceljs has compressed most of what was written. Its sheet stream pushes into
     * the zip's deflate input without backpressure, so a fast row producer would otherwise pile up
     * the uncompressed XML in memory (about 70 MiB for 100,000 users). Returns at once when the
     * receiver went away (then, as before, the rest is written into the void).
     */
    async drain(maxPendingBytes = 4 * 1024 * 1024) {
      flush();
      const input = sheetStream().pipes?.[0];
      const queued = () => input?._writableState?.length ?? 0;
      while (queued() > maxPendingBytes && !out.destroyed && !out.writableEnded) {
        await new Promise<void>((resolve) => {
          const done = () => {
            out.off('close', done);
            resolve();
          };
          input!.once('drain', done);
          out.once('close', done);
        });
      }
    },
    async finish() {
      flush();
      ws.commit();
      await wb.commit();
    },
  };
}

/** Characters of row XML collected before they are handed to the sheet stream in one write. */
const FLUSH_CHARS = 64 * 1024;

/** What streamingWorkbook() uses of exceljs's streaming writer beyond its typed API. */
interface WriterInternals {
  styles: { addStyleModel(style: Partial<ExcelJS.Style>, cellType: ExcelJS.ValueType): number };
}
interface SheetInternals {
  stream: {
    write(data: string): unknown;
    pipes?: { _writableState?: { length: number }; once(e: 'drain', f: () => void): void }[];
  };
}
