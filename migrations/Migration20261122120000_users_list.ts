import { Migration } from '@mikro-orm/migrations';

/**
 * The users list sorts by last login (newest first, never-signed-in users last) with keyset
 * paging: an index on the same expression and the id tiebreaker keeps every page index-backed.
 */
export class Migration20261122120000_users_list extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index users_last_login_sort_idx on users ((coalesce(last_login_at, '-infinity'::timestamptz)), id);`);
  }

  override async down(): Promise<void> {
    this.addSql('drop index if exists users_last_login_sort_idx;');
  }
}
