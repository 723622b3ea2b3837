/**
 * Keyset ("seek") paging: a page is the `size` rows after a cursor, found through an index, so
 * page 1,000 costs what page 1 does. The template gets `next` / `first` links built from the
 * current query string.
 */
export interface PageLinks {
  first: string | null;
  /** Only where the list can seek backwards (a second cursor parameter). */
  previous?: string | null;
  next: string | null;
}

export const DEFAULT_PAGE_SIZE = 50;

/** Parses `?size=` within bounds. */
export function pageSize(value: unknown, fallback = DEFAULT_PAGE_SIZE, max = 200): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : fallback;
  return Math.min(Math.max(n, 1), max);
}

/**
 * Links to the first page and to the page after `nextCursor`, keeping the other query parameters;
 * with `previous`, also to the page before its cursor (the list reads `previous.param` as "the
 * rows before this one").
 */
export function pageLinks(
  basePath: string,
  query: Record<string, unknown>,
  cursorParam: string,
  nextCursor: string | null,
  previous?: { param: string; cursor: string | null },
): PageLinks {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (key === cursorParam || key === previous?.param || value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(key, String(v)));
    else if (typeof value === 'string' || typeof value === 'number') params.set(key, String(value));
  }
  const base = params.toString();
  const withCursor = new URLSearchParams(base);
  if (nextCursor !== null) withCursor.set(cursorParam, nextCursor);
  const given = (param: string) => query[param] !== undefined && query[param] !== '';
  const hadCursor = given(cursorParam) || (previous !== undefined && given(previous.param));
  const links: PageLinks = {
    first: hadCursor ? `${basePath}${base ? `?${base}` : ''}` : null,
    next: nextCursor !== null ? `${basePath}?${withCursor.toString()}` : null,
  };
  if (previous) {
    const before = new URLSearchParams(base);
    if (previous.cursor !== null) before.set(previous.param, previous.cursor);
    links.previous = previous.cursor !== null ? `${basePath}?${before.toString()}` : null;
  }
  return links;
}

/**
 * One key of a keyset sort: an SQL expression (backed by an index, with the others of its sort)
 * and the type its cursor value has. A `timestamp` key travels as text, so that no microsecond
 * is lost on the way through the URL.
 */
export interface SortKey {
  sql: string;
  type: 'string' | 'number' | 'boolean' | 'timestamp';
}

export type KeyValue = string | number | boolean;

const CASTS: Record<SortKey['type'], string> = { string: 'text', number: 'int', boolean: 'boolean', timestamp: 'timestamptz' };

/** What a PostgreSQL timestamp prints as text (and `±infinity`, the sort value of "never"). */
const TIMESTAMP = /^-?infinity$|^\d{4}-\d\d-\d\d[ T][\d:.]+([+-]\d\d(:?\d\d)?|Z)?$/;

/** Keyset cursors travel in the URL as base64url JSON of a row's sort keys. */
export function encodeCursor(values: KeyValue[]): string {
  return Buffer.from(JSON.stringify(values), 'utf8').toString('base64url');
}

/**
 * The cursor's values when they fit the sort's keys; `null` (first page) for anything else, so a
 * hand-edited cursor never reaches PostgreSQL as a value it would refuse (a NUL, an integer out
 * of range, a timestamp that is none).
 */
export function decodeCursor(cursor: string | undefined, keys: Pick<SortKey, 'type'>[]): KeyValue[] | null {
  if (!cursor) return null;
  try {
    const values: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(values) || values.length !== keys.length) return null;
    return values.every((v, i) => fits(v, keys[i].type)) ? (values as KeyValue[]) : null;
  } catch {
    return null;
  }
}

function fits(value: unknown, type: SortKey['type']): boolean {
  if (type === 'number') return Number.isInteger(value) && Math.abs(value as number) <= 2147483647;
  if (type === 'boolean') return typeof value === 'boolean';
  if (typeof value !== 'string' || value.length > 300 || value.includes('\u0000')) return false;
  return type === 'string' || TIMESTAMP.test(value);
}

/** The rows after (`ascending`) or before the cursor's keys, compared as one row value. */
export function seekCondition(keys: SortKey[], values: KeyValue[], ascending = true): { sql: string; params: unknown[] } {
  return { sql: `(${keys.map((k) => k.sql).join(', ')}) ${ascending ? '>' : '<'} (${keys.map((k) => `?::${CASTS[k.type]}`).join(', ')})`, params: values };
}

/** The `order by` list of a keyset sort. */
export function keyOrder(keys: SortKey[], ascending = true): string {
  return keys.map((k) => `${k.sql} ${ascending ? 'asc' : 'desc'}`).join(', ');
}

/** The sort keys as select columns `k0`, `k1`, … (read back by `keysetPage`). */
export function keyColumns(keys: SortKey[]): string {
  return keys.map((k, i) => `${k.type === 'timestamp' ? `(${k.sql})::text` : k.sql} as k${i}`).join(', ');
}

/** The `k0`, `k1`, … columns of a row read with `keyColumns`. */
export type KeyColumns = { [key: `k${number}`]: KeyValue };

/** The values of a row's `k0`, `k1`, … columns, and the row without them. */
export function splitKeys<T extends object>(row: T & KeyColumns, keys: SortKey[]): { values: KeyValue[]; rest: T } {
  const rest: Record<string, unknown> = { ...row };
  const values = keys.map((_k, i) => {
    const value = row[`k${i}`];
    delete rest[`k${i}`];
    return value;
  });
  return { values, rest: rest as T };
}

/**
 * One page out of the `size + 1` rows a keyset query read (the extra row says there is more).
 * Read `backwards` (a "Previous" link: the opposite comparison and order), the rows are turned
 * round and the page we came from follows; read forwards from a cursor (`fromCursor`), the page
 * we came from precedes. `cursorOf` makes a row's cursor.
 */
export function keysetPage<T>(
  rows: T[],
  size: number,
  cursorOf: (row: T) => string,
  read: { backwards?: boolean; fromCursor?: boolean } = {},
): { rows: T[]; next: string | null; previous: string | null } {
  const more = rows.length > size;
  const visible = rows.slice(0, size);
  if (read.backwards) visible.reverse();
  const first = visible[0];
  const last = visible[visible.length - 1];
  return {
    rows: visible,
    next: last !== undefined && (read.backwards || more) ? cursorOf(last) : null,
    previous: first !== undefined && (read.backwards ? more : read.fromCursor) ? cursorOf(first) : null,
  };
}
