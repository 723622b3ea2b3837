import { Migration } from '@mikro-orm/migrations';

/**
 * The users-list search reads one table: `users.full_name` is the linked contact's full name,
 * kept in step by the database like `users.email`, and username, full name and e-mail each have
 * a trigram index on `users`. A search then combines three bitmap index scans of `users` alone;
 * before, its full-name and e-mail branch joined contacts to users, which read the whole users
 * table once a search matched a few thousand people.
 */
export class Migration20261201000000_users_search extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table users add column full_name varchar(200);`);
    this.addSql(`update users u set full_name = c.full_name from contacts c where c.id = u.contact_id;`);
    this.addSql(`
create or replace function users_copy_contact_email() returns trigger language plpgsql as $$
begin
  select c.email, c.full_name into new.email, new.full_name from contacts c where c.id = new.contact_id;
  return new;
end $$;`);
    this.addSql(`drop trigger users_copy_contact_email on users;`);
    this.addSql(`
create trigger users_copy_contact_email before insert or update of contact_id, email, full_name on users
for each row execute function users_copy_contact_email();`);
    this.addSql(`
create function contacts_propagate_full_name() returns trigger language plpgsql as $$
begin
  update users set full_name = new.full_name where contact_id = new.id;
  return new;
end $$;`);
    this.addSql(`
create trigger contacts_propagate_full_name after update of full_name on contacts
for each row when (old.full_name is distinct from new.full_name) execute function contacts_propagate_full_name();`);
    this.addSql(`create index users_full_name_trgm_idx on users using gin (full_name gin_trgm_ops);`);
    this.addSql(`create index users_email_trgm_idx on users using gin (email gin_trgm_ops);`);
  }

  override async down(): Promise<void> {
    this.addSql('drop index if exists users_email_trgm_idx;');
    this.addSql('drop index if exists users_full_name_trgm_idx;');
    this.addSql('drop trigger if exists contacts_propagate_full_name on contacts;');
    this.addSql('drop function if exists contacts_propagate_full_name();');
    this.addSql(`
create or replace function users_copy_contact_email() returns trigger language plpgsql as $$
begin
  select c.email into new.email from contacts c where c.id = new.contact_id;
  return new;
end $$;`);
    this.addSql(`drop trigger users_copy_contact_email on users;`);
    this.addSql(`
create trigger users_copy_contact_email before insert or update of contact_id, email on users
for each row execute function users_copy_contact_email();`);
    this.addSql('alter table users drop column full_name;');
  }
}
