import { Migration } from '@mikro-orm/migrations';

/**
 * The address a credential e-mail was requested for. The dispatcher sends only to that address:
 * when the recipient's e-mail changed between the request (or the scheduled send date) and the
 * send, the job fails instead of mailing a new password to an address nobody approved.
 * Live jobs take the address of their queued message, which was written at request time.
 */
export class Migration20261202100000_credential_recipient_address extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table credential_jobs add column recipient_address varchar(254) null;`);
    this.addSql(`
update credential_jobs j set recipient_address = m.recipient
  from mail_messages m
 where m.job_id = j.id and j.status in ('pending', 'sending');`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table credential_jobs drop column if exists recipient_address;`);
  }
}
