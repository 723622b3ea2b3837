import type { EntityManager } from '@mikro-orm/postgresql';
import { ValidationError } from './errors';

/**
 * Refuses `name` when another row of `table` (other than `exceptId`) already has it,
 * case-insensitively, as a message on the form's `name` field. The table's unique index on
 * `lower(name)` backs this check against races; map its violation with `uniqueViolation()`.
 */
export async function assertNameFree(em: EntityManager, table: 'roles' | 'user_profiles' | 'licence_types', name: string, exceptId: number | null, message: string): Promise<void> {
  const taken = await em.execute(`select 1 from ${table} where lower(name) = lower(?) and id <> ? limit 1`, [name, exceptId ?? 0]);
  if (taken.length > 0) throw ValidationError.single('name', message);
}
