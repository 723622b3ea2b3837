import type { EntityManager } from '@mikro-orm/postgresql';
import { ValidationError } from './errors';
import { isNameTaken } from './names.queries';

/**
 * Refuses `name` when another row of `table` (other than `exceptId`) already has it,
 * case-insensitively, as a message on the form's `name` field. The table's unique index on
 * `lower(name)` backs this check against races; map its violation with `uniqueViolation()`.
 */
export async function assertNameFree(em: EntityManager, table: 'roles' | 'user_profiles' | 'licence_types', name: string, exceptId: number | null, message: string): Promise<void> {
  if (await isNameTaken(em, table, name, exceptId)) throw ValidationError.single('name', message);
}
