import type { EntityManager } from '@mikro-orm/postgresql';
import { findById, listByName } from '../common/names.queries';

/*
 * The licence types' SQL. Each function runs on the entity manager it is given: inside
 * `em.transactional(async (tx) => …)` pass `tx`, so the statement joins the transaction.
 */

export interface LicenceRow {
  id: number;
  name: string;
  seats: number | null;
  built_in_key: string | null;
  used: number;
  user_count: number;
  is_default: boolean;
}

const SELECT_LICENCES = `
  select l.id, l.name, l.seats, l.built_in_key,
         (select count(*) from users u where u.licence_id = l.id and u.enabled)::int as used,
         (select count(*) from users u where u.licence_id = l.id)::int as user_count,
         exists (select 1 from client_settings s where s.default_licence_id = l.id) as is_default
    from licence_types l`;

/** Every licence type by name, with its usage and whether it is the default licence. */
export function listLicences(db: EntityManager): Promise<LicenceRow[]> {
  return listByName(db, SELECT_LICENCES, 'l');
}

/** One licence type with its usage, or null. */
export function findLicence(db: EntityManager, id: number): Promise<LicenceRow | null> {
  return findById(db, SELECT_LICENCES, 'l', id);
}

/** How many enabled users hold the licence (they occupy its seats). */
export async function seatsUsed(db: EntityManager, id: number): Promise<number> {
  const [{ used }]: { used: number }[] = await db.execute('select count(*)::int as used from users where licence_id = ? and enabled', [id]);
  return used;
}

/** The licence type's name and seats, its row locked until the transaction ends; null when it does not exist. */
export async function lockLicenceSeats(tx: EntityManager, id: number): Promise<{ name: string; seats: number | null } | null> {
  const [licence]: { name: string; seats: number | null }[] = await tx.execute('select name, seats from licence_types where id = ? for update', [id]);
  return licence ?? null;
}

/** How many enabled users other than `exceptUserId` hold the licence. */
export async function seatsUsedByOthers(db: EntityManager, id: number, exceptUserId: number | undefined): Promise<number> {
  const [{ used }]: { used: number }[] = await db.execute('select count(*)::int as used from users where licence_id = ? and enabled and id <> ?', [
    id,
    exceptUserId ?? 0,
  ]);
  return used;
}
