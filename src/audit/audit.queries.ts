import type { EntityManager } from '@mikro-orm/postgresql';
import type { SqlCondition } from '../common/search';
import type { AuditChanges } from './audit-event.entity';

/** The audit log's SQL, as typed functions run on the entity manager they are given. */

/** What every audit row holds, as read for the log and as written with a statement. */
interface AuditEntryFields {
  actorName: string | null;
  ip: string | null;
  action: string;
  objectType: string | null;
  objectId: string | null;
  objectLabel: string | null;
  changes: AuditChanges | null;
  detail: string | null;
}

/** An entry of the audit log as `/audit` shows it (`id` is a bigint, read as text). */
export interface AuditRow extends AuditEntryFields {
  id: string;
  occurredAt: Date;
}

/** One page of audit events matching `where`, newest first. */
export function auditPage(em: EntityManager, where: SqlCondition, limit: number): Promise<AuditRow[]> {
  return em.execute(
    `select id, occurred_at as "occurredAt", actor_name as "actorName", ip, action, object_type as "objectType",
            object_id as "objectId", object_label as "objectLabel", changes, detail
       from audit_events where ${where.sql} order by id desc limit ?`,
    [...where.params, limit],
  );
}

/**
 * Every action the log holds, for the action filter: one step down the action index per
 * distinct action (a loose index scan), not a pass over every entry of the log.
 */
export async function auditActions(em: EntityManager): Promise<string[]> {
  const rows: { action: string }[] = await em.execute(
    `with recursive actions (action) as (
       (select action from audit_events order by action limit 1)
       union all
       select (select e.action from audit_events e where e.action > a.action order by e.action limit 1)
         from actions a where a.action is not null)
     select action from actions where action is not null`,
  );
  return rows.map((r) => r.action);
}

/** An audit row's fields (`AuditService`'s `auditFields` makes them from an entry). */
export interface AuditRowFields extends AuditEntryFields {
  actorId: number | null;
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
