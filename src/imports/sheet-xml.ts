import { columnLetter, looksLikeFormula } from './cells';

/**
 * The sheet XML of the export's data rows, written as text: byte for byte what exceljs's
 * streaming writer makes of the same row of string cells (its row and cell models, style lookups
 * and XML builder cost five times as much CPU per cell; see BENCHMARKS.md "Export").
 * `src/imports/sheet-writers.spec.ts` writes random rows both ways and compares the XML and every
 * cell read back with exceljs.
 */

/**
 * Characters escaped or left out: XML's five, C0 controls but tab, LF and CR, DEL, and the
 * noncharacters U+FFFE and U+FFFF.
 */
const NEEDS_ESCAPE = /[<>&'"\x7F\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;

/**
 * Text as exceljs writes it into an element or attribute (its `utils.xmlEncode`): the five XML
 * characters as entities; control characters XML 1.0 cannot hold (and DEL) left out. Unlike
 * exceljs, U+FFFE and U+FFFF are left out too: XML 1.0 cannot hold them either, and a sheet with
 * one cannot be opened (exceljs's reader stops at "disallowed character").
 */
export function xmlText(text: string): string {
  const first = NEEDS_ESCAPE.exec(text);
  if (!first) return text;
  let out = text.slice(0, first.index);
  let from = first.index;
  for (let i = first.index; i < text.length; i++) {
    const code = text.charCodeAt(i);
    let escape: string;
    switch (code) {
      case 34:
        escape = '&quot;';
        break;
      case 38:
        escape = '&amp;';
        break;
      case 39:
        escape = '&apos;';
        break;
      case 60:
        escape = '&lt;';
        break;
      case 62:
        escape = '&gt;';
        break;
      case 127:
      case 0xfffe:
      case 0xffff:
        escape = '';
        break;
      default:
        if (code <= 8 || code === 11 || code === 12 || (code >= 14 && code <= 31)) {
          escape = '';
          break;
        }
        continue;
    }
    out += text.slice(from, i) + escape;
    from = i + 1;
  }
  return out + text.slice(from);
}

/**
 * Builds `<row>` elements of string cells: empty and missing values are no cells, text a
 * spreadsheet could take for a formula gets the Text style `textStyleId`, a row without any
 * value is not written (its number is still used, as in exceljs).
 */
export class SheetRowXml {
  private readonly letters: string[] = [];
  private textStyleId: number | undefined;

  /** `textStyle` gives the Text style's id; it is asked once, at the first cell that needs it. */
  constructor(private readonly textStyle: () => number) {}

  row(rowNumber: number, values: readonly (string | null | undefined)[]): string {
    let cells = '';
    let min = 0;
    let max = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === null || v === undefined || v === '') continue;
      if (min === 0) min = i + 1;
      max = i + 1;
      const letter = (this.letters[i] ??= columnLetter(i));
      cells += `<c r="${letter}${rowNumber}"${looksLikeFormula(v) ? ` s="${(this.textStyleId ??= this.textStyle())}"` : ''} t="str"><v>${xmlText(v)}</v></c>`;
    }
    return min === 0 ? '' : `<row r="${rowNumber}" spans="${min}:${max}" x14ac:dyDescent="0.25">${cells}</row>`;
  }
}
