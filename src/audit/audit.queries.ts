import type { EntityManager } from '@mikro-orm/postgresql';
import type { SqlCondition } from '../common/search';

/** The audit log's SQL, as typed functions run on the entity manager they are given. */

/** One page of audit events matching `where`, newest first (the caller maps the rows to entities). */
export function auditPage(em: EntityManager, where: SqlCondition, limit: number): Promise<Record<string, unknown>[]> {
  return em.execute(`select * from audit_events where ${where.sql} order by id desc limit ?`, [...where.params, limit]);
}

/** Every action the log holds, for the action filter. */
export async function auditActions(em: EntityManager): Promise<string[]> {
  const rows: { action: string }[] = await em.execute('select distinct action from audit_events order by action');
  return rows.map((r) => r.action);
}
