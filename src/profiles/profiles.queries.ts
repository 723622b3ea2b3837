import type { EntityManager } from '@mikro-orm/postgresql';
import type { ProfileStartPage } from './user-profile.entity';

/*
 * The user profiles' SQL. Each function runs on the entity manager it is given: inside
 * `em.transactional(async (tx) => …)` pass `tx`, so the statement joins the transaction.
 */

export interface ProfileRow {
  id: number;
  name: string;
  description: string | null;
  start_page: ProfileStartPage;
  built_in_key: string | null;
  user_count: number;
  is_default: boolean;
}

const SELECT_PROFILES = `
  select p.id, p.name, p.description, p.start_page, p.built_in_key,
         (select count(*) from users u where u.profile_id = p.id)::int as user_count,
         exists (select 1 from client_settings s where s.default_profile_id = p.id) as is_default
    from user_profiles p`;

/** Every profile by name, with how many users have it and whether it is the default profile. */
export function listProfiles(db: EntityManager): Promise<ProfileRow[]> {
  return db.execute(`${SELECT_PROFILES} order by lower(p.name), p.id`);
}

/** One profile with its usage, or null. */
export async function findProfile(db: EntityManager, id: number): Promise<ProfileRow | null> {
  const [row]: ProfileRow[] = await db.execute(`${SELECT_PROFILES} where p.id = ?`, [id]);
  return row ?? null;
}

export async function deleteProfile(tx: EntityManager, id: number): Promise<void> {
  await tx.execute('delete from user_profiles where id = ?', [id]);
}
