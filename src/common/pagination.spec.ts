import { SortKey, decodeCursor, encodeCursor, keyColumns, keyOrder, keysetPage, pageLinks, pageSize, seekCondition, splitKeys } from './pagination';

describe('pagination', () => {
  it('keeps the filters and replaces the cursor', () => {
    expect(pageLinks('/audit', { action: 'login.failure', before: '90', q: '' }, 'before', '40')).toEqual({
      first: '/audit?action=login.failure',
      next: '/audit?action=login.failure&before=40',
    });
  });

  it('offers no links on a single first page', () => {
    expect(pageLinks('/audit', {}, 'before', null)).toEqual({ first: null, next: null });
  });

  it('links to the previous page where the list seeks backwards, dropping both cursors from the others', () => {
    expect(pageLinks('/users', { q: 'x', after: 'A' }, 'after', 'B', { param: 'before', cursor: 'P' })).toEqual({
      first: '/users?q=x',
      previous: '/users?q=x&before=P',
      next: '/users?q=x&after=B',
    });
    expect(pageLinks('/users', { q: 'x', before: 'P' }, 'after', 'B', { param: 'before', cursor: null })).toEqual({
      first: '/users?q=x',
      previous: null,
      next: '/users?q=x&after=B',
    });
  });

  it('bounds the page size', () => {
    expect(pageSize(undefined)).toBe(50);
    expect(pageSize('10')).toBe(10);
    expect(pageSize('0')).toBe(1);
    expect(pageSize('100000')).toBe(200);
    expect(pageSize('abc')).toBe(50);
  });
});

describe('keyset paging', () => {
  const lastLogin: SortKey[] = [
    { sql: `coalesce(u.last_login_at, '-infinity'::timestamptz)`, type: 'timestamp' },
    { sql: 'u.id', type: 'number' },
  ];

  it('round-trips timestamps and booleans, and ignores cursors PostgreSQL would refuse', () => {
    for (const values of [['2026-01-02 10:11:12.123456+00', 7], ['-infinity', 1]]) expect(decodeCursor(encodeCursor(values), lastLogin)).toEqual(values);
    expect(decodeCursor(encodeCursor([true]), [{ type: 'boolean' }])).toEqual([true]);
    expect(decodeCursor(encodeCursor(['yesterday', 7]), lastLogin)).toBeNull();
    expect(decodeCursor(encodeCursor(['2026-01-02 10:11:12+00', 2147483648]), lastLogin)).toBeNull();
    expect(decodeCursor(encodeCursor(['x'.repeat(301)]), [{ type: 'string' }])).toBeNull();
    expect(decodeCursor(encodeCursor(['yes']), [{ type: 'boolean' }])).toBeNull();
  });

  it('seeks after or before the keys as one row value, in the order of the same index', () => {
    expect(seekCondition(lastLogin, ['-infinity', 3])).toEqual({
      sql: `(coalesce(u.last_login_at, '-infinity'::timestamptz), u.id) > (?::timestamptz, ?::int)`,
      params: ['-infinity', 3],
    });
    expect(seekCondition([{ sql: 'lower(u.username)', type: 'string' }], ['ann'], false)).toEqual({ sql: '(lower(u.username)) < (?::text)', params: ['ann'] });
    expect(keyOrder(lastLogin, false)).toBe(`coalesce(u.last_login_at, '-infinity'::timestamptz) desc, u.id desc`);
    expect(keyColumns(lastLogin)).toBe(`(coalesce(u.last_login_at, '-infinity'::timestamptz))::text as k0, u.id as k1`);
    expect(splitKeys({ name: 'ann', k0: 'x', k1: 3 }, lastLogin)).toEqual({ values: ['x', 3], rest: { name: 'ann' } });
  });

  it('cuts the extra row off and links the pages around it', () => {
    const cursor = (n: number) => `c${n}`;
    // The first page of a longer list: a next page, no previous one.
    expect(keysetPage([1, 2, 3], 2, cursor)).toEqual({ rows: [1, 2], next: 'c2', previous: null });
    // A middle page reached forwards, and the last page.
    expect(keysetPage([3, 4, 5], 2, cursor, { fromCursor: true })).toEqual({ rows: [3, 4], next: 'c4', previous: 'c3' });
    expect(keysetPage([5], 2, cursor, { fromCursor: true })).toEqual({ rows: [5], next: null, previous: 'c5' });
    // Backwards (rows come newest first): turned round; more rows before mean a previous page.
    expect(keysetPage([4, 3, 2], 2, cursor, { backwards: true })).toEqual({ rows: [3, 4], next: 'c4', previous: 'c3' });
    expect(keysetPage([2, 1], 2, cursor, { backwards: true })).toEqual({ rows: [1, 2], next: 'c2', previous: null });
    expect(keysetPage([], 2, cursor, { fromCursor: true })).toEqual({ rows: [], next: null, previous: null });
  });
});
