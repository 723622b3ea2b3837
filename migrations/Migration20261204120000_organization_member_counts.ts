import { Migration } from '@mikro-orm/migrations';

/**
 * Member counts per organization for the organization tree and page, without counting the
 * memberships on every view (1,000 index-only counts, 20–25 ms of PostgreSQL's time a tree page at
 * 100,000 members). Statement triggers on `memberships` append one row per organization a
 * statement changed, with the difference it made (`delta`); an organization's count is the sum of
 * its rows. Appending takes no lock another writer waits for — a counter row per organization
 * would make a long import block every other membership change of its organizations until it
 * commits. `compactMemberCounts` (organizations.queries.ts) folds the rows into one per
 * organization from time to time.
 */
export class Migration20261204120000_organization_member_counts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table organization_member_counts (
  organization_id integer not null,
  delta integer not null
);`);
    this.addSql(`create index organization_member_counts_organization_idx on organization_member_counts (organization_id);`);
    this.addSql(`
create function count_memberships() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    insert into organization_member_counts (organization_id, delta)
      select organization_id, count(*) from new_memberships group by organization_id;
  elsif tg_op = 'DELETE' then
    insert into organization_member_counts (organization_id, delta)
      select organization_id, -count(*) from old_memberships group by organization_id;
  else
    insert into organization_member_counts (organization_id, delta)
      select organization_id, sum(d) from (select organization_id, 1 as d from new_memberships
                                           union all select organization_id, -1 from old_memberships) x
       group by organization_id having sum(d) <> 0;
  end if;
  return null;
end $$;`);
    this.addSql(`
create function clear_member_counts() returns trigger language plpgsql as $$
begin
  delete from organization_member_counts;
  return null;
end $$;`);
    this.addSql(`create trigger memberships_count_insert after insert on memberships referencing new table as new_memberships for each statement execute function count_memberships();`);
    this.addSql(`create trigger memberships_count_delete after delete on memberships referencing old table as old_memberships for each statement execute function count_memberships();`);
    this.addSql(
      `create trigger memberships_count_update after update on memberships referencing old table as old_memberships new table as new_memberships for each statement execute function count_memberships();`,
    );
    this.addSql(`create trigger memberships_count_truncate after truncate on memberships for each statement execute function clear_member_counts();`);
    this.addSql(`insert into organization_member_counts (organization_id, delta) select organization_id, count(*) from memberships group by organization_id;`);
  }

  override async down(): Promise<void> {
    for (const op of ['insert', 'delete', 'update', 'truncate']) this.addSql(`drop trigger memberships_count_${op} on memberships;`);
    this.addSql(`drop function count_memberships();`);
    this.addSql(`drop function clear_member_counts();`);
    this.addSql(`drop table organization_member_counts;`);
  }
}
