import { Migration } from '@mikro-orm/migrations';

/**
 * A version number of what the users list's filter pull-downs and organization tree show (roles,
 * licence types, identity providers, custom properties, organizations), raised by every statement
 * that changes one of those tables. The version is read with the session on every request, so an
 * instance may keep those choices in memory under it: a change on any instance raises the number
 * in the same transaction, and the next page read anywhere sees a new version and reads them again.
 * These tables change rarely (administration pages); the one row serializes their writers only.
 */
export class Migration20261204110000_list_choices_version extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table list_choices_version (
  id smallint primary key default 1,
  version bigint not null default 1,
  constraint list_choices_version_one_row check (id = 1)
);`);
    this.addSql(`insert into list_choices_version (id, version) values (1, 1);`);
    this.addSql(`
create function bump_list_choices_version() returns trigger language plpgsql as $$
begin
  update list_choices_version set version = version + 1 where id = 1;
  return null;
end $$;`);
    for (const table of ['roles', 'licence_types', 'identity_providers', 'custom_properties', 'organizations']) {
      this.addSql(
        `create trigger ${table}_bump_list_choices_version after insert or update or delete or truncate on ${table} for each statement execute function bump_list_choices_version();`,
      );
    }
  }

  override async down(): Promise<void> {
    for (const table of ['roles', 'licence_types', 'identity_providers', 'custom_properties', 'organizations']) {
      this.addSql(`drop trigger ${table}_bump_list_choices_version on ${table};`);
    }
    this.addSql(`drop function bump_list_choices_version();`);
    this.addSql(`drop table list_choices_version;`);
  }
}
