import type { EntityManager } from '@mikro-orm/postgresql';
import type { SqlCondition } from '../common/search';
import { plainRows } from '../database/plain-query';

/*
 * The organization tree's SQL. Each function runs on the entity manager it is given: inside
 * `em.transactional(async (tx) => …)` pass `tx`, so the statement joins the transaction.
 */

export interface OrganizationRow {
  id: number;
  name: string;
  description: string | null;
  path: string;
  depth: number;
  parentId: number | null;
}

const COLUMNS = 'id, name, description, path, depth, parent_id as "parentId"';

/** The organization with this id, or null. */
export async function findOrganization(db: EntityManager, id: number): Promise<OrganizationRow | null> {
  const rows: OrganizationRow[] = await db.execute(`select ${COLUMNS} from organizations where id = ?`, [id]);
  return rows[0] ?? null;
}

/** A node of the organization tree page: what it shows of each organization. */
export interface TreeRow {
  id: number;
  name: string;
  parentId: number | null;
  memberCount: number;
}

/**
 * An organization's member count: the sum of its rows in `organization_member_counts`, which
 * statement triggers on `memberships` append to (migration 20261204120000), read through its index.
 */
const MEMBER_COUNT = (organization: string) =>
  `(select coalesce(sum(k.delta), 0)::int from organization_member_counts k where k.organization_id = ${organization})`;

/** Up to this many rows of `organization_member_counts` may wait to be folded into one per organization. */
export const FOLDABLE_COUNTS_MAX = 1000;

/**
 * Every organization whose path starts with `pathPrefix`, parents before children and siblings
 * by name, with its member count; and how many rows of the counts table `compactMemberCounts`
 * would fold away (the sums are read in one pass over that table, whatever the subtree).
 */
export async function subtreeWithMemberCounts(db: EntityManager, pathPrefix: string): Promise<{ rows: TreeRow[]; foldableCounts: number }> {
  // One row holding the tree as a JSON array of [id, name, parent id, count] arrays: for 1,000
  // organizations the driver's per-row work (protocol messages, row objects) cost about 4 ms of
  // node's time a page, parsing one JSON value a fraction of that.
  const [row]: { tree: [number, string, number | null, number][]; foldableCounts: number }[] = await db.execute(
    `with counts as (select organization_id, sum(delta)::int as n, count(*)::int as parts from organization_member_counts group by organization_id)
     select coalesce((select json_agg(json_build_array(o.id, o.name, o.parent_id, coalesce(c.n, 0)) order by o.depth, lower(o.name), o.id)
                        from organizations o left join counts c on c.organization_id = o.id
                       where o.path like ?), '[]') as tree,
            (select coalesce(sum(parts) - count(*), 0)::int from counts) as "foldableCounts"`,
    [`${pathPrefix}%`],
  );
  return { rows: row.tree.map(([id, name, parentId, memberCount]) => ({ id, name, parentId, memberCount })), foldableCounts: row.foldableCounts };
}

/**
 * Folds `organization_member_counts` into one row per organization (none for an organization
 * with no members, or one that no longer exists), in one statement: rows appended meanwhile by
 * other transactions are not seen by its delete and stay as they are, so no count changes.
 */
export async function compactMemberCounts(db: EntityManager): Promise<void> {
  await db.execute(
    `with folded as (delete from organization_member_counts returning organization_id, delta)
     insert into organization_member_counts (organization_id, delta)
     select f.organization_id, sum(f.delta) from folded f join organizations o on o.id = f.organization_id
      group by f.organization_id having sum(f.delta) <> 0`,
  );
}

/** An organization with what its page shows besides the members: ancestors, sub-organizations, counts. */
export interface OrganizationPageRow extends OrganizationRow {
  memberCount: number;
  /** Every ancestor, root first. */
  ancestors: { id: number; name: string; path: string }[];
  /** The direct sub-organizations, by name, with their member counts. */
  children: { id: number; name: string; memberCount: number }[];
}

