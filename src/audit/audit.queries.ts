import type { EntityManager } from '@mikro-orm/postgresql';
import type { SqlCondition } from '../common/search';
import type { AuditChanges } from './audit-event.entity';

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

/** An audit row's fields (`AuditService`'s `auditFields` makes them from an entry). */
export interface AuditRowFields {
  actorId: number | null;
  actorName: string | null;
  ip: string | null;
  action: string;
  objectType: string | null;
  objectId: string | null;
  objectLabel: string | null;
  changes: AuditChanges | null;
  detail: string | null;
}

/**
 * `insert into audit_events …` of one row with `?` placeholders, and its parameters: for a
 * statement that writes its audit row itself (a data-modifying `with` in front), in one round
 * trip instead of the ORM's begin, insert and commit.
 */
export function auditInsert(row: AuditRowFields): { sql: string; params: unknown[] } {
  return {
    sql: `insert into audit_events (actor_id, actor_name, ip, action, object_type, object_id, object_label, changes, detail)
          values (?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?)`,
    params: [row.actorId, row.actorName, row.ip, row.action, row.objectType, row.objectId, row.objectLabel, row.changes === null ? null : JSON.stringify(row.changes), row.detail],
  };
}
