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

  const triggers = () =>
    t.sql<{ table: string; name: string; enabled: string; definition: string }>(
      `select tgrelid::regclass::text as table, tgname as name, tgenabled as enabled, pg_get_triggerdef(oid) as definition
         from pg_trigger where not tgisinternal order by 1, 2`,
    );

  it('builds the tree and users asked for, with memberships, roles, administrators and custom properties', async () => {
    const before = { indexes: await indexes(), constraints: await constraints(), triggers: await triggers() };
    // The row triggers the load turns off (they are on before it, so that the comparison below proves they are on again).
    expect(before.triggers.filter((tr) => ['users_copy_contact_email', 'user_property_values_set_single'].includes(tr.name))).toEqual([
      expect.objectContaining({ name: 'user_property_values_set_single', enabled: 'O' }),
      expect.objectContaining({ name: 'users_copy_contact_email', enabled: 'O' }),
    ]);
    const result = await seedDemoData(t.db.url, { users: 600, orgs: 40, depth: 3 });
    // The load builds the secondary indexes, checks the foreign keys and fills what the row
    // triggers would after the rows: every index, constraint and trigger is back, as it was.
    expect({ indexes: await indexes(), constraints: await constraints(), triggers: await triggers() }).toEqual(before);
    // What the triggers keep is as they would have made it: each user's copy of their
    // contact's name and e-mail, each property value's `single` flag.
    const [copies] = await t.sql<{ users: number; differing: number; values: number; wrong_single: number }>(
      `select (select count(*)::int from users u join contacts c on c.id = u.contact_id where u.username like 'user%') as users,
              (select count(*)::int from users u join contacts c on c.id = u.contact_id
                where u.full_name is distinct from c.full_name or u.email is distinct from c.email) as differing,
              (select count(*)::int from user_property_values) as values,
              (select count(*)::int from user_property_values v join custom_properties p on p.id = v.property_id
                where v.single is distinct from not p.multi_valued) as wrong_single`,
    );
    expect(copies).toEqual({ users: 600, differing: 0, values: 1950, wrong_single: 0 });
    // The member counts the statement triggers keep (which stay on during the load) match the memberships.
    const wrongCounts = await t.sql(
      `select o.id from organizations o
        where (select count(*) from memberships m where m.organization_id = o.id)
              <> (select coalesce(sum(k.delta), 0) from organization_member_counts k where k.organization_id = o.id)`,
    );
    expect(wrongCounts).toEqual([]);
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
