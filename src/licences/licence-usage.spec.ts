import { isFull, parseSeats, usageText } from './licence-usage';

describe('licence usage', () => {
  it('reads as "used of seats", or "used (unlimited)"', () => {
    expect(usageText(3, 50)).toBe('3 of 50 seats used');
    expect(usageText(0, 1)).toBe('0 of 1 seat used');
    expect(usageText(3, null)).toBe('3 used (unlimited)');
  });

  it('is full when every seat is taken, never when unlimited', () => {
    expect(isFull(50, 50)).toBe(true);
    expect(isFull(51, 50)).toBe(true);
    expect(isFull(49, 50)).toBe(false);
    expect(isFull(0, 0)).toBe(true);
    expect(isFull(1_000_000, null)).toBe(false);
  });

  it.each([
    ['', null],
    ['  ', null],
    ['0', 0],
    [' 50 ', 50],
    ['007', 7],
    ['2147483647', 2147483647],
  ])('parses seats %j as %j', (input, expected) => {
    expect(parseSeats(input)).toBe(expected);
  });

  it.each(['-1', '1.5', '1e3', 'ten', '2147483648', '99999999999', '1 000', '+3', '0x10'])('refuses seats %j', (input) => {
    expect(parseSeats(input)).toBeUndefined();
  });
});
