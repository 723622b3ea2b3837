import { csvText, readCsv } from './csv-reader';
import type { ParsedSheet } from './sheet-rows';
import { gateUpload, listEntries, openZip } from './upload-gate';
import type { FileLimits } from './upload-limits';
import { readWorkbook } from './xlsx-reader';

/**
 * Reads an uploaded user file without trusting it: a hostile-file gate that needs no inflating
 * (magic bytes, encryption, size, the zip's central directory: upload-gate.ts), then a streaming
 * read of the first worksheet with yauzl + saxes (xlsx-reader.ts) or of the CSV records
 * (csv-reader.ts) that counts every inflated byte and every row and stops at the limits
 * (upload-limits.ts); both collect rows the same way (sheet-rows.ts). Never the in-memory
 * workbook reader (a 2 MB zip bomb costs it gigabytes).
 */
export { gateUpload } from './upload-gate';
export type { GateResult } from './upload-gate';
export { readCsv } from './csv-reader';
export type { CellValue, ParsedSheet, SheetRow, UploadKind } from './sheet-rows';
export {
  CELL_TOO_LONG,
  DAMAGED,
  DOCTYPE_REFUSED,
  EMPTY_FILE,
  ENCRYPTED,
  ImportFileError,
  MAX_CELL_CHARS,
  MAX_HELD_BYTES,
  MAX_IMPORT_COLUMNS,
  MAX_XML_DEPTH,
  MAX_XML_ELEMENTS,
  NOT_A_WORKBOOK,
  TOO_DEEP,
  TOO_MANY_COLUMNS,
  TOO_MANY_ELEMENTS,
  TOO_MUCH_DATA,
} from './upload-limits';
export type { FileLimits, ReaderLimits } from './upload-limits';

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
