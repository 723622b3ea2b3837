import type { EntityManager } from '@mikro-orm/postgresql';

interface PgConnection {
  query(config: { text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

interface KnexClient {
  acquireConnection(): Promise<PgConnection>;
  releaseConnection(connection: PgConnection): Promise<void>;
}

/**
 * Runs a read-only statement on one of the ORM's own pooled connections (its knex pool and pg
 * client, so the same type parsers: timestamps as text, as `em.execute` returns them), without
 * MikroORM's and knex's query building around it: on the pages read on every click (the users
 * list) that was about a millisecond of CPU per statement. `?` placeholders, as for `em.execute`.
 * Inside a transaction the statement runs on it, through `em.execute`; so does a statement with
 * an array parameter, which knex expands (`in (?)` → `in ($1, $2, …)`) and pg would not.
 */
export async function plainRows<T>(em: EntityManager, sql: string, params: readonly unknown[] = []): Promise<T[]> {
  if (em.isInTransaction() || params.some(Array.isArray)) return em.execute(sql, [...params]);
  const client = em.getConnection().getKnex().client as unknown as KnexClient;
  const connection = await client.acquireConnection();
  try {
    return (await connection.query({ text: positional(sql), values: [...params] })).rows as T[];
  } finally {
    await client.releaseConnection(connection);
  }
}

/** `?` placeholders as PostgreSQL's `$1`, `$2`, …, outside quoted literals and identifiers. */
export function positional(sql: string): string {
  let n = 0;
  let quote: string | null = null;
  let out = '';
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '?') {
      out += `$${++n}`;
      continue;
    }
    out += ch;
  }
  return out;
}
