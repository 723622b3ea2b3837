import { MikroORM } from '@mikro-orm/postgresql';
import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { hashPassword } from '../accounts/password-hasher';
import { generatePassword } from '../accounts/password-policy';
import { AuditService } from '../audit/audit.service';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config';
import { MailTransport, SMTP_POOL_SIZE } from '../mail/mail-transport';
import { ClientSettings } from '../settings/client-settings.entity';
import { toPasswordPolicy } from '../settings/settings.service';
import { LOCAL_PROVIDER } from '../users/user.entity';
import { formatDateTime } from '../common/hbs-helpers';
import { Clock } from './clock';
import { formatInZone, renderCredentialMail } from './credential-mail';

/** Minutes to wait after the 1st, 2nd and 3rd failed attempt; the 4th failure is final. */
export const RETRY_BACKOFF_MINUTES = [1, 5, 30];
/** How long a claim holds a job; a claim older than this (its process died) is taken over. */
export const LEASE_MS = 2 * 60 * 1000;
export const CLAIM_BATCH = 50;

interface ClaimedJob {
  id: number;
  user_id: number;
  recipient_kind: 'user' | 'self';
  recipient_user_id: number;
  /** The address approved when the send was requested (`null` only for jobs made outside the app). */
  recipient_address: string | null;
  attempts: number;
  requested_by: number | null;
  requested_by_name: string | null;
  /** Set when an earlier attempt handed a message to the mail server without saving its password. */
  send_started_at: Date | null;
}

interface JobFacts {
  username: string;
  full_name: string;
  provider: string;
  enabled: boolean;
  recipient_email: string | null;
  recipient_username: string;
}

export interface DispatchResult {
  sent: number;
  retrying: number;
  failed: number;
}

/** A failure that no retry can fix (the user became an SSO user, lost their e-mail, …). */
class PermanentFailure extends Error {}

/**
 * Sends due credential e-mails (SPEC §4 "Credential e-mails"). Jobs are claimed in batches with
 * `FOR UPDATE SKIP LOCKED` and leased, so several instances share the work and a claim of a dead
 * process is taken over after the lease. For each job the password is generated at send time;
 * its hash is saved (with must-change and expiry per the settings, ending the user's sessions)
 * only after the mail server accepted the message. A failed send keeps the old password and is
 * retried after 1, 5 and 30 minutes, then marked failed. The password is never logged or audited.
 */
@Injectable()
export class CredentialDispatcher implements BeforeApplicationShutdown {
  readonly instanceId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly logger = new Logger('CredentialMail');
  private running: Promise<void> | null = null;
  private again = false;
  private stopping = false;

