import type { EntityManager } from '@mikro-orm/postgresql';
import { executeAlone } from '../jobs/job-runner';
import type { CredentialRecipientKind as Recipient } from './credential-job.entity';

/**
 * The SQL of credential e-mails: the job rows (claimed, leased, released, finished), the user's
 * password-send columns and the /mail messages that go with them. Functions named `…Alone` commit
 * on their own (see `executeAlone`); the others run in the entity manager they are given, so
 * inside `em.transactional` they are part of the transaction.
 */

export interface ClaimedJob {
  id: number;
  user_id: number;
  recipient_kind: Recipient;
  recipient_user_id: number;
  /** The address approved when the send was requested (`null` only for jobs made outside the app). */
  recipient_address: string | null;
  attempts: number;
  requested_by: number | null;
  requested_by_name: string | null;
  /** Set when an earlier attempt handed a message to the mail server without saving its password. */
  send_started_at: Date | null;
}

/** What a send needs to know about the user and the recipient, read when the job runs. */
export interface JobFacts {
  username: string;
  full_name: string;
  provider: string;
  enabled: boolean;
  recipient_email: string | null;
  recipient_username: string;
}

/** A user as the credentials page and the bulk actions see them. */
export interface UserFacts {
  id: number;
  username: string;
  full_name: string;
  email: string | null;
  provider: string;
  /** The label of the user's identity provider, when one with that key is configured. */
  provider_label: string | null;
  enabled: boolean;
  built_in: boolean;
  password_send_at: Date | string | null;
  password_send_status: string | null;
  password_send_error: string | null;
  must_change_password: boolean;
  password_expires_at: Date | string | null;
  live_job: string | null;
}

export interface MailMessageRow {
  id: number;
  recipient: string;
  subject: string;
  status: string;
  attempts: number;
  error: string | null;
  created_at: Date;
  sent_at: Date | null;
}

// ---- The dispatcher: claims and leases (each commits on its own) ----

/**
 * Claims up to `limit` jobs: pending ones that are due, and ones whose lease expired (their
 * process died while sending). One statement, so the claim is atomic.
 */
export function claimCredentialJobsAlone(em: EntityManager, p: { now: Date; leaseUntil: Date; instanceId: string; limit: number }): Promise<ClaimedJob[]> {
  return executeAlone(
    em,
    `update credential_jobs j
        set status = 'sending', lease_until = ?, claimed_by = ?, attempts = j.attempts + 1
      where j.id in (select id from credential_jobs
                      where (status = 'pending' and next_attempt_at <= ?) or (status = 'sending' and lease_until < ?)
                      order by next_attempt_at, id
                      limit ?
                      for update skip locked)
      returning j.id, j.user_id, j.recipient_kind, j.recipient_user_id, j.recipient_address, j.attempts, j.requested_by, j.requested_by_name, j.send_started_at`,
    [p.leaseUntil, p.instanceId, p.now, p.now, p.limit],
  );
}

/** Extends the lease of a job this instance holds; `false` when another instance took it over. */
export async function renewCredentialLeaseAlone(em: EntityManager, jobId: number, leaseUntil: Date, instanceId: string): Promise<boolean> {
  const rows: { id: number }[] = await executeAlone(
    em,
    `update credential_jobs set lease_until = ? where id = ? and status = 'sending' and claimed_by = ? returning id`,
    [leaseUntil, jobId, instanceId],
  );
  return rows.length === 1;
}

/** Hands a job this instance claimed but did not start back, uncounted. */
export async function releaseCredentialJobAlone(em: EntityManager, jobId: number, instanceId: string): Promise<void> {
  await executeAlone(
    em,
    `update credential_jobs set status = 'pending', attempts = attempts - 1, lease_until = null, claimed_by = null where id = ? and status = 'sending' and claimed_by = ?`,
    [jobId, instanceId],
  );
}

export async function jobFactsAlone(em: EntityManager, userId: number, recipientUserId: number): Promise<JobFacts | undefined> {
  const [facts]: JobFacts[] = await executeAlone(
    em,
    `select u.username, c.full_name, u.provider, u.enabled, r.email as recipient_email, r.username as recipient_username
       from users u join contacts c on c.id = u.contact_id, users r
      where u.id = ? and r.id = ?`,
    [userId, recipientUserId],
  );
  return facts;
}