/** The organization page's organization, ancestors, sub-organizations and counts in one statement; null when no such organization. */
export async function findOrganizationPage(db: EntityManager, id: number): Promise<OrganizationPageRow | null> {
  const rows: OrganizationPageRow[] = await db.execute(
    `select o.id, o.name, o.description, o.path, o.depth, o.parent_id as "parentId",
            ${MEMBER_COUNT('o.id')} as "memberCount",
            coalesce((select json_agg(json_build_object('id', a.id, 'name', a.name, 'path', a.path) order by a.depth)
                        from organizations a
                       where a.id = any(string_to_array(trim(both '/' from o.path), '/')::int[]) and a.id <> o.id), '[]') as ancestors,
            coalesce((select json_agg(json_build_object('id', c.id, 'name', c.name,
                                                        'memberCount', ${MEMBER_COUNT('c.id')})
                                      order by lower(c.name), c.id)
                        from organizations c where c.parent_id = o.id), '[]') as children
       from organizations o where o.id = ?`,
    [id],
  );
  return rows[0] ?? null;
}

/** Inserts an organization (the path trigger fills path and depth). */
export async function insertOrganization(db: EntityManager, values: { name: string; description: string | null; parentId: number }): Promise<OrganizationRow> {
  const [created]: OrganizationRow[] = await db.execute(
    `insert into organizations (name, description, parent_id) values (?, ?, ?)
           returning ${COLUMNS}`,
    [values.name, values.description, values.parentId],
  );
  return created;
}

/** Renames, describes and (re)parents an organization; the path trigger moves its subtree. */
export async function updateOrganization(db: EntityManager, id: number, values: { name: string; description: string | null; parentId: number | null }): Promise<OrganizationRow> {
  const [updated]: OrganizationRow[] = await db.execute(
    `update organizations set name = ?, description = ?, parent_id = ?, updated_at = now() where id = ?
           returning ${COLUMNS}`,
    [values.name, values.description, values.parentId, id],
  );
  return updated;
}

/** What the organization still holds: sub-organizations, members, contacts whose home it is. */
export async function organizationContents(db: EntityManager, id: number): Promise<{ children: number; members: number; contacts: number }> {
  const [row]: { children: number; members: number; contacts: number }[] = await db.execute(
    `select (select count(*)::int from organizations where parent_id = ?) as children,
              (select count(*)::int from memberships where organization_id = ?) as members,
              (select count(*)::int from contacts where organization_id = ?) as contacts`,
    [id, id, id],
  );
  return row;
}

/** Locks the organization's row until the transaction ends. */
export async function lockOrganization(tx: EntityManager, id: number): Promise<void> {
  await tx.execute('select id from organizations where id = ? for update', [id]);
}

export async function deleteOrganization(tx: EntityManager, id: number): Promise<void> {
  await tx.execute('delete from organizations where id = ?', [id]);
}

/** The users with these ids that also match `condition`, and whether each is already a member. */
export function usersWithMembership(
  db: EntityManager,
  organizationId: number,
  userIds: number[],
  condition: { sql: string; params: unknown[] },
): Promise<{ id: number; username: string; member: boolean }[]> {
  return db.execute(
    `select u.id, u.username, exists (select 1 from memberships x where x.user_id = u.id and x.organization_id = ?) as member
         from users u where u.id in (${userIds.map(() => '?').join(',')}) and ${condition.sql}`,
    [organizationId, ...userIds, ...condition.params],
  );
}

/** Makes the user a member (nothing when they already are). */
export async function insertMembership(tx: EntityManager, userId: number, organizationId: number): Promise<void> {
  await tx.execute('insert into memberships (user_id, organization_id) values (?, ?) on conflict (user_id, organization_id) do nothing', [userId, organizationId]);
}

export interface MembershipFacts {
  username: string;
  isAdmin: boolean;
  /** The user holds the Administrator role. */
  administrator: boolean;
  /** How many memberships the user has in all. */
  memberships: number;
}

/** The user's membership in the organization, with what a change of it must know; null when none. */
export async function findMembership(db: EntityManager, organizationId: number, userId: number): Promise<MembershipFacts | null> {
  const rows: MembershipFacts[] = await db.execute(
    `select u.username, m.is_admin as "isAdmin",
              exists (select 1 from user_roles ur join roles r on r.id = ur.role_id
                       where ur.user_id = u.id and r.built_in_key = 'administrator') as administrator,
              (select count(*)::int from memberships a where a.user_id = u.id) as memberships
         from memberships m join users u on u.id = m.user_id
        where m.organization_id = ? and m.user_id = ?`,
    [organizationId, userId],
  );
  return rows[0] ?? null;
}

