/**
 * How a licence type's usage reads on every page: "3 of 50 seats used", "3 used (unlimited)".
 * `used` counts the enabled users holding the licence; `seats` is `null` for unlimited.
 */
export function usageText(used: number, seats: number | null): string {
  if (seats === null) return `${used} used (unlimited)`;
  return `${used} of ${seats} ${seats === 1 ? 'seat' : 'seats'} used`;
}

/** Whether no seat is free (never for unlimited licences). */
export function isFull(used: number, seats: number | null): boolean {
  return seats !== null && used >= seats;
}

/** The largest number of seats a licence type may have (PostgreSQL `integer`). */
export const MAX_SEATS = 2147483647;

/** Parses the seats field: `''` → unlimited (`null`), a whole number ≥ 0, otherwise `undefined`. */
export function parseSeats(value: string): number | null | undefined {
  const s = value.trim();
  if (s === '') return null;
  if (!/^[0-9]{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX_SEATS ? n : undefined;
}
