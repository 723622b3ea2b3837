import type { EntityManager } from '@mikro-orm/postgresql';
import type { SqlCondition } from '../common/search';

/** Users, contacts and organizations matching the session's scope conditions (aliases `u`, `co`, `o`), counted in one statement. */
export async function startboardCounts(
  db: EntityManager,
  scope: { users: SqlCondition; contactOrganizations: SqlCondition; organizations: SqlCondition },
): Promise<{ users: number; contacts: number; organizations: number }> {
  const { users, contactOrganizations: contactOrgs, organizations: orgs } = scope;
  const [row] = await db.execute(
    `select (select count(*) from users u where ${users.sql})::int as users,
              (select count(*) from contacts c join organizations co on co.id = c.organization_id where ${contactOrgs.sql})::int as contacts,
              (select count(*) from organizations o where ${orgs.sql})::int as organizations`,
    [...users.params, ...contactOrgs.params, ...orgs.params],
  );
  return row as { users: number; contacts: number; organizations: number };
}

/** The cheapest statement the database must answer (the health probe). */
export async function ping(db: EntityManager): Promise<void> {
  await db.execute('select 1');
}
