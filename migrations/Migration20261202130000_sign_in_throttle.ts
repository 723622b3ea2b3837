import { Migration } from '@mikro-orm/migrations';

/**
 * Sign-in throttling and credential-mail retries that know an earlier message may have gone out.
 *
 * `login_throttle` counts failed sign-ins per client address (`ip:<address>`) and per typed
 * username (`user:<lower(username)>`, unknown names too, so that it reveals nothing), in
 * PostgreSQL so that every instance sees the same counts; a key with too many failures is
 * refused until `blocked_until`. A username key's `lock_failures` counts towards the account lock
 * (not while the account is locked; reset by a sign-in), so that a wrong password writes the
 * same rows whether or not the user exists. `credential_jobs.send_started_at` is set just before a message
 * is handed to the mail server: a retry that finds it set (the process died between the server
 * accepting the message and the new password's hash being saved) says that it replaces it.
 */
export class Migration20261202130000_sign_in_throttle extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table login_throttle (
  key varchar(300) primary key,
  failures integer not null,
  lock_failures integer not null default 0,
  last_failure_at timestamptz not null,
  blocked_until timestamptz null,
  constraint login_throttle_failures_valid check (failures > 0)
);`);
    // Stale rows are pruned a few at a time by the failure upsert itself.
    this.addSql(`create index login_throttle_last_failure_idx on login_throttle (last_failure_at);`);
    this.addSql(`alter table credential_jobs add column send_started_at timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table credential_jobs drop column send_started_at;`);
    this.addSql(`drop table login_throttle;`);
  }
}