/** The mark that a message is about to reach the mail server (committed before it does). */
export async function markSendStartedAlone(em: EntityManager, jobId: number, at: Date): Promise<void> {
  await executeAlone(em, `update credential_jobs set send_started_at = ? where id = ?`, [at, jobId]);
}

// ---- The dispatcher: outcomes (in the caller's transaction) ----

/** The mail server accepted the message: the new password replaces the old one, and the job and its message are done. */
export async function recordCredentialSent(
  tx: EntityManager,
  p: {
    jobId: number;
    userId: number;
    attempts: number;
    passwordHash: string;
    mustChange: boolean;
    expiresAt: Date | null;
    sentAt: Date;
    emlFile: string | null;
    recipient: string;
    subject: string;
  },
): Promise<void> {
  await tx.execute(
    `update users
        set password_hash = ?, must_change_password = ?, password_expires_at = ?, password_changed_at = ?,
            session_version = session_version + 1, failed_logins = 0, locked_until = null,
            password_send_at = ?, password_send_status = 'sent', password_send_error = null
      where id = ?`,
    [p.passwordHash, p.mustChange, p.expiresAt, p.sentAt, p.sentAt, p.userId],
  );
  await tx.execute(`update credential_jobs set status = 'sent', sent_at = ?, lease_until = null, last_error = null, send_started_at = null where id = ?`, [p.sentAt, p.jobId]);
  await tx.execute(`update mail_messages set status = 'sent', sent_at = ?, attempts = ?, error = null, eml_file = ?, recipient = ?, subject = ? where job_id = ?`, [
    p.sentAt,
    p.attempts,
    p.emlFile,
    p.recipient,
    p.subject,
    p.jobId,
  ]);
}

/**
 * An attempt failed: the job waits for its retry (`retryAt`) or is failed (`final`); the send mark
 * is kept or restored; the user's row and the /mail message show `userError`.
 */
export async function recordCredentialFailure(
  tx: EntityManager,
  p: { jobId: number; userId: number; attempts: number; final: boolean; retryAt: Date | null; reason: string; userError: string; sendMark: 'keep' | { restore: Date | null } },
): Promise<void> {
  await tx.execute(
    `update credential_jobs set status = ?, next_attempt_at = coalesce(?, next_attempt_at), lease_until = null, last_error = ?,
            send_started_at = case when ? then ?::timestamptz else send_started_at end
      where id = ?`,
    [p.final ? 'failed' : 'pending', p.retryAt, p.reason, p.sendMark !== 'keep', p.sendMark === 'keep' ? null : p.sendMark.restore, p.jobId],
  );
  await tx.execute(`update users set password_send_status = ?, password_send_error = ? where id = ? and password_send_at is not null`, [
    p.final ? 'failed' : 'pending',
    p.userError,
    p.userId,
  ]);
  await tx.execute(`update mail_messages set status = ?, attempts = ?, error = ? where job_id = ?`, [p.final ? 'failed' : 'queued', p.attempts, p.userError, p.jobId]);
}

// ---- Requests: the credentials page and the users list ----

export async function userFacts(em: EntityManager, userId: number): Promise<UserFacts | null> {
  const [row]: UserFacts[] = await em.execute(
    `select u.id, u.username, c.full_name, u.email, u.provider, (select p.label from identity_providers p where p.key = u.provider) as provider_label,
            u.enabled, u.built_in, u.password_send_at, u.password_send_status,
            u.password_send_error, u.must_change_password, u.password_expires_at,
            (select j.status from credential_jobs j where j.user_id = u.id and j.status in ('pending', 'sending')) as live_job
       from users u join contacts c on c.id = u.contact_id where u.id = ?`,
    [userId],
  );
  return row ?? null;
}

export async function userEmail(em: EntityManager, userId: number): Promise<string | null> {
  const [row]: { email: string | null }[] = await em.execute('select email from users where id = ?', [userId]);
  return row?.email ?? null;
}

