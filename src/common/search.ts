/** A piece of SQL with its `?` parameters, to be joined into a `where` clause. */
export interface SqlCondition {
  sql: string;
  params: unknown[];
}

/** A `LIKE` pattern matching `q` anywhere; `%`, `_` and `\` typed in a search box are literal. */
export function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Case-insensitive "contains `q`" over any of `columns`; `null` when there is no search. */
export function textSearch(q: string | undefined, columns: string[]): SqlCondition | null {
  if (!q) return null;
  const like = likePattern(q);
  return { sql: `(${columns.map((c) => `${c} ilike ?`).join(' or ')})`, params: columns.map(() => like) };
}

/**
 * The search box and keyset cursor of every user list (users `u` joined to contacts `c`, ordered
 * by `lower(u.username)`): username, name or e-mail contains `q`, and rows after the cursor.
 */
export function userListConditions(q: string | undefined, after: string | undefined): SqlCondition[] {
  const conditions: SqlCondition[] = [];
  const search = textSearch(q, ['u.username', 'c.full_name', 'c.email']);
  if (search) conditions.push(search);
  if (after) conditions.push({ sql: 'lower(u.username) > ?', params: [after.toLowerCase()] });
  return conditions;
}

/** Joins conditions with `and` (`true` when there are none). */
export function allOf(conditions: SqlCondition[]): SqlCondition {
  if (conditions.length === 0) return { sql: 'true', params: [] };
  return { sql: conditions.map((c) => c.sql).join(' and '), params: conditions.flatMap((c) => c.params) };
}
