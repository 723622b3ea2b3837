import { Migration } from '@mikro-orm/migrations';

/**
 * The contacts list sorted by e-mail pages with a keyset over (no e-mail last, e-mail, id): this
 * index serves it the way contacts_full_name_idx serves the default sort by name.
 */
export class Migration20261122110000_contacts_email_sort extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index contacts_email_sort_idx on contacts ((email is null), lower(coalesce(email, '')), id);`);
  }

  override async down(): Promise<void> {
    this.addSql('drop index if exists contacts_email_sort_idx;');
  }
}
