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
