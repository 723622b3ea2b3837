import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AccessService } from '../access/access.service';
import type { Actor } from '../access/actor';
import type { Permission } from '../access/permissions';
import { allows, canActOnUser, canListUsers, canSeeUser, inScope } from '../access/policy';
import { AuditService } from '../audit/audit.service';
import { ForbiddenError, NotFoundError, ValidationError } from '../common/errors';
import { SqlCondition, allOf, likePattern } from '../common/search';
import { LicenceFullError } from '../licences/licence-seats';
import { applyEnabled, applyUnlock } from './user-status';

export interface UserListRow {
  id: number;
  username: string;
  fullName: string;
  email: string | null;
  /** The user's organizations inside the session's scope (names outside it are not shown). */
  organizations: string[];
  /** How many of the user's organizations lie outside the session's scope. */
  otherOrganizations: number;
  roles: string[];
  licence: string | null;
  enabled: boolean;
  locked: boolean;
  lastLoginAt: Date | null;
  passwordSendAt: Date | null;
  passwordSendStatus: 'pending' | 'sent' | 'failed' | null;
  passwordSendError: string | null;
}

export const USER_SORTS = ['username', 'name', 'lastLogin'] as const;
export type UserSort = (typeof USER_SORTS)[number];
export const USER_STATUSES = ['enabled', 'disabled', 'locked'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export interface UserListFilter {
  /** Username, full name or e-mail contains this. */
  q?: string;
  organizationId?: number;
  /** With the organization filter: include its sub-organizations. */
  withSubOrganizations?: boolean;
  roleId?: number;
  status?: UserStatus;
  licenceId?: number;
  propertyId?: number;
  propertyValue?: string;
}

export interface UserListQuery extends UserListFilter {
  sort: UserSort;
  direction: 'asc' | 'desc';
  /** Keyset cursor from the previous page (opaque). */
  after?: string;
  /** Keyset cursor of the first row of the next page: the page before it ("Previous"). */
  before?: string;
  size: number;
}

export interface UserListPage {
  rows: UserListRow[];
  next: string | null;
  /** Cursor for the page before this one; `null` on the first page. */
  previous: string | null;
  /**
   * Matching users: counted exactly up to `COUNT_EXACT_MAX`; beyond, the planner's estimate
   * (`totalCapped`, shown as "about 13,500").
   */
  total: number;
  /** More than `COUNT_EXACT_MAX` users match and `total` is an estimate, not a count. */
  totalCapped: boolean;
  /**
   * With `totalCapped`: the planner expected no more than the count already saw, so all that is
   * known is "more than `total`" (its estimates of subtree scopes can be that far off).
   */
  totalAtLeast: boolean;
}

/**
 * Up to this many organizations in scope the tree panel shows them all; beyond, only the branch
 * of the selected organization (a full tree of 1,000 links is ~150 KB on every page and no
 * longer something to scan by eye).
 */
export const TREE_FULL_MAX = 150;

export interface OrganizationNode {
  id: number;
  name: string;
  selected: boolean;
  /** The selected organization or one of its ancestors. */
  onPath: boolean;
  hasChildren: boolean;
  /** Empty when it has none, or (collapsed tree) when they are not shown. */
  children: OrganizationNode[];
}

export interface OrganizationTree {
  roots: OrganizationNode[];
  /** Organizations in scope. */
  total: number;
  /** Only the selected branch is shown. */
  collapsed: boolean;
  selected: OrganizationNode | null;
}

/**
 * Up to this many matches the list counts them; beyond, it shows PostgreSQL's estimate. The
 * count runs on every page: a capped count of 10,000 visited up to 10,001 index entries (and, for
 * an organization administrator, a subtree check for each), tens of milliseconds on every click,
 * while a person needs "about 13,500", not the exact figure. Small results (the ones people act
 * on as a whole) stay exact.
 */
export const COUNT_EXACT_MAX = 1000;

/** Most users one bulk action takes. */
export const BULK_MAX = 1000;

/**
 * Most users "all users matching this filter" takes. Each user is checked and changed on its own
 * (the page-wise rules), a few statements each, all in one transaction that holds its row locks
 * until the end: measured ~45 ms a user on a busy 2-core machine, so 5,000 users stay within a
 * few minutes. Beyond it the person narrows the filter.
 */
export const MATCHING_MAX = 5000;

export interface BulkResult {
  changed: string[];
  skipped: string[];
}

/**
 * One sort order of the list: the key expressions (each backed by an index, in this order) and
 * how the cursor's values are cast back. The last key is unique, so rows never repeat or vanish.
 */
interface SortSpec {
  keys: string[];
  casts: string[];
}

const SORTS: Record<UserSort, SortSpec> = {
  // users_username_unique on lower(username)
  username: { keys: ['lower(u.username)'], casts: ['text'] },
  // contacts_full_name_idx on (lower(full_name), id)
  name: { keys: ['lower(c.full_name)', 'c.id'], casts: ['text', 'int'] },
  // users_last_login_sort_idx on (coalesce(last_login_at, '-infinity'), id)
  lastLogin: { keys: [`coalesce(u.last_login_at, '-infinity'::timestamptz)`, 'u.id'], casts: ['timestamptz', 'int'] },
};

export function encodeCursor(values: (string | number)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, spec: { casts: string[] }): (string | number)[] | null {
  if (!cursor) return null;
  try {
    const values: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(values) || values.length !== spec.casts.length) return null;
    const ok = values.every((v, i) => (spec.casts[i] === 'int' ? Number.isInteger(v) && Math.abs(v as number) <= 2147483647 : typeof v === 'string' && v.length <= 300));
    if (!ok) return null;
    if (spec.casts.includes('timestamptz') && !/^-?infinity$|^\d{4}-\d\d-\d\d[ T][\d:.]+([+-]\d\d(:?\d\d)?|Z)?$/.test(String(values[0]))) return null;
    return values as (string | number)[];
  } catch {
    return null;
  }
}

