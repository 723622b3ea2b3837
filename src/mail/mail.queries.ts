import type { EntityManager } from '@mikro-orm/postgresql';
import type { SqlCondition } from '../common/search';

/** A row of the /mail list as stored. */
export interface MailListRow {
  id: number;
  kind: string;
  recipient: string | null;
  subject: string;
  status: string;
  attempts: number;
  error: string | null;
  user_id: number | null;
  username: string | null;
  eml_file: string | null;
  created_at: Date;
  sent_at: Date | null;
  due_at: Date | null;
}

export interface MailListFilter {
  /** Users whose messages are listed (alias `u`); null: every message. */
  scope: SqlCondition | null;
  /** Recipients whose address may be shown (alias `ru`) besides the viewer's own. */
  recipientScope: SqlCondition;
  viewerId: number;
  /** Keyset cursor: messages with a smaller id. */
  before: number | null;
  status: string | null;
  limit: number;
}

/**
 * Messages newest first, with the recipient's address hidden (null) for a copy sent to someone
 * the viewer may not see, and when a queued message is due.
 */
export function listMail(db: EntityManager, filter: MailListFilter): Promise<MailListRow[]> {
  const { scope, recipientScope } = filter;
  const params: unknown[] = [...recipientScope.params, filter.viewerId, ...(scope?.params ?? [])];
  let where = scope === null ? 'true' : `m.user_id is not null and ${scope.sql}`;
  if (filter.before !== null) {
    where += ' and m.id < ?';
    params.push(filter.before);
  }
  if (filter.status !== null) {
    where += ' and m.status = ?';
    params.push(filter.status);
  }
  params.push(filter.limit);
  return db.execute(
    `select m.id, m.kind,
              case when j.recipient_kind = 'self' and not (${recipientScope.sql} or ru.id = ?) then null else m.recipient end as recipient,
              m.subject, m.status, m.attempts, m.error, m.user_id, u.username, m.eml_file, m.created_at, m.sent_at,
              case when m.status = 'queued' then j.next_attempt_at end as due_at
         from mail_messages m left join users u on u.id = m.user_id
         left join credential_jobs j on j.id = m.job_id
         left join users ru on ru.id = j.recipient_user_id
        where ${where}
        order by m.id desc
        limit ?`,
    params,
  );
}

/** The stored `.eml` file name of a message and the user it was about, or null. */
export async function mailFile(db: EntityManager, id: number): Promise<{ eml_file: string | null; user_id: number | null } | null> {
  const [row]: { eml_file: string | null; user_id: number | null }[] = await db.execute('select eml_file, user_id from mail_messages where id = ?', [id]);
  return row ?? null;
}
