import { cleanText, commaList, isDateFormat, lines, looksLikeFormula, numberText, organizationList, pathKey, serialDateText } from './cells';

describe('numberText', () => {
  it.each([
    ['4915112345678', '4915112345678'],
    ['4.915112345678E+12', '4915112345678'],
    ['123.0', '123'],
    ['12345', '12345'],
    ['0.30000000000000004', '0.3'],
    ['1.5', '1.5'],
    ['-7', '-7'],
    ['1E+21', '1000000000000000000000'],
    ['1.23E-7', '0.000000123'],
    ['not a number', 'not a number'],
  ])('%s → %s', (raw, text) => {
    expect(numberText(raw)).toBe(text);
  });
});

describe('dates', () => {
  it('recognises built-in and custom date formats, not number formats', () => {
    expect(isDateFormat(14, undefined)).toBe(true);
    expect(isDateFormat(164, 'yyyy-mm-dd')).toBe(true);
    expect(isDateFormat(165, '[$-409]d-mmm-yy;@')).toBe(true);
    expect(isDateFormat(0, undefined)).toBe(false);
    expect(isDateFormat(166, '#,##0.00')).toBe(false);
    expect(isDateFormat(167, '0.00" days"')).toBe(false);
  });

  it('turns serials into ISO dates (1900 and 1904 systems)', () => {
    expect(serialDateText(46082)).toBe('2026-03-01');
    expect(serialDateText(46082.5)).toBe('2026-03-01 12:00:00');
    expect(serialDateText(1)).toBe('1900-01-01');
    expect(serialDateText(0, true)).toBe('1904-01-01');
  });
});

describe('text cells', () => {
  it('trims surrounding spaces and no-break spaces, keeps tabs and inner text', () => {
    expect(cleanText('  jsmith \u00a0')).toBe('jsmith');
    expect(cleanText('\t=1+1')).toBe('\t=1+1');
    expect(cleanText('a\r\nb')).toBe('a\nb');
  });

  it('splits multi-valued cells one value per line, lists by comma, organizations by both', () => {
    expect(lines('Java\r\n Go \n\nRust')).toEqual(['Java', 'Go', 'Rust']);
    expect(commaList('Member, User manager ,')).toEqual(['Member', 'User manager']);
    expect(organizationList('A/A1, B\nC')).toEqual(['A/A1', 'B', 'C']);
    expect(pathKey(' Global / A /A1 ')).toBe('global/a/a1');
  });

  it('spots text a spreadsheet could take for a formula', () => {
    for (const s of ['=1+1', '+49 151', '-5', '@SUM(A1)', '\tx', '\rx']) expect(looksLikeFormula(s)).toBe(true);
    for (const s of ['Anna', '49', ' =x', '']) expect(looksLikeFormula(s)).toBe(false);
  });
});