/**
 * The users list (SPEC §4): only the users the session may see (SPEC §3), with search, filters,
 * three sort orders and keyset paging that costs the same on page 1 and page 2,000; and the bulk
 * actions Enable / Disable with a per-user check.
 */
@Injectable()
export class UsersService {
  constructor(
    private readonly em: EntityManager,
    private readonly access: AccessService,
    private readonly audit: AuditService,
  ) {}

  async list(actor: Actor, query: UserListQuery): Promise<UserListPage> {
    if (!canListUsers(actor)) throw new ForbiddenError();
    const filter = await this.conditions(actor, query);
    const spec = SORTS[query.sort];
    // "Previous" seeks backwards from the first row of the page after it: the opposite
    // comparison and order on the same index, then the rows turned round.
    const before = decodeCursor(query.before, spec);
    const cursor = before ?? decodeCursor(query.after, spec);
    const backwards = before !== null;
    const ascending = (query.direction === 'asc') !== backwards;
    const seek: SqlCondition[] = cursor
      ? [{ sql: `(${spec.keys.join(', ')}) ${ascending ? '>' : '<'} (${spec.casts.map((c) => `?::${c}`).join(', ')})`, params: cursor }]
      : [];
    const where = allOf([...filter, ...seek]);
    const order = spec.keys.map((k) => `${k} ${ascending ? 'asc' : 'desc'}`).join(', ');
    const scopePath = actor.isAdministrator ? '/' : actor.currentOrganization.path;
    const rows: (UserListRow & { k1: string; k2: number | null })[] = await this.em.execute(
      `select u.id, u.username, c.full_name as "fullName", c.email, u.enabled,
              coalesce(u.locked_until > now(), false) as locked, u.last_login_at as "lastLoginAt",
              u.password_send_at as "passwordSendAt", u.password_send_status as "passwordSendStatus", u.password_send_error as "passwordSendError",
              (select l.name from licence_types l where l.id = u.licence_id) as licence,
              array(select o.name from memberships m join organizations o on o.id = m.organization_id
                     where m.user_id = u.id and o.path like ? order by o.path) as organizations,
              (select count(*)::int from memberships m join organizations o on o.id = m.organization_id
                where m.user_id = u.id and o.path not like ?) as "otherOrganizations",
              array(select r.name from user_roles ur join roles r on r.id = ur.role_id
                     where ur.user_id = u.id order by r.name) as roles,
              (${spec.keys[0]})::text as k1, ${spec.keys[1] ?? 'null'} as k2
         from users u join contacts c on c.id = u.contact_id
        where ${where.sql}
        order by ${order}
        limit ?`,
      [`${scopePath}%`, `${scopePath}%`, ...where.params, query.size + 1],
    );
    const more = rows.length > query.size;
    const visible = rows.slice(0, query.size);
    if (backwards) visible.reverse();
    const keyOf = (row: { k1: string; k2: number | null }) => encodeCursor(spec.keys.length === 1 ? [row.k1] : [row.k1, row.k2!]);
    const first = visible[0];
    const last = visible[visible.length - 1];
    // Backwards, the page we came from follows; forwards from a cursor, the page we came from precedes.
    const next = last && (backwards || more) ? keyOf(last) : null;
    const previous = first && (backwards ? more : cursor !== null) ? keyOf(first) : null;

    const { total, estimated, atLeast } = await this.count(allOf(filter));
    return {
      rows: visible.map(({ k1: _k1, k2: _k2, ...row }) => row),
      next,
      previous,
      total,
      totalCapped: estimated,
      totalAtLeast: atLeast,
    };
  }

