import type { EntityManager } from '@mikro-orm/postgresql';

/*
 * The roles page's SQL. Each function runs on the entity manager it is given: inside
 * `em.transactional(async (tx) => …)` pass `tx`, so the statement joins the transaction.
 */

export interface RoleListRow {
  id: number;
  name: string;
  description: string | null;
  built_in_key: string | null;
  permission_count: number;
  user_count: number;
  is_default: boolean;
}

/** Every role by name, with its permission count, how many users hold it and whether it is a default role. */
export function listRoles(db: EntityManager): Promise<RoleListRow[]> {
  return db.execute(
    `select r.id, r.name, r.description, r.built_in_key,
                coalesce(cardinality(r.permissions), 0)::int as permission_count,
                (select count(*) from user_roles ur where ur.role_id = r.id)::int as user_count,
                exists (select 1 from client_settings_default_roles d where d.role_id = r.id) as is_default
           from roles r
          order by lower(r.name), r.id`,
  );
}

/** Whether the user holds the role. */
export async function holdsRole(db: EntityManager, userId: number, roleId: number): Promise<boolean> {
  const held = await db.execute('select 1 from user_roles where user_id = ? and role_id = ?', [userId, roleId]);
  return held.length > 0;
}
