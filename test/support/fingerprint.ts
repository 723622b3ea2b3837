import type { TestApp } from './app';

/**
 * A digest of every row of every application table (sessions and the audit log excluded), to
 * assert that a refused request changed nothing.
 */
export async function databaseFingerprint(t: TestApp, options: { includeAudit?: boolean } = {}): Promise<Record<string, string>> {
  const tables = await t.sql<{ table_name: string }>(
    `select table_name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE'
        and table_name not in ('session', 'mikro_orm_migrations' ${options.includeAudit ? '' : ", 'audit_events'"})
      order by table_name`,
  );
  const out: Record<string, string> = {};
  for (const { table_name } of tables) {
    const [row] = await t.sql<{ digest: string }>(
      `select count(*) || ':' || coalesce(md5(string_agg(x::text, ',' order by x::text)), '') as digest from "${table_name}" x`,
    );
    out[table_name] = row.digest;
  }
  return out;
}
