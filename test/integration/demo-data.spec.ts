import { DEMO_PASSWORD, seedDemoData } from '../../src/database/demo-data';
import { createTestApp, TestApp } from '../support/app';
import { login } from '../support/http';

/** `npm run seed:demo`: a realistic tree and users, made with set-based SQL. */
describe('demo data', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const indexes = () => t.sql<{ indexname: string; indexdef: string }>(`select indexname, indexdef from pg_indexes where schemaname = current_schema() order by indexname`);
  const constraints = () =>
    t.sql<{ table: string; name: string; definition: string; validated: boolean }>(
      `select conrelid::regclass::text as table, conname as name, pg_get_constraintdef(oid) as definition, convalidated as validated
         from pg_constraint where connamespace = current_schema()::regnamespace order by 1, 2`,
    );

  it('builds the tree and users asked for, with memberships, roles, administrators and custom properties', async () => {
    const before = { indexes: await indexes(), constraints: await constraints() };
    const result = await seedDemoData(t.db.url, { users: 600, orgs: 40, depth: 3 });
    // The load builds the secondary indexes and checks the foreign keys after the rows: every one is back, as it was.
    expect({ indexes: await indexes(), constraints: await constraints() }).toEqual(before);
    expect(result).toMatchObject({ organizations: 40, users: 600 });
    const [counts] = await t.sql<Record<string, number>>(
      `select (select count(*)::int from organizations) as orgs,
              (select max(depth) from organizations) as depth,
              (select count(*)::int from users where username like 'user%') as users,
              (select count(*)::int from users u where not exists (select 1 from memberships m where m.user_id = u.id)) as without_membership,
              (select count(*)::int from users u where not exists (select 1 from user_roles r where r.user_id = u.id)) as without_role,
              (select count(distinct m.user_id)::int from memberships m join users u on u.id = m.user_id where m.is_admin and u.username like 'user%') as admins,
              (select count(distinct property_id)::int from user_property_values) as properties`,
    );
    expect(counts).toEqual({ orgs: 41, depth: 3, users: 600, without_membership: 0, without_role: 0, admins: result.organizationAdmins, properties: 3 });
    expect(result.organizationAdmins).toBeGreaterThan(0);
    // Every demo user signs in with the one demo password.
    await login(t.http, 'user17', DEMO_PASSWORD);
  });

  it('refuses a database that already has data', async () => {
    await expect(seedDemoData(t.db.url, { users: 10, orgs: 2, depth: 1 })).rejects.toThrow(/already has data/);
  });
});
