import { Migration } from '@mikro-orm/migrations';

/**
 * The password send date of each user (the last column of the users list): when the login
 * credentials are (or were) to be sent, and how that went.
 */
export class Migration20261122100100_password_send extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
alter table users
  add column password_send_at timestamptz null,
  add column password_send_status varchar(20) null,
  add column password_send_error text null,
  add constraint users_password_send_status_valid check (password_send_status in ('pending', 'sent', 'failed')),
  add constraint users_password_send_status_has_date check ((password_send_status is null) = (password_send_at is null));`);
    this.addSql(`create index users_password_send_idx on users (password_send_at) where password_send_status = 'pending';`);
  }

  override async down(): Promise<void> {
    this.addSql(`
alter table users
  drop column if exists password_send_at,
  drop column if exists password_send_status,
  drop column if exists password_send_error;`);
  }
}
