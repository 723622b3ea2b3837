import { columnLetter } from './cells';
import { ImportFileError, MAX_IMPORT_COLUMNS, ReadBudget, TOO_MANY_COLUMNS } from './upload-limits';

/** The rows of a read upload, as the import rules see them, and how both readers collect them. */

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

const filled = (c: CellValue | undefined): boolean => c !== undefined && (c.text !== '' || c.problem !== undefined);

/**
 * Collects rows: the first non-blank row is the header; blank rows are skipped; the row cap,
 * the column limit and the memory budget are enforced. A row keeps only its cells up to its last
 * filled one within the header (no padding: a wide header costs nothing in sparse rows).
 */
export class RowCollector {
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