  /**
   * How many users `where` selects: exact up to `COUNT_EXACT_MAX`, otherwise the planner's row
   * estimate (it reads statistics, not rows), rounded to three significant digits; when the
   * estimate is not above what the count already saw, "more than `COUNT_EXACT_MAX`".
   */
  private async count(where: SqlCondition): Promise<{ total: number; estimated: boolean; atLeast: boolean }> {
    const [{ n }]: { n: number }[] = await this.em.execute(
      // Every filter condition is over `u` alone; the LIMIT bounds the work at any size.
      `select count(*)::int as n from (select 1 from users u where ${where.sql} limit ${COUNT_EXACT_MAX + 1}) x`,
      where.params,
    );
    if (n <= COUNT_EXACT_MAX) return { total: n, estimated: false, atLeast: false };
    const [plan]: { 'QUERY PLAN': { Plan: { 'Plan Rows': number } }[] }[] = await this.em.execute(
      `explain (format json) select 1 from users u where ${where.sql}`,
      where.params,
    );
    const estimate = roundTo3(Math.round(plan['QUERY PLAN'][0].Plan['Plan Rows']));
    return estimate > COUNT_EXACT_MAX ? { total: estimate, estimated: true, atLeast: false } : { total: COUNT_EXACT_MAX, estimated: true, atLeast: true };
  }

  /**
   * The users the list shows for `filter` (scope, search and filters) as one SQL condition over
   * `users u`: the export and "all users matching this filter" select with it, so they cannot
   * drift from the list. An organization outside the scope is not found (404), as for the list.
   */
  async matchingCondition(actor: Actor, filter: UserListFilter): Promise<SqlCondition> {
    if (!canListUsers(actor) && !allows(actor, 'import_export_users')) throw new ForbiddenError();
    return allOf(await this.conditions(actor, filter));
  }

