import type { EntityManager } from '@mikro-orm/postgresql';

/** Tables of named settings objects, each with a unique index on `lower(name)`. */
export type NamedTable = 'roles' | 'user_profiles' | 'licence_types' | 'departments' | 'custom_properties';

/** Whether a row of `table` other than `exceptId` already has `name`, in any letter case. */
export async function isNameTaken(db: EntityManager, table: NamedTable, name: string, exceptId: number | null): Promise<boolean> {
  const taken = await db.execute(`select 1 from ${table} where lower(name) = lower(?) and id <> ? limit 1`, [name, exceptId ?? 0]);
  return taken.length > 0;
}

/** The settings objects that users hold and that new users may get by default. */
export type HeldObject = 'role' | 'profile' | 'licence';

// One statement per kind: the users holding it (enabled or not), and whether new users get it by default.
const USAGE_SQL: Record<HeldObject, string> = {
  role: `select (select count(*) from user_roles where role_id = ?)::int as user_count,
              exists (select 1 from client_settings_default_roles where role_id = ?) as is_default`,
  profile: `select (select count(*) from users where profile_id = ?)::int as user_count,
                  exists (select 1 from client_settings where default_profile_id = ?) as is_default`,
  licence: `select (select count(*) from users where licence_id = ?)::int as user_count,
                  exists (select 1 from client_settings where default_licence_id = ?) as is_default`,
};

/** How many users hold the role, profile or licence type, and whether it is a default of new users. */
export async function usageOf(db: EntityManager, kind: HeldObject, id: number): Promise<{ user_count: number; is_default: boolean }> {
  const [usage]: { user_count: number; is_default: boolean }[] = await db.execute(USAGE_SQL[kind], [id, id]);
  return usage;
}

/** The rows of a `select … from <table> <alias>` of named settings, by name in any letter case, then id. */
export function listByName<R>(db: EntityManager, select: string, alias: string): Promise<R[]> {
  return db.execute(`${select} order by lower(${alias}.name), ${alias}.id`);
}

/** The row of that `select` with this id, or null. */
export async function findById<R>(db: EntityManager, select: string, alias: string, id: number): Promise<R | null> {
  const [row]: R[] = await db.execute(`${select} where ${alias}.id = ?`, [id]);
  return row ?? null;
}
