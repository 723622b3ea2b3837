/**
 * Excel quirks, as pure functions: the text of a numeric cell without exponent or ".0", serial
 * dates, surrounding spaces, multi-valued cells, and the formula-injection guard of the export.
 */

/** Excel keeps 15 significant digits; anything beyond is binary noise (0.1 + 0.2). */
const EXCEL_DIGITS = 15;

/**
 * The text of a number as stored in a sheet (`4.915112345678E+12`, `123.0`, `0.30000000000000004`):
 * plain decimal notation, no exponent, no trailing zeros, at most 15 significant digits.
 * Mobile numbers and numeric usernames come back as the digits the user typed.
 */
export function numberText(raw: string): string {
  const s = raw.trim();
  const n = Number(s);
  if (s === '' || !Number.isFinite(n)) return s;
  if (Number.isInteger(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER) return String(n);
  const rounded = Number(n.toPrecision(EXCEL_DIGITS));
  return plainDecimal(rounded);
}

/** A finite number in positional notation (no exponent). */
function plainDecimal(n: number): string {
  const text = String(n);
  if (!/e/i.test(text)) return text;
  const [mantissa, exponentText] = text.toLowerCase().split('e');
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith('-');
  const [intPart, fracPart = ''] = mantissa.replace('-', '').split('.');
  const digits = intPart + fracPart;
  const point = intPart.length + exponent;
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  out = out.includes('.') ? out.replace(/0+$/, '').replace(/\.$/, '') : out;
  return (negative ? '-' : '') + out;
}

/** Built-in number formats that are dates or times (ECMA-376 §18.8.30). */
const BUILT_IN_DATE_FORMATS = new Set([14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 30, 36, 45, 46, 47, 50, 57]);

/** Whether a number format shows a date/time (built-in id, or a custom code with date tokens). */
export function isDateFormat(numFmtId: number, formatCode: string | undefined): boolean {
  if (BUILT_IN_DATE_FORMATS.has(numFmtId)) return true;
  if (!formatCode) return false;
  // Drop quoted literals, escaped characters and colour/condition brackets, then look for tokens.
  const code = formatCode
    .replace(/"[^"]*"/g, '')
    .replace(/\\./g, '')
    .replace(/\[(?!h\]|m\]|s\])[^\]]*\]/gi, '');
  return /[dmyhs]/i.test(code) && !/^[#0.,%\s]*$/.test(code);
}

/**
 * An Excel serial date as ISO text: `2026-03-01` for whole days, `2026-03-01 08:30:00` otherwise.
 * Serial 60 is Excel's phantom 29 February 1900; serials before it are shifted accordingly.
 */
export function serialDateText(serial: number, date1904 = false): string {
  if (!Number.isFinite(serial)) return String(serial);
  const epoch = date1904 ? Date.UTC(1904, 0, 1) : Date.UTC(1899, 11, 30);
  const adjusted = !date1904 && serial < 61 ? serial + 1 : serial;
  const ms = Math.round(adjusted * 86400) * 1000;
  const date = new Date(epoch + ms);
  if (Number.isNaN(date.getTime())) return String(serial);
  const iso = date.toISOString();
  const day = iso.slice(0, 10);
  const time = iso.slice(11, 19);
  return time === '00:00:00' ? day : `${day} ${time}`;
}

/**
 * A cell's text as the import uses it: line breaks normalised to `\n`, spaces (also no-break
 * spaces) around it removed. Tabs and other characters are kept, so values written by the
 * export come back unchanged.
 */
export function cleanText(value: string): string {
  return value.replace(/\r\n?/g, '\n').replace(/^[ \u00a0]+|[ \u00a0]+$/g, '');
}

/** The values of a multi-valued cell: one per line, blank lines skipped. */
export function lines(value: string): string[] {
  return value
    .split(/\r\n|\r|\n/)
    .map(cleanText)
    .filter((v) => v !== '');
}

/** A comma-separated list (Roles). */
export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** Organizations: separated by commas or line breaks. */
export function organizationList(value: string): string[] {
  return value
    .split(/[,\r\n]+/)
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** An organization path `A / A1` in canonical form: segments trimmed, compared case-insensitively. */
export function pathKey(path: string): string {
  return path
    .split('/')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '')
    .join('/');
}

/**
 * Whether a spreadsheet program could take this text for a formula when a user edits or
 * re-saves the cell (OWASP "CSV injection"): it begins with `=`, `+`, `-`, `@`, tab or CR.
 */
export function looksLikeFormula(value: string): boolean {
  // By character code: the export asks this of every cell.
  const c = value.charCodeAt(0);
  return c === 61 || c === 43 || c === 45 || c === 64 || c === 9 || c === 13; // = + - @ tab CR
}

/** The Excel "Text" number format: a cell so formatted is never turned into a formula on edit. */
export const TEXT_FORMAT = '@';

/** 0 → A, 27 → AB (the column letters Excel shows). */
export function columnLetter(index: number): string {
  let n = index + 1;
  let s = '';
  while (n > 0) {
    const r = (n - 1) % 26;
    s = String.fromCharCode(65 + r) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
}
