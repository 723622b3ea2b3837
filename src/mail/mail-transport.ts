import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type nodemailer from 'nodemailer';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config';

export interface OutgoingMail {
  from: string | { name: string; address: string };
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface DeliveryResult {
  /** In file mode, the file name of the stored message inside `$DATA_DIR/mail`. */
  emlFile: string | null;
}

/** What Tessera uses of a nodemailer transporter. */
interface Sender {
  sendMail(mail: OutgoingMail): Promise<{ rejected?: unknown[]; message?: unknown }>;
  close(): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** nodemailer, loaded with the first mail: a server that sends none keeps its 5–10 MiB of code out. */
function mailer(): typeof nodemailer {
  return require('nodemailer') as typeof nodemailer;
}

/** Most SMTP connections the pool keeps open (also the dispatcher's send concurrency). */
export const SMTP_POOL_SIZE = 5;

/**
 * Delivers a message: with `SMTP_URL` through a pooled nodemailer SMTP transport (resolves only
 * when the server accepted the message), without it as an `.eml` file in `$DATA_DIR/mail`
 * (readable by the service account only: a credential e-mail contains a password).
 */
@Injectable()
export class MailTransport implements OnApplicationShutdown {
  private readonly logger = new Logger('Mail');
  private smtp: Sender | null = null;
  private fileTransport: Sender | null = null;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  get mode(): 'smtp' | 'file' {
    return this.config.smtpUrl ? 'smtp' : 'file';
  }

  get mailDir(): string {
    return join(this.config.dataDir, 'mail');
  }

  async deliver(mail: OutgoingMail): Promise<DeliveryResult> {
    if (this.config.smtpUrl) {
      const info = await this.pool().sendMail(mail);
      if (info.rejected && info.rejected.length > 0) throw new Error(`The mail server refused the recipient ${mail.to}.`);
      return { emlFile: null };
    }
    this.fileTransport ??= mailer().createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
    const info = await this.fileTransport.sendMail(mail);
    const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(6).toString('hex')}.eml`;
    await mkdir(this.mailDir, { recursive: true, mode: 0o700 });
    await writeFile(join(this.mailDir, name), info.message as Buffer, { mode: 0o600 });
    return { emlFile: name };
  }

  private pool(): Sender {
    if (!this.smtp) {
      this.smtp = mailer().createTransport({
        url: this.config.smtpUrl!,
        pool: true,
        maxConnections: SMTP_POOL_SIZE,
        connectionTimeout: 15000,
        greetingTimeout: 15000,
        socketTimeout: 30000,
      });
      this.smtp.on('error', (error: Error) => this.logger.warn(`SMTP pool: ${error.message}`));
    }
    return this.smtp;
  }

  onApplicationShutdown(): void {
    this.smtp?.close();
    this.smtp = null;
  }
}
