import type { TestApp } from './app';

/** An audit event as the tests of settings pages compare it. */
export interface AuditEventRow {
  actor_name: string;
  object_type: string;
  object_id: string;
  object_label: string;
  changes: Record<string, { from: unknown; to: unknown }> | null;
  detail: string | null;
}

/** The audit events of one action on one object, oldest first. */
export function auditEvents(t: TestApp, action: string, objectId: number): Promise<AuditEventRow[]> {
  return t.sql<AuditEventRow>(
    'select actor_name, object_type, object_id, object_label, changes, detail from audit_events where action = $1 and object_id = $2 order by id',
    [action, String(objectId)],
  );
}

/** Waits until some session of the test database waits for a lock (a blocked statement). */
export async function waitForLockWait(t: TestApp): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const rows = await t.sql(`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`);
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('No session started waiting for a lock');
}