/**
 * The user's last 10 messages. As on /mail, the address of a copy sent to someone outside
 * `recipientScope` (and not the viewer) reads `hidden`.
 */
export function recentMessages(em: EntityManager, p: { userId: number; viewerId: number; recipientScope: { sql: string; params: unknown[] }; hidden: string }): Promise<MailMessageRow[]> {
  return em.execute(
    `select m.id, case when j.recipient_kind = 'self' and not (${p.recipientScope.sql} or ru.id = ?) then ? else m.recipient end as recipient,
            m.subject, m.status, m.attempts, m.error, m.created_at, m.sent_at
       from mail_messages m
       left join credential_jobs j on j.id = m.job_id
       left join users ru on ru.id = j.recipient_user_id
      where m.user_id = ? order by m.id desc limit 10`,
    [...p.recipientScope.params, p.viewerId, p.hidden, p.userId],
  );
}

/** The username, the row locked until the transaction ends; `null`: no such user. */
export async function lockUsername(tx: EntityManager, userId: number): Promise<string | null> {
  const [row]: { username: string }[] = await tx.execute('select username from users where id = ? for update', [userId]);
  return row?.username ?? null;
}

/** Whether another user has this username, compared without regard to case. */
export async function usernameTaken(tx: EntityManager, username: string, exceptUserId: number): Promise<boolean> {
  const [taken]: { id: number }[] = await tx.execute('select id from users where lower(username) = lower(?) and id <> ?', [username, exceptUserId]);
  return taken !== undefined;
}

export async function renameUser(tx: EntityManager, userId: number, username: string): Promise<void> {
  await tx.execute('update users set username = ?, updated_at = now() where id = ?', [username, userId]);
}

/** A new job due at `dueAt`, its queued message on /mail, and the send date the users list shows. */
export async function insertCredentialJob(
  tx: EntityManager,
  p: { userId: number; recipient: Recipient; recipientUserId: number; address: string; dueAt: Date; requestedBy: number; requestedByName: string; subject: string },
): Promise<void> {
  const [job]: { id: number }[] = await tx.execute(
    `insert into credential_jobs (user_id, recipient_kind, recipient_user_id, recipient_address, due_at, next_attempt_at, requested_by, requested_by_name)
     values (?, ?, ?, ?, ?, ?, ?, ?) returning id`,
    [p.userId, p.recipient, p.recipientUserId, p.address, p.dueAt, p.dueAt, p.requestedBy, p.requestedByName],
  );
  await tx.execute(`insert into mail_messages (kind, recipient, subject, user_id, job_id) values ('credentials', ?, ?, ?, ?)`, [p.address, p.subject, p.userId, job.id]);
  await tx.execute(`update users set password_send_at = ?, password_send_status = 'pending', password_send_error = null where id = ?`, [p.dueAt, p.userId]);
}

/** The user's send state, the row locked until the transaction ends; `null`: no such user. */
export async function lockSendState(tx: EntityManager, userId: number): Promise<{ password_send_status: string | null; password_send_at: Date | string | null } | null> {
  const [current]: { password_send_status: string | null; password_send_at: Date | string | null }[] = await tx.execute(
    'select password_send_status, password_send_at from users where id = ? for update',
    [userId],
  );
  return current ?? null;
}

export async function clearSendDate(tx: EntityManager, userId: number): Promise<void> {
  await tx.execute('update users set password_send_at = null, password_send_status = null, password_send_error = null where id = ?', [userId]);
}

/** Cancels the user's pending jobs; their ids and due dates. */
export function cancelPendingJobs(tx: EntityManager, userId: number): Promise<{ id: number; due_at: Date | string }[]> {
  return tx.execute(`update credential_jobs set status = 'cancelled', lease_until = null where user_id = ? and status = 'pending' returning id, due_at`, [userId]);
}

/** Removes a cancelled job's message from /mail while it is still queued. */
export async function deleteQueuedMessage(tx: EntityManager, jobId: number): Promise<void> {
  await tx.execute(`delete from mail_messages where job_id = ? and status = 'queued'`, [jobId]);
}