export async function deleteMembership(tx: EntityManager, organizationId: number, userId: number): Promise<void> {
  await tx.execute('delete from memberships where organization_id = ? and user_id = ?', [organizationId, userId]);
}

/** Makes the member an organization administrator of it, or not. */
export async function setMembershipAdmin(tx: EntityManager, organizationId: number, userId: number, isAdmin: boolean): Promise<void> {
  await tx.execute('update memberships set is_admin = ? where organization_id = ? and user_id = ?', [isAdmin, organizationId, userId]);
}

/** Every organization outside the subtree at `path` (where it may be moved), by path. */
export function organizationsOutside(db: EntityManager, path: string): Promise<OrganizationRow[]> {
  return db.execute(
    `select ${COLUMNS} from organizations
        where path not like ? order by path`,
    [`${path}%`],
  );
}

/**
 * One keyset page of an organization's members (`where` over m and u: the organization, search
 * and cursor), by username. Name and e-mail are the users' own copies of their contacts' (kept
 * by the database), so the page reads no contacts.
 */
export function memberPage(
  db: EntityManager,
  where: SqlCondition,
  limit: number,
): Promise<{ userId: number; username: string; fullName: string; email: string | null; isAdmin: boolean; enabled: boolean; administrator: boolean }[]> {
  return db.execute(
    `select u.id as "userId", u.username, u.full_name as "fullName", u.email, m.is_admin as "isAdmin", u.enabled,
            exists (select 1 from user_roles ar join roles r on r.id = ar.role_id
                     where ar.user_id = u.id and r.built_in_key = 'administrator') as administrator
       from memberships m join users u on u.id = m.user_id
      where ${where.sql}
      order by lower(u.username)
      limit ?`,
    [...where.params, limit],
  );
}

/** One keyset page of the member picker's candidates (`where` over u, c), by username. */
export function candidatePage(db: EntityManager, where: SqlCondition, limit: number): Promise<{ userId: number; username: string; fullName: string; email: string | null }[]> {
  return db.execute(
    `select u.id as "userId", u.username, c.full_name as "fullName", c.email
       from users u join contacts c on c.id = u.contact_id
      where ${where.sql}
      order by lower(u.username)
      limit ?`,
    [...where.params, limit],
  );
}

export interface TreePanelRow {
  id: number;
  name: string;
  parent_id: number | null;
  has_children: boolean;
  /** Organizations in scope. */
  total: number;
  /** The selected organization or one of its ancestors. */
  on_path: boolean;
}

/**
 * The organizations of the tree panel, in one query: the subtree of `rootId` (`null`: the whole
 * tree) when it has at most `fullMax` organizations; beyond, only the branch of `selectedId`
 * (the root, each ancestor's children and the selected organization's children).
 */
export function treePanelRows(em: EntityManager, rootId: number | null, selectedId: number | undefined, fullMax: number): Promise<TreePanelRow[]> {
  return plainRows(
    em,
    `with root as (select id, path from organizations where ${rootId === null ? 'parent_id is null' : 'id = ?'}),
          scope as (select o.id, o.name, o.parent_id, o.path from root, organizations o where o.path like root.path || '%'),
          size as (select count(*)::int as n from scope),
          -- The selected organization and its ancestors (its path lists their ids), within the scope.
          branch as (select coalesce((select string_to_array(trim(both '/' from s.path), '/')::int[] from scope s where s.id = ?), '{}'::int[]) as ids)
     select s.id, s.name, s.parent_id, size.n as total,
            exists (select 1 from organizations k where k.parent_id = s.id) as has_children,
            s.id = any(branch.ids) as on_path
       from scope s, size, root, branch
      where size.n <= ?
         or s.id = root.id
         or s.parent_id = any(branch.ids || root.id)`,
    [...(rootId === null ? [] : [rootId]), selectedId ?? null, fullMax],
  );
}
