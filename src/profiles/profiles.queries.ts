import type { EntityManager } from '@mikro-orm/postgresql';
import { findById, listByName } from '../common/names.queries';
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
  return listByName(db, SELECT_PROFILES, 'p');
}

/** One profile with its usage, or null. */
export function findProfile(db: EntityManager, id: number): Promise<ProfileRow | null> {
  return findById(db, SELECT_PROFILES, 'p', id);
}
