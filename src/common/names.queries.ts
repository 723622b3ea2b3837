import type { EntityManager } from '@mikro-orm/postgresql';

/** Tables of named settings objects, each with a unique index on `lower(name)`. */
export type NamedTable = 'roles' | 'user_profiles' | 'licence_types' | 'departments' | 'custom_properties';

/** Whether a row of `table` other than `exceptId` already has `name`, in any letter case. */
export async function isNameTaken(db: EntityManager, table: NamedTable, name: string, exceptId: number | null): Promise<boolean> {
  const taken = await db.execute(`select 1 from ${table} where lower(name) = lower(?) and id <> ? limit 1`, [name, exceptId ?? 0]);
  return taken.length > 0;
}