  constructor(
    private readonly orm: MikroORM,
    private readonly clock: Clock,
    private readonly transport: MailTransport,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Starts a dispatch pass in the background (after "send now", and every minute); a kick while a
   * pass runs makes it run once more. The promise settles when this process is idle again.
   */
  kick(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.dispatchDue();
        } catch (error) {
          this.logger.error(`Dispatch pass failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      } while (this.again && !this.stopping);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Resolves when no pass is running in this process. */
  whenIdle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.whenIdle();
  }

  /** Claims and sends due jobs until none is left (or `maxJobs` were handled). */
  async dispatchDue(maxJobs = Number.POSITIVE_INFINITY): Promise<DispatchResult> {
    const result: DispatchResult = { sent: 0, retrying: 0, failed: 0 };
    let handled = 0;
    while (handled < maxJobs && !this.stopping) {
      const jobs = await this.claim(Math.min(CLAIM_BATCH, maxJobs - handled));
      if (jobs.length === 0) break;
      handled += jobs.length;
      const em = this.orm.em.fork();
      const settings = await em.findOneOrFail(ClientSettings, { id: 1 });
      let next = 0;
      const worker = async () => {
        while (next < jobs.length && !this.stopping) {
          const job = jobs[next++];
          // The batch was leased as a whole: renew this job's lease, or leave it if another
          // instance took it over meanwhile (a slow mail server can outlast the first lease).
          if (!(await this.renewLease(job.id))) continue;
          const outcome = await this.process(job, settings);
          result[outcome] += 1;
        }
      };
      await Promise.all(Array.from({ length: Math.min(SMTP_POOL_SIZE, jobs.length) }, worker));
      // Stopping: hand the jobs not started back at once instead of leaving them to their lease.
      if (next < jobs.length) await this.release(jobs.slice(next).map((j) => j.id));
    }
    return result;
  }

  /**
   * Claims up to `limit` jobs: pending ones that are due, and ones whose lease expired (their
   * process died while sending). One statement, so the claim is atomic.
   */
  async claim(limit: number): Promise<ClaimedJob[]> {
    const now = this.clock.now();
    return this.orm.em.getConnection().execute(
      `update credential_jobs j
          set status = 'sending', lease_until = ?, claimed_by = ?, attempts = j.attempts + 1
        where j.id in (select id from credential_jobs
                        where (status = 'pending' and next_attempt_at <= ?) or (status = 'sending' and lease_until < ?)
                        order by next_attempt_at, id
                        limit ?
                        for update skip locked)
        returning j.id, j.user_id, j.recipient_kind, j.recipient_user_id, j.recipient_address, j.attempts, j.requested_by, j.requested_by_name, j.send_started_at`,
      [new Date(now.getTime() + LEASE_MS), this.instanceId, now, now, limit],
    );
  }

  private async release(jobIds: number[]): Promise<void> {
    for (const id of jobIds) {
      await this.orm.em
        .getConnection()
        .execute(
          `update credential_jobs set status = 'pending', attempts = attempts - 1, lease_until = null, claimed_by = null where id = ? and status = 'sending' and claimed_by = ?`,
          [id, this.instanceId],
        );
    }
  }

  private async renewLease(jobId: number): Promise<boolean> {
    const rows: { id: number }[] = await this.orm.em.getConnection().execute(
      `update credential_jobs set lease_until = ? where id = ? and status = 'sending' and claimed_by = ? returning id`,
      [new Date(this.clock.now().getTime() + LEASE_MS), jobId, this.instanceId],
    );
    return rows.length === 1;
  }

  private async process(job: ClaimedJob, settings: ClientSettings): Promise<keyof DispatchResult> {
    const db = this.orm.em.getConnection();
    const [facts]: JobFacts[] = await db.execute(
      `select u.username, c.full_name, u.provider, u.enabled, r.email as recipient_email, r.username as recipient_username
         from users u join contacts c on c.id = u.contact_id, users r
        where u.id = ? and r.id = ?`,
      [job.user_id, job.recipient_user_id],
    );
    let handedToServer = false;
    let accepted = false;
    try {
      if (!facts) throw new PermanentFailure('The user no longer exists.');
      if (facts.provider !== LOCAL_PROVIDER) throw new PermanentFailure(`${facts.username} signs in with ${facts.provider} (SSO) and has no password.`);
      if (!facts.enabled) throw new PermanentFailure(`${facts.username} is disabled.`);
      if (!facts.recipient_email) throw new PermanentFailure(`${facts.recipient_username} has no e-mail address.`);
      // The address may have changed since the request (a scheduled date can be days away): a new
      // password goes only to the address the requester saw and was allowed to send to.
      if (job.recipient_address !== null && facts.recipient_email !== job.recipient_address) {
        throw new PermanentFailure(
          `The e-mail address of ${facts.recipient_username} changed after the credentials were requested: nothing was sent. Request the credentials again.`,
        );
      }

      const now = this.clock.now();
      const password = generatePassword(toPasswordPolicy(settings));
      const passwordHash = await hashPassword(password);
      const expiresAt = settings.initialPasswordValidityDays > 0 ? new Date(now.getTime() + settings.initialPasswordValidityDays * 86400000) : null;
      const product = settings.mailSenderName ?? 'Tessera';
      const mail = renderCredentialMail({
        product,
        fullName: facts.full_name,
        username: facts.username,
        password,
        loginUrl: settings.loginUrl ?? `${this.config.publicUrl}/login`,
        mustChange: settings.mustChangeAtFirstLogin,
        validUntil: expiresAt ? formatInZone(expiresAt, settings.timeZone) : null,
        timeZone: settings.timeZone,
        forAdministrator: job.recipient_kind === 'self',
        requestedBy: job.requested_by_name ?? 'an administrator',
        replacesEarlier: job.send_started_at !== null,
      });
      // At-least-once: from here until the hash below is saved, a crash may leave a message
      // delivered whose password never works. The mark tells the retry to say it replaces it.
      await db.execute(`update credential_jobs set send_started_at = ? where id = ?`, [this.clock.now(), job.id]);
      handedToServer = true;
      const delivered = await this.transport.deliver({ from: this.sender(settings), to: facts.recipient_email, subject: mail.subject, text: mail.text, html: mail.html });

      accepted = true;
      // Accepted by the mail server (or stored): only now does the new password replace the old one.
      const sentAt = this.clock.now();
      await this.orm.em.fork().transactional(async (tx) => {
        await tx.execute(
          `update users
              set password_hash = ?, must_change_password = ?, password_expires_at = ?, password_changed_at = ?,
                  session_version = session_version + 1, failed_logins = 0, locked_until = null,
                  password_send_at = ?, password_send_status = 'sent', password_send_error = null
            where id = ?`,
          [passwordHash, settings.mustChangeAtFirstLogin, expiresAt, sentAt, sentAt, job.user_id],
        );
        await tx.execute(`update credential_jobs set status = 'sent', sent_at = ?, lease_until = null, last_error = null, send_started_at = null where id = ?`, [
          sentAt,
          job.id,
        ]);
        await tx.execute(
          `update mail_messages set status = 'sent', sent_at = ?, attempts = ?, error = null, eml_file = ?, recipient = ?, subject = ? where job_id = ?`,
          [sentAt, job.attempts, delivered.emlFile, facts.recipient_email, mail.subject, job.id],
        );
        await this.audit.write(
          { actorId: job.requested_by, actorName: job.requested_by_name, ip: null },
          {
            action: 'credentials.sent',
            objectType: 'user',
            objectId: job.user_id,
            objectLabel: facts.username,
            changes: { password: { from: '(hidden)', to: '(changed)' } },
            detail: `New password e-mailed to ${facts.recipient_email}${job.recipient_kind === 'self' ? ` (${facts.recipient_username}, who asked for it)` : ''}; attempt ${job.attempts}.`,
          },
          tx,
        );
      });
      return 'sent';
    } catch (error) {
      // A refused or failed delivery sent nothing: the mark goes back to what earlier attempts
      // left. After an accepted message (its password could not be saved) it stays, and the
      // retry's message replaces this one.
      return this.recordFailure(job, facts, error, handedToServer && !accepted ? { restore: job.send_started_at } : 'keep', settings.timeZone);
    }
  }

  private async recordFailure(job: ClaimedJob, facts: JobFacts | undefined, error: unknown, sendMark: 'keep' | { restore: Date | null }, timeZone: string): Promise<keyof DispatchResult> {
    const permanent = error instanceof PermanentFailure;
    const reason = (error instanceof Error ? error.message : String(error)).slice(0, 1000);
    const final = permanent || job.attempts > RETRY_BACKOFF_MINUTES.length;
    const now = this.clock.now();
    const retryAt = final ? null : new Date(now.getTime() + RETRY_BACKOFF_MINUTES[job.attempts - 1] * 60000);
    // People read this on the users list and /mail: the next try in the client time zone.
    const nextTry = retryAt ? formatDateTime(retryAt, timeZone) : null;
    const userError = final ? reason : `${reason} (attempt ${job.attempts}; next try ${nextTry})`;
    this.logger.warn(`Credential mail job ${job.id} for user ${job.user_id}: attempt ${job.attempts} failed${final ? ' (final)' : ''}: ${reason}`);
    await this.orm.em.fork().transactional(async (tx) => {
      await tx.execute(
        `update credential_jobs set status = ?, next_attempt_at = coalesce(?, next_attempt_at), lease_until = null, last_error = ?,
                send_started_at = case when ? then ?::timestamptz else send_started_at end
          where id = ?`,
        [final ? 'failed' : 'pending', retryAt, reason, sendMark !== 'keep', sendMark === 'keep' ? null : sendMark.restore, job.id],
      );
      await tx.execute(`update users set password_send_status = ?, password_send_error = ? where id = ? and password_send_at is not null`, [
        final ? 'failed' : 'pending',
        userError,
        job.user_id,
      ]);
      await tx.execute(`update mail_messages set status = ?, attempts = ?, error = ? where job_id = ?`, [final ? 'failed' : 'queued', job.attempts, userError, job.id]);
      await this.audit.write(
        { actorId: job.requested_by, actorName: job.requested_by_name, ip: null },
        {
          action: final ? 'credentials.send_failed' : 'credentials.send_retry',
          objectType: 'user',
          objectId: job.user_id,
          objectLabel: facts?.username,
          detail: `Attempt ${job.attempts} failed: ${reason}${final ? ' No further attempts; the old password still works.' : ` Next try at ${nextTry}; the old password still works.`}`,
        },
        tx,
      );
    });
    return final ? 'failed' : 'retrying';
  }

  private sender(settings: ClientSettings): string | { name: string; address: string } {
    if (settings.mailSenderAddress) return { name: settings.mailSenderName ?? 'Tessera', address: settings.mailSenderAddress };
    if (settings.mailSenderName) {
      const address = /<([^>]+)>/.exec(this.config.mailFrom)?.[1] ?? this.config.mailFrom;
      return { name: settings.mailSenderName, address };
    }
    return this.config.mailFrom;
  }
}


