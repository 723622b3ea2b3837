import { Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';

export type MailStatus = 'queued' | 'sent' | 'failed';

/**
 * One e-mail Tessera sends or will send, listed on /mail. It keeps the envelope (recipient,
 * subject, status, error), never the body; in file mode `emlFile` names the stored message in
 * `$DATA_DIR/mail`.
 */
@Entity({ tableName: 'mail_messages' })
export class MailMessage {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 30 })
  kind!: string;

  @Property({ type: 'string', length: 254 })
  recipient!: string;

  @Property({ type: 'string', length: 300 })
  subject!: string;

  @Property({ type: 'string', length: 20 })
  status: MailStatus & Opt = 'queued';

  @Property({ type: 'integer' })
  attempts: number & Opt = 0;

  @Property({ type: 'text', nullable: true })
  error: string | null = null;

  @Property({ type: 'string', length: 200, nullable: true })
  emlFile: string | null = null;

  @Property({ type: 'integer', nullable: true })
  userId: number | null = null;

  @Property({ type: 'integer', nullable: true })
  jobId: number | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', nullable: true })
  sentAt: Date | null = null;
}
