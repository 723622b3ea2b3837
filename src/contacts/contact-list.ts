/**
 * Sorting and keyset paging of the contacts list: every sort is a list of key expressions ending
 * with the contact id (so keys are unique), and a page starts after the keys of the previous
 * page's last row, compared as a row value: `(k1, k2, id) > (?, ?, ?)`.
 */

export type ContactSort = 'name' | 'email' | 'organization';
export const CONTACT_SORTS: ContactSort[] = ['name', 'email', 'organization'];

export interface SortKey {
  sql: string;
  type: 'string' | 'number' | 'boolean';
}

/** Every sort: the key expressions (the last is always the contact id, so keys are unique). */
export const SORT_KEYS: Record<ContactSort, SortKey[]> = {
  name: [
    { sql: 'lower(c.full_name)', type: 'string' },
    { sql: 'c.id', type: 'number' },
  ],
  email: [
    { sql: '(c.email is null)', type: 'boolean' },
    { sql: "lower(coalesce(c.email, ''))", type: 'string' },
    { sql: 'c.id', type: 'number' },
  ],
  organization: [
    { sql: 'lower(o.name)', type: 'string' },
    { sql: 'o.id', type: 'number' },
    { sql: 'lower(c.full_name)', type: 'string' },
    { sql: 'c.id', type: 'number' },
  ],
};

/** Keyset cursors travel in the URL as base64url JSON of the last row's sort keys. */
export function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values), 'utf8').toString('base64url');
}

/** The cursor's values when they fit the sort's keys; `null` (first page) for anything else. */
export function decodeCursor(after: string | undefined, keys: Pick<SortKey, 'type'>[]): unknown[] | null {
  if (!after) return null;
  try {
    const values: unknown = JSON.parse(Buffer.from(after, 'base64url').toString('utf8'));
    if (!Array.isArray(values) || values.length !== keys.length) return null;
    const fits = values.every((v, i) => typeof v === keys[i].type && (typeof v !== 'number' || Number.isSafeInteger(v)) && (typeof v !== 'string' || !v.includes('\u0000')));
    return fits ? values : null;
  } catch {
    return null;
  }
}
