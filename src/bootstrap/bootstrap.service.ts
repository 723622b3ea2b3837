import { EntityManager } from '@mikro-orm/postgresql';
import { generatePassword, DEFAULT_PASSWORD_POLICY } from '../accounts/password-policy';
import { hashPassword } from '../accounts/password-hasher';
import { BUILT_IN_ROLES, PERMISSIONS } from '../access/permissions';

export interface BootstrapResult {
  /** The built-in admin was created by this run. */
  adminCreated: boolean;
  /** The generated admin password, when ADMIN_PASSWORD was not set; shown once, never stored. */
  generatedAdminPassword: string | null;
}

/**
 * First-start data: the Global organization, the built-in roles, profiles and licence type, the
 * client settings row and the built-in `admin`. Idempotent: every later start finds everything in
 * place and changes nothing except re-granting the Administrator role every permission of the
 * catalogue and keeping `admin` an Administrator. Runs under the migration lock.
 */
export async function bootstrapDatabase(em: EntityManager, adminPassword: string | null): Promise<BootstrapResult> {
  return em.transactional(async (tx) => {
    const one = async <T>(sql: string, params: unknown[] = []): Promise<T | undefined> => ((await tx.execute(sql, params)) as T[])[0];

    await tx.execute(
      `insert into organizations (name, description)
       select 'Global', 'The root of the organization tree.'
        where not exists (select 1 from organizations where parent_id is null)`,
    );
    const global = (await one<{ id: number }>('select id from organizations where parent_id is null'))!;

    for (const [key, role] of Object.entries(BUILT_IN_ROLES)) {
      await tx.execute(
        `insert into roles (name, description, permissions, built_in_key) values (?, ?, ?, ?)
         on conflict (built_in_key) where built_in_key is not null do nothing`,
        [role.name, role.description, `{${role.permissions.join(',')}}`, key],
      );
    }
    await tx.execute(`update roles set permissions = ? where built_in_key = 'administrator'`, [`{${PERMISSIONS.join(',')}}`]);

    const profiles = [
      ['Administrator', 'Administrator startboard with every area the user may manage.', 'administrator', 'administrator'],
      ['Self-service', 'The user manages their own account and password.', 'self_service', 'self_service'],
    ];
    for (const [name, description, startPage, key] of profiles) {
      await tx.execute(
        `insert into user_profiles (name, description, start_page, built_in_key) values (?, ?, ?, ?)
         on conflict (built_in_key) where built_in_key is not null do nothing`,
        [name, description, startPage, key],
      );
    }
    await tx.execute(
      `insert into licence_types (name, seats, built_in_key) values ('Standard', null, 'standard')
       on conflict (built_in_key) where built_in_key is not null do nothing`,
    );

    const createdSettings = await one<{ id: number }>(
      `insert into client_settings (id, default_profile_id, default_licence_id)
       values (1, (select id from user_profiles where built_in_key = 'self_service'),
                  (select id from licence_types where built_in_key = 'standard'))
       on conflict (id) do nothing returning id`,
    );
    if (createdSettings) {
      await tx.execute(
        `insert into client_settings_default_roles (settings_id, role_id)
         select 1, id from roles where built_in_key = 'member'`,
      );
    }

    let result: BootstrapResult = { adminCreated: false, generatedAdminPassword: null };
    const existingAdmin = await one<{ id: number }>('select id from users where built_in');
    let adminId = existingAdmin?.id;
    if (!adminId) {
      const password = adminPassword ?? generatePassword(DEFAULT_PASSWORD_POLICY, 20);
      const contact = (await one<{ id: number }>(
        `insert into contacts (kind, first_name, last_name, full_name, organization_id)
         values ('person', null, 'Administrator', 'Administrator', ?) returning id`,
        [global.id],
      ))!;
      const admin = (await one<{ id: number }>(
        `insert into users (contact_id, username, password_hash, built_in, must_change_password, password_changed_at,
                            profile_id, licence_id)
         values (?, 'admin', ?, true, ?, now(),
                 (select id from user_profiles where built_in_key = 'administrator'),
                 (select id from licence_types where built_in_key = 'standard'))
         returning id`,
        [contact.id, await hashPassword(password), adminPassword === null],
      ))!;
      adminId = admin.id;
      await tx.execute('insert into memberships (user_id, organization_id, is_admin) values (?, ?, true)', [adminId, global.id]);
      await tx.execute(
        `insert into audit_events (action, object_type, object_id, object_label, detail)
         values ('user.created', 'user', ?, 'admin', 'built-in administrator created at first start')`,
        [String(adminId)],
      );
      result = { adminCreated: true, generatedAdminPassword: adminPassword === null ? password : null };
    }
    await tx.execute(
      `insert into user_roles (user_id, role_id) select ?, id from roles where built_in_key = 'administrator'
       on conflict do nothing`,
      [adminId],
    );
    return result;
  });
}
