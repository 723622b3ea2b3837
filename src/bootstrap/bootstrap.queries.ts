import type { EntityManager } from '@mikro-orm/postgresql';

/*
 * The first-start data's SQL. Every statement is idempotent or guarded, so a later start changes
 * nothing; all of them run on the bootstrap's transaction (`tx`).
 */

async function one<T>(tx: EntityManager, sql: string, params: unknown[] = []): Promise<T | undefined> {
  return ((await tx.execute(sql, params)) as T[])[0];
}

/** Creates the Global root organization when there is no root yet; returns the root's id. */
export async function ensureGlobalOrganization(tx: EntityManager): Promise<number> {
  await tx.execute(
    `insert into organizations (name, description)
       select 'Global', 'The root of the organization tree.'
        where not exists (select 1 from organizations where parent_id is null)`,
  );
  return (await one<{ id: number }>(tx, 'select id from organizations where parent_id is null'))!.id;
}

/** Creates the built-in role `key` unless it exists (an existing one keeps its name and permissions). */
export async function ensureBuiltInRole(tx: EntityManager, key: string, role: { name: string; description: string; permissions: readonly string[] }): Promise<void> {
  await tx.execute(
    `insert into roles (name, description, permissions, built_in_key) values (?, ?, ?, ?)
         on conflict (built_in_key) where built_in_key is not null do nothing`,
    [role.name, role.description, `{${role.permissions.join(',')}}`, key],
  );
}

/** Gives the Administrator role exactly these permissions (the whole catalogue). */
export async function setAdministratorPermissions(tx: EntityManager, permissions: readonly string[]): Promise<void> {
  await tx.execute(`update roles set permissions = ? where built_in_key = 'administrator'`, [`{${permissions.join(',')}}`]);
}

/** Creates the built-in user profile `key` unless it exists. */
export async function ensureBuiltInProfile(tx: EntityManager, key: string, profile: { name: string; description: string; startPage: string }): Promise<void> {
  await tx.execute(
    `insert into user_profiles (name, description, start_page, built_in_key) values (?, ?, ?, ?)
         on conflict (built_in_key) where built_in_key is not null do nothing`,
    [profile.name, profile.description, profile.startPage, key],
  );
}

/** Creates the built-in, unlimited Standard licence type unless it exists. */
export async function ensureStandardLicence(tx: EntityManager): Promise<void> {
  await tx.execute(
    `insert into licence_types (name, seats, built_in_key) values ('Standard', null, 'standard')
       on conflict (built_in_key) where built_in_key is not null do nothing`,
  );
}

/** Creates the client settings row with the built-in defaults unless it exists; whether it was created now. */
export async function createClientSettingsIfMissing(tx: EntityManager): Promise<boolean> {
  const created = await one<{ id: number }>(
    tx,
    `insert into client_settings (id, default_profile_id, default_licence_id)
       values (1, (select id from user_profiles where built_in_key = 'self_service'),
                  (select id from licence_types where built_in_key = 'standard'))
       on conflict (id) do nothing returning id`,
  );
  return created !== undefined;
}

/** Makes the built-in Member role the default role of new users. */
export async function setMemberDefaultRole(tx: EntityManager): Promise<void> {
  await tx.execute(
    `insert into client_settings_default_roles (settings_id, role_id)
         select 1, id from roles where built_in_key = 'member'`,
  );
}

/** The id of the built-in `admin` user, if it exists. */
export async function builtInAdminId(tx: EntityManager): Promise<number | undefined> {
  return (await one<{ id: number }>(tx, 'select id from users where built_in'))?.id;
}

/** Creates the built-in admin's contact in Global; returns its id. */
export async function insertAdminContact(tx: EntityManager, globalId: number): Promise<number> {
  const contact = (await one<{ id: number }>(
    tx,
    `insert into contacts (kind, first_name, last_name, full_name, organization_id)
         values ('person', null, 'Administrator', 'Administrator', ?) returning id`,
    [globalId],
  ))!;
  return contact.id;
}

/** Creates the built-in `admin` user with the Administrator profile and the Standard licence; returns its id. */
export async function insertAdminUser(tx: EntityManager, contactId: number, passwordHash: string, mustChangePassword: boolean): Promise<number> {
  const admin = (await one<{ id: number }>(
    tx,
    `insert into users (contact_id, username, password_hash, built_in, must_change_password, password_changed_at,
                            profile_id, licence_id)
         values (?, 'admin', ?, true, ?, now(),
                 (select id from user_profiles where built_in_key = 'administrator'),
                 (select id from licence_types where built_in_key = 'standard'))
         returning id`,
    [contactId, passwordHash, mustChangePassword],
  ))!;
  return admin.id;
}

/** Makes the admin an organization administrator of Global. */
export async function insertAdminMembership(tx: EntityManager, adminId: number, globalId: number): Promise<void> {
  await tx.execute('insert into memberships (user_id, organization_id, is_admin) values (?, ?, true)', [adminId, globalId]);
}

/** The audit entry of the admin's creation (no acting user: the first start did it). */
export async function auditAdminCreated(tx: EntityManager, adminId: number): Promise<void> {
  await tx.execute(
    `insert into audit_events (action, object_type, object_id, object_label, detail)
         values ('user.created', 'user', ?, 'admin', 'built-in administrator created at first start')`,
    [String(adminId)],
  );
}

/** Gives the user the Administrator role unless they hold it. */
export async function grantAdministratorRole(tx: EntityManager, userId: number): Promise<void> {
  await tx.execute(
    `insert into user_roles (user_id, role_id) select ?, id from roles where built_in_key = 'administrator'
       on conflict do nothing`,
    [userId],
  );
}
