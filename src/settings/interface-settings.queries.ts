import type { EntityManager } from '@mikro-orm/postgresql';

/*
 * The SQL of Settings → Interface (the single client_settings row, id 1, and its default roles).
 * Each function runs on the entity manager it is given: inside `em.transactional(async (tx) => …)`
 * pass `tx`, so the statement joins the transaction.
 */

export interface Named {
  id: number;
  name: string;
}

/** Every role by name, with its built-in key (the page warns about Administrator as a default). */
export function rolesByName(db: EntityManager): Promise<(Named & { builtInKey: string | null })[]> {
  return db.execute('select id, name, built_in_key as "builtInKey" from roles order by lower(name)');
}

/** Every user profile by name. */
export function profilesByName(db: EntityManager): Promise<Named[]> {
  return db.execute('select id, name from user_profiles order by lower(name)');
}

/** Every licence type by name. */
export function licencesByName(db: EntityManager): Promise<Named[]> {
  return db.execute('select id, name from licence_types order by lower(name)');
}

/** The roles with these ids that exist, by name. */
export function rolesWithIds(db: EntityManager, ids: number[]): Promise<(Named & { permissions: string[]; builtInKey: string | null })[]> {
  return db.execute('select id, name, permissions, built_in_key as "builtInKey" from roles where id in (?) order by lower(name)', [ids]);
}

/** The name of the profile or licence type with this id, or null when there is none. */
export async function nameOf(db: EntityManager, table: 'user_profiles' | 'licence_types', id: number): Promise<string | null> {
  const [row]: { name: string }[] = await db.execute(`select name from ${table} where id = ?`, [id]);
  return row ? row.name : null;
}

/** The saved username format and defaults of new users. */
export async function interfaceSettings(db: EntityManager): Promise<{ usernameFormat: string; defaultRoleIds: number[]; defaultProfileId: number | null; defaultLicenceId: number | null }> {
  const [row]: { username_format: string; default_profile_id: number | null; default_licence_id: number | null }[] = await db.execute(
    'select username_format, default_profile_id, default_licence_id from client_settings where id = 1',
  );
  const roles: { role_id: number }[] = await db.execute('select role_id from client_settings_default_roles where settings_id = 1');
  return {
    usernameFormat: row.username_format,
    defaultRoleIds: roles.map((r) => r.role_id),
    defaultProfileId: row.default_profile_id,
    defaultLicenceId: row.default_licence_id,
  };
}

/** The settings as the audit log shows them: names, not ids. */
export async function interfaceSettingsByName(tx: EntityManager): Promise<{ format: string; profile: string | null; licence: string | null; roles: string[] }> {
  const [row]: { format: string; profile: string | null; licence: string | null; roles: string[] }[] = await tx.execute(
    `select s.username_format as format, p.name as profile, l.name as licence,
              array(select r.name from client_settings_default_roles dr join roles r on r.id = dr.role_id where dr.settings_id = s.id order by lower(r.name)) as roles
         from client_settings s left join user_profiles p on p.id = s.default_profile_id left join licence_types l on l.id = s.default_licence_id
        where s.id = 1`,
  );
  return row;
}

/** Saves the username format and the default profile and licence. */
export async function saveInterfaceSettings(tx: EntityManager, values: { usernameFormat: string; defaultProfileId: number | null; defaultLicenceId: number | null }): Promise<void> {
  await tx.execute('update client_settings set username_format = ?, default_profile_id = ?, default_licence_id = ?, updated_at = now() where id = 1', [
    values.usernameFormat,
    values.defaultProfileId,
    values.defaultLicenceId,
  ]);
}

/** Replaces the default roles with the existing roles among `roleIds`. */
export async function replaceDefaultRoles(tx: EntityManager, roleIds: number[]): Promise<void> {
  await tx.execute('delete from client_settings_default_roles where settings_id = 1');
  if (roleIds.length) await tx.execute('insert into client_settings_default_roles (settings_id, role_id) select 1, id from roles where id in (?)', [roleIds]);
}
