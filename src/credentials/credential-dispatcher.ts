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
import { JobRunner } from '../jobs/job-runner';
import { Clock } from './clock';
import { formatInZone, renderCredentialMail } from './credential-mail';
import {
  claimCredentialJobsAlone,
  ClaimedJob,
  JobFacts,
  jobFactsAlone,
  markSendStartedAlone,
  recordCredentialFailure,
  recordCredentialSent,
  releaseCredentialJobAlone,
  renewCredentialLeaseAlone,
} from './credentials.queries';

/** Minutes to wait after the 1st, 2nd and 3rd failed attempt; the 4th failure is final. */
export const RETRY_BACKOFF_MINUTES = [1, 5, 30];
/** How long a claim holds a job; a claim older than this (its process died) is taken over. */
export const LEASE_MS = 2 * 60 * 1000;
export const CLAIM_BATCH = 50;

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
  /**
   * Batches of CLAIM_BATCH jobs, sent over the SMTP pool's connections at once. The batch is
   * leased as a whole: each job's lease is renewed before it starts, or the job left to another
   * instance that took it over meanwhile (a slow mail server can outlast the first lease).
   */
  private readonly runner = new JobRunner<ClaimedJob, keyof DispatchResult, ClientSettings>(
    {
      name: 'Credential mail dispatch',
      batchSize: CLAIM_BATCH,
      concurrency: SMTP_POOL_SIZE,
      claim: (limit) => this.claim(limit),
      renew: (job) => renewCredentialLeaseAlone(this.orm.em, job.id, this.leaseEnd(), this.instanceId),
      release: async (jobs) => {
        for (const job of jobs) await releaseCredentialJobAlone(this.orm.em, job.id, this.instanceId);
      },
      prepare: () => this.orm.em.fork().findOneOrFail(ClientSettings, { id: 1 }),
      handle: (job, settings) => this.process(job, settings),
    },
    this.logger,
  );

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
    return this.runner.kick();
  }

  /** Resolves when no pass is running in this process. */
  whenIdle(): Promise<void> {
    return this.runner.whenIdle();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.runner.stop();
  }

  /** Claims and sends due jobs until none is left (or `maxJobs` were handled). */
  async dispatchDue(maxJobs = Number.POSITIVE_INFINITY): Promise<DispatchResult> {
    const result: DispatchResult = { sent: 0, retrying: 0, failed: 0 };
    for (const outcome of await this.runner.run(maxJobs)) result[outcome] += 1;
    return result;
  }

  /** Claims up to `limit` due jobs (and ones whose holder died), leased to this instance. */
  claim(limit: number): Promise<ClaimedJob[]> {
    return claimCredentialJobsAlone(this.orm.em, { now: this.clock.now(), leaseUntil: this.leaseEnd(), instanceId: this.instanceId, limit });
  }

  private leaseEnd(): Date {
    return new Date(this.clock.now().getTime() + LEASE_MS);
  }

  private async process(job: ClaimedJob, settings: ClientSettings): Promise<keyof DispatchResult> {
    const facts = await jobFactsAlone(this.orm.em, job.user_id, job.recipient_user_id);
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
      await markSendStartedAlone(this.orm.em, job.id, this.clock.now());
      handedToServer = true;
      const to = facts.recipient_email;
      const delivered = await this.transport.deliver({ from: this.sender(settings), to, subject: mail.subject, text: mail.text, html: mail.html });

      accepted = true;
      // Accepted by the mail server (or stored): only now does the new password replace the old one.
      const sentAt = this.clock.now();
      await this.orm.em.fork().transactional(async (tx) => {
        await recordCredentialSent(tx, {
          jobId: job.id,
          userId: job.user_id,
          attempts: job.attempts,
          passwordHash,
          mustChange: settings.mustChangeAtFirstLogin,
          expiresAt,
          sentAt,
          emlFile: delivered.emlFile,
          recipient: to,
          subject: mail.subject,
        });
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
      await recordCredentialFailure(tx, { jobId: job.id, userId: job.user_id, attempts: job.attempts, final, retryAt, reason, userError, sendMark });
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


