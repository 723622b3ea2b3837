import { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { verifyPassword } from '../../src/accounts/password-hasher';
import { bootstrapDatabase } from '../../src/bootstrap/bootstrap.service';
import { migrateDatabase } from '../../src/database/migrate';
import { MIGRATIONS } from '../../src/database/migrations';
import { ormOptions } from '../../src/database/orm-options';
import { prepareDatabase } from '../../src/database/prepare';
import { createBlankDatabase, TestDatabase } from '../support/database';
import { installTransactionProbe } from '../support/transaction-probe';

async function query<T = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('migrations and first start', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createBlankDatabase();
  });
  afterEach(async () => {
    await db.drop();
  });

  it('two instances starting together on an empty database migrate once and create one admin', async () => {
    const results = await Promise.all([prepareDatabase(db.url, 'First-pass-1'), prepareDatabase(db.url, 'Second-pass-2')]);

    // Exactly one of the two applied the migrations; the other waited for the lock and found none pending.
    const applied = results.map((r) => r.appliedMigrations.length).sort();
    expect(applied).toEqual([0, MIGRATIONS.length]);
    const migrations = await query<{ name: string }>(db.url, 'select name from mikro_orm_migrations');
    expect(migrations.map((m) => m.name)).toEqual(MIGRATIONS.map((m) => m.name));

    expect(results.filter((r) => r.adminCreated)).toHaveLength(1);
    const admins = await query<{ password_hash: string }>(db.url, `select password_hash from users where username = 'admin'`);
    expect(admins).toHaveLength(1);
    const winner = results[0].adminCreated ? 'First-pass-1' : 'Second-pass-2';
    expect(await verifyPassword(admins[0].password_hash, winner)).toBe(true);
    expect(await query(db.url, 'select 1 from organizations where parent_id is null')).toHaveLength(1);
  });

  it('first start creates Global, the built-in roles, profiles, licence, settings and admin', async () => {
    const result = await prepareDatabase(db.url, 'Admin-pass-1');
    expect(result).toMatchObject({ adminCreated: true, generatedAdminPassword: null });

    const [global] = await query<{ id: number; name: string; path: string; depth: number }>(db.url, 'select * from organizations where parent_id is null');
    expect(global).toMatchObject({ name: 'Global', path: `/${global.id}/`, depth: 0 });

    const roles = await query<{ built_in_key: string; permissions: string[] }>(db.url, 'select built_in_key, permissions from roles order by id');
    expect(roles.map((r) => r.built_in_key)).toEqual(['administrator', 'user_manager', 'member']);
    expect(roles[0].permissions).toHaveLength(7);
    expect(roles[2].permissions).toEqual([]);

    const profiles = await query<{ name: string }>(db.url, 'select name from user_profiles order by id');
    expect(profiles.map((p) => p.name)).toEqual(['Administrator', 'Self-service']);
    expect(await query(db.url, `select 1 from licence_types where built_in_key = 'standard' and seats is null`)).toHaveLength(1);

    const [settings] = await query<Record<string, unknown>>(
      db.url,
      `select s.username_format, p.built_in_key as profile, l.built_in_key as licence,
              array(select r.built_in_key from client_settings_default_roles d join roles r on r.id = d.role_id) as default_roles
         from client_settings s join user_profiles p on p.id = s.default_profile_id join licence_types l on l.id = s.default_licence_id`,
    );
    expect(settings).toEqual({ username_format: '{f}{lastname}', profile: 'self_service', licence: 'standard', default_roles: ['member'] });

    const [admin] = await query<Record<string, unknown>>(
      db.url,
      `select u.built_in, u.must_change_password, u.enabled, p.built_in_key as profile,
              array(select r.built_in_key from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = u.id) as roles,
              (select count(*)::int from memberships m where m.user_id = u.id and m.organization_id = $1 and m.is_admin) as global_admin
         from users u join user_profiles p on p.id = u.profile_id where u.username = 'admin'`,
      [global.id],
    );
    expect(admin).toEqual({ built_in: true, must_change_password: false, enabled: true, profile: 'administrator', roles: ['administrator'], global_admin: 1 });
  });

  it('a generated admin password is returned once and must be changed at first login', async () => {
    const result = await prepareDatabase(db.url, null);
    expect(result.generatedAdminPassword).toMatch(/^\S{20}$/);
    const [admin] = await query<{ password_hash: string; must_change_password: boolean }>(db.url, `select * from users where username = 'admin'`);
    expect(admin.must_change_password).toBe(true);
    expect(await verifyPassword(admin.password_hash, result.generatedAdminPassword!)).toBe(true);
    expect(admin.password_hash).not.toContain(result.generatedAdminPassword);
  });

  it('is idempotent: a later start changes nothing and never resets the admin password', async () => {
    await prepareDatabase(db.url, 'Admin-pass-1');
    const snapshot = async () =>
      query(
        db.url,
        `select (select json_agg(o order by id) from organizations o) as orgs, (select json_agg(r order by id) from roles r) as roles,
                (select json_agg(p order by id) from user_profiles p) as profiles, (select json_agg(l order by id) from licence_types l) as licences,
                (select json_agg(s) from client_settings s) as settings, (select json_agg(d) from client_settings_default_roles d) as default_roles,
                (select json_agg(u order by id) from users u) as users, (select json_agg(m order by id) from memberships m) as memberships,
                (select json_agg(ur) from user_roles ur) as user_roles`,
      );
    const before = await snapshot();
    const second = await prepareDatabase(db.url, 'Another-pass-2');
    expect(second).toEqual({ appliedMigrations: [], adminCreated: false, generatedAdminPassword: null });
    expect(await snapshot()).toEqual(before);
  });

  it('writes the first-start data in one transaction, every statement on its connection', async () => {
    await migrateDatabase(db.url);
    const orm = await MikroORM.init(ormOptions({ databaseUrl: db.url, poolMax: 2 }));
    try {
      const probe = installTransactionProbe(orm);
      await bootstrapDatabase(orm.em.fork(), 'Admin-pass-1');
      expect(await probe.report()).toEqual({ transactions: 1, strays: [] });
    } finally {
      await orm.close(true);
    }
  });

  it('keeps an administrator-cleared default role list cleared on later starts', async () => {
    await prepareDatabase(db.url, 'Admin-pass-1');
    await query(db.url, 'delete from client_settings_default_roles');
    await prepareDatabase(db.url, 'Admin-pass-1');
    expect(await query(db.url, 'select * from client_settings_default_roles')).toEqual([]);
  });
});