  /** Scope, search and filters as SQL over `users u` alone (every condition reads only `u`). */
  private async conditions(actor: Actor, f: UserListFilter): Promise<SqlCondition[]> {
    const conditions: SqlCondition[] = [this.access.visibleUsersCondition(actor, 'u')];
    if (f.q) {
      // users.full_name and users.email are the contact's, kept in step by the database: three
      // trigram indexes of `users` alone (a bitmap OR), for searches matching one user or thousands.
      const like = likePattern(f.q);
      conditions.push({ sql: '(u.username ilike ? or u.full_name ilike ? or u.email ilike ?)', params: [like, like, like] });
    }
    if (f.organizationId !== undefined) {
      const [org]: { path: string }[] = await this.em.execute('select path from organizations where id = ?', [f.organizationId]);
      if (!org || !inScope(actor, org.path)) throw new NotFoundError('The organization you filter by does not exist, or you may not see it.');
      conditions.push(
        f.withSubOrganizations
          ? {
              sql: `u.id in (select fm.user_id from memberships fm join organizations fo on fo.id = fm.organization_id where fo.path like ?)`,
              params: [`${org.path}%`],
            }
          : { sql: 'u.id in (select fm.user_id from memberships fm where fm.organization_id = ?)', params: [f.organizationId] },
      );
    }
    if (f.roleId !== undefined) conditions.push({ sql: 'u.id in (select fr.user_id from user_roles fr where fr.role_id = ?)', params: [f.roleId] });
    if (f.licenceId !== undefined) conditions.push({ sql: 'u.licence_id = ?', params: [f.licenceId] });
    if (f.status === 'enabled') conditions.push({ sql: 'u.enabled and not coalesce(u.locked_until > now(), false)', params: [] });
    if (f.status === 'disabled') conditions.push({ sql: 'not u.enabled', params: [] });
    if (f.status === 'locked') conditions.push({ sql: 'u.locked_until > now()', params: [] });
    if (f.propertyId !== undefined) {
      conditions.push(
        f.propertyValue
          ? {
              sql: 'u.id in (select fv.user_id from user_property_values fv where fv.property_id = ? and lower(fv.value) = lower(?))',
              params: [f.propertyId, f.propertyValue],
            }
          : { sql: 'u.id in (select fv.user_id from user_property_values fv where fv.property_id = ?)', params: [f.propertyId] },
      );
    }
    return conditions;
  }

  /**
   * "All users matching this filter", before the confirmation: how many users the list's filter
   * selects now (counted up to `MATCHING_MAX + 1`) and the filter in words.
   */
  async matchingSummary(actor: Actor, filter: UserListFilter, permission: Permission): Promise<{ count: number; tooMany: boolean; description: string[] }> {
    if (!allows(actor, permission)) throw new ForbiddenError();
    const where = await this.matchingCondition(actor, filter);
    const [{ n }]: { n: number }[] = await this.em.execute(
      `select count(*)::int as n from (select 1 from users u where ${where.sql} limit ${MATCHING_MAX + 1}) x`,
      where.params,
    );
    return { count: Math.min(n, MATCHING_MAX), tooMany: n > MATCHING_MAX, description: await this.describeFilter(filter) };
  }

  /**
   * Applies a bulk action to every user the list's filter selects, in one transaction: the ids
   * are read in it and `apply` runs in it (its own `em.transactional` nests as a savepoint), so
   * either every user is handled or none. The per-user rules are `apply`'s own, the same as for
   * the ticked users of a page. Refused when the number of matching users is not the one the
   * person confirmed (users were added or changed meanwhile).
   */
  async applyToMatching<R>(actor: Actor, filter: UserListFilter, permission: Permission, confirmed: number, apply: (ids: number[]) => Promise<R>): Promise<R> {
    if (!allows(actor, permission)) throw new ForbiddenError();
    const where = await this.matchingCondition(actor, filter);
    return this.em.transactional(async (tx) => {
      const rows: { id: number }[] = await tx.execute(`select u.id from users u where ${where.sql} order by u.id limit ${MATCHING_MAX + 1}`, where.params);
      if (rows.length > MATCHING_MAX) {
        throw ValidationError.form(`More than ${MATCHING_MAX.toLocaleString('en-GB')} users match this filter: narrow it down, then try again.`);
      }
      if (rows.length === 0) throw ValidationError.form('No users match this filter any more.');
      if (rows.length !== confirmed) {
        throw new MatchingChangedError(confirmed, rows.length);
      }
      return apply(rows.map((r) => r.id));
    });
  }

