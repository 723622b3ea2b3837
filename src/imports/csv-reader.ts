import { cleanText } from './cells';
import { CellValue, ParsedSheet, RowCollector } from './sheet-rows';
import { CELL_TOO_LONG, FileLimits, ImportFileError, MAX_CELL_CHARS, ReadBudget } from './upload-limits';

/** The text of a CSV upload: UTF-8 (an optional BOM removed); anything else is refused. */
export function csvText(buffer: Buffer): string {
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
