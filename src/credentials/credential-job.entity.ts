import { Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';

export type CredentialJobStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'cancelled';
export type CredentialRecipientKind = 'user' | 'self';

/**
 * A credential e-mail to send at `dueAt`: the user whose password is renewed and who receives it
 * (the user, or the administrator who asked for it). It never holds a password: the dispatcher
 * generates one at the moment of sending. Claimed with `FOR UPDATE SKIP LOCKED` and leased until
 * `leaseUntil`, so a claim of a process that died is taken over.
 */
@Entity({ tableName: 'credential_jobs' })
export class CredentialJob {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'integer' })
  userId!: number;

  @Property({ type: 'string', length: 10 })
  recipientKind!: CredentialRecipientKind;

  @Property({ type: 'integer' })
  recipientUserId!: number;

  /** The recipient's address when the send was requested: the only address it may go to. */
  @Property({ type: 'string', length: 254, nullable: true })
  recipientAddress: string | null = null;

  @Property({ type: 'datetime' })
  dueAt!: Date;

  @Property({ type: 'string', length: 20 })
  status: CredentialJobStatus & Opt = 'pending';

  @Property({ type: 'integer' })
  attempts: number & Opt = 0;

  @Property({ type: 'datetime' })
  nextAttemptAt!: Date;

  @Property({ type: 'datetime', nullable: true })
  leaseUntil: Date | null = null;

  @Property({ type: 'string', length: 100, nullable: true })
  claimedBy: string | null = null;

  @Property({ type: 'text', nullable: true })
  lastError: string | null = null;

  @Property({ type: 'integer', nullable: true })
  requestedBy: number | null = null;

  @Property({ type: 'string', length: 100, nullable: true })
  requestedByName: string | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', nullable: true })
  sentAt: Date | null = null;

  /**
   * Set just before a message is handed to the mail server, cleared when its outcome is saved:
   * still set on a later attempt, it means an earlier message may have gone out with a password
   * that was never saved, so the next message says that it replaces it.
   */
  @Property({ type: 'datetime', nullable: true })
  sendStartedAt: Date | null = null;
}