  /** The filter in words, for the confirmation page ("Status: Locked"). */
  private async describeFilter(f: UserListFilter): Promise<string[]> {
    const [names]: { org: string | null; role: string | null; licence: string | null; prop: string | null }[] = await this.em.execute(
      `select (select name from organizations where id = ?) as org, (select name from roles where id = ?) as role,
              (select name from licence_types where id = ?) as licence, (select name from custom_properties where id = ?) as prop`,
      [f.organizationId ?? null, f.roleId ?? null, f.licenceId ?? null, f.propertyId ?? null],
    );
    const out: string[] = [];
    if (f.q) out.push(`Username, name or e-mail contains “${f.q}”`);
    if (names.org) out.push(`Organization: ${names.org}${f.withSubOrganizations ? ' and its sub-organizations' : ' (its own members)'}`);
    if (names.role) out.push(`Role: ${names.role}`);
    if (f.status) out.push(`Status: ${f.status[0].toUpperCase()}${f.status.slice(1)}`);
    if (names.licence) out.push(`Licence: ${names.licence}`);
    if (names.prop) out.push(`${names.prop}: ${f.propertyValue ? `“${f.propertyValue}”` : 'any value'}`);
    return out;
  }

  /**
   * The organization tree panel of the users list: the session's subtree (all of it for an
   * Administrator), in one query. Up to `TREE_FULL_MAX` organizations the whole tree; beyond,
   * only the branch of `selectedId`: the scope's root, each ancestor's children and the selected
   * organization's children (a few dozen links at 1,000 organizations instead of 1,000, on every
   * list page). Siblings by name. An organization outside the scope selects nothing here (the
   * list itself answers 404 for it).
   */
  async organizationTree(actor: Actor, selectedId: number | undefined): Promise<OrganizationTree> {
    if (!canListUsers(actor)) throw new ForbiddenError();
    const rows: { id: number; name: string; parent_id: number | null; has_children: boolean; total: number; on_path: boolean }[] = await this.em.execute(
      `with root as (select id, path from organizations where ${actor.isAdministrator ? 'parent_id is null' : 'id = ?'}),
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
      [...(actor.isAdministrator ? [] : [actor.currentOrganization.organizationId]), selectedId ?? null, TREE_FULL_MAX],
    );
    const total = rows[0]?.total ?? 0;
    const collapsed = total > TREE_FULL_MAX;
    const byId = new Map<number, OrganizationNode>();
    for (const r of rows) byId.set(r.id, { id: r.id, name: r.name, selected: r.id === selectedId, onPath: r.on_path, hasChildren: r.has_children, children: [] });
    const roots: OrganizationNode[] = [];
    for (const r of rows) {
      const parent = r.parent_id === null ? undefined : byId.get(r.parent_id);
      (parent ? parent.children : roots).push(byId.get(r.id)!);
    }
    const byName = (a: OrganizationNode, b: OrganizationNode) => a.name.localeCompare(b.name, 'en', { sensitivity: 'base' }) || a.id - b.id;
    for (const node of byId.values()) node.children.sort(byName);
    roots.sort(byName);
    return { roots, total, collapsed, selected: selectedId === undefined ? null : (byId.get(selectedId) ?? null) };
  }

  /** The choices of the filter pull-downs: roles, licences, properties (organizations: the tree panel). */
  async filterOptions(actor: Actor) {
    if (!canListUsers(actor)) throw new ForbiddenError();
    // One round trip, each list aggregated as JSON: this runs on every users-list page.
    const [options]: {
      roles: { id: number; name: string }[];
      licences: { id: number; name: string }[];
      properties: { id: number; name: string }[];
    }[] = await this.em.execute(
      `select
         (select coalesce(json_agg(json_build_object('id', r.id, 'name', r.name) order by lower(r.name), r.id), '[]') from roles r) as roles,
         (select coalesce(json_agg(json_build_object('id', l.id, 'name', l.name) order by lower(l.name), l.id), '[]') from licence_types l) as licences,
         (select coalesce(json_agg(json_build_object('id', p.id, 'name', p.name) order by lower(p.name), p.id), '[]') from custom_properties p) as properties`,
    );
    return options;
  }

  /**
   * Enables or disables the selected users, each checked on its own: users the session may not
   * see or manage, the built-in admin, the acting user and (when enabling) users whose licence is
   * full are skipped with the reason. Disabling ends the user's sessions. One transaction.
   */
  async setEnabledBulk(actor: Actor, ids: number[], enabled: boolean, max = BULK_MAX): Promise<BulkResult> {
    if (!allows(actor, 'manage_users')) throw new ForbiddenError();
    const unique = [...new Set(ids)].sort((a, b) => a - b);
    if (unique.length === 0) throw ValidationError.form('Select at least one user.');
    if (unique.length > max) throw ValidationError.form(`Select at most ${max.toLocaleString('en-GB')} users at a time.`);
    return this.em.transactional(async (tx) => {
      const result: BulkResult = { changed: [], skipped: [] };
      for (const id of unique) {
        const target = await this.access.userTarget(id);
        const [user]: { username: string; enabled: boolean; built_in: boolean; licence_id: number | null }[] = target
          ? await tx.execute('select username, enabled, built_in, licence_id from users where id = ? for update', [id])
          : [];
        if (!target || !user || !canSeeUser(actor, target)) {
          result.skipped.push(`User #${id}: not found, or outside your organization.`);
          continue;
        }
        const reason = refusal(actor, id, user, target, enabled);
        if (reason) {
          result.skipped.push(`${user.username}: ${reason}`);
          continue;
        }
        if (user.enabled === enabled) {
          result.skipped.push(`${user.username}: already ${enabled ? 'enabled' : 'disabled'}.`);
          continue;
        }
        try {
          await applyEnabled(tx, this.audit, actor, { id, username: user.username, licenceId: user.licence_id }, enabled);
        } catch (error) {
          if (!(error instanceof LicenceFullError)) throw error;
          result.skipped.push(`${user.username}: ${error.message}`);
          continue;
        }
        result.changed.push(user.username);
      }
      return result;
    });
  }

  /** Bulk **Unlock**: ends the lock-out of every selected user the session may act on. */
  async unlockBulk(actor: Actor, ids: number[]): Promise<BulkResult> {
    if (!allows(actor, 'manage_users')) throw new ForbiddenError();
    const unique = [...new Set(ids)].sort((a, b) => a - b);
    if (unique.length === 0) throw ValidationError.form('Select at least one user.');
    if (unique.length > BULK_MAX) throw ValidationError.form(`Select at most ${BULK_MAX.toLocaleString('en-GB')} users at a time.`);
    return this.em.transactional(async (tx) => {
      const result: BulkResult = { changed: [], skipped: [] };
      for (const id of unique) {
        const target = await this.access.userTarget(id);
        const [user]: { username: string; locked: boolean }[] = target
          ? await tx.execute('select username, coalesce(locked_until > now(), false) as locked from users where id = ? for update', [id])
          : [];
        if (!target || !user || !canSeeUser(actor, target)) {
          result.skipped.push(`User #${id}: not found, or outside your organization.`);
          continue;
        }
        if (!canActOnUser(actor, target)) {
          result.skipped.push(`${user.username}: you may not manage this user.`);
          continue;
        }
        if (!user.locked) {
          result.skipped.push(`${user.username}: not locked.`);
          continue;
        }
        await applyUnlock(tx, this.audit, actor, { id, username: user.username });
        result.changed.push(user.username);
      }
      return result;
    });
  }
}

/** 13,487 → 13,500; 1,004 → 1,000: an estimate shown with the precision it has. */
function roundTo3(n: number): number {
  const unit = 10 ** Math.max(0, Math.floor(Math.log10(n)) - 2);
  return Math.round(n / unit) * unit;
}

/** The users matching a filter changed between the confirmation and the action. */
export class MatchingChangedError extends ValidationError {
  constructor(
    readonly confirmed: number,
    readonly now: number,
  ) {
    super({}, `${now.toLocaleString('en-GB')} users match this filter now, not ${confirmed.toLocaleString('en-GB')} as when you confirmed. Nothing was changed: check the list and confirm again.`);
  }
}

/** Why the session may not enable / disable this user, or `null`. */
export function refusal(
  actor: Actor,
  id: number,
  user: { built_in: boolean },
  target: { membershipPaths: string[]; hasAdministratorRole: boolean },
  enabling: boolean,
): string | null {
  if (!canActOnUser(actor, target)) return 'you may not manage this user.';
  if (!enabling && user.built_in) return 'the built-in admin cannot be disabled.';
  if (!enabling && id === actor.userId) return 'you cannot disable yourself.';
  return null;
}
