import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AccessService } from '../access/access.service';
import type { Actor } from '../access/actor';
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
  size: number;
}

export interface UserListPage {
  rows: UserListRow[];
  next: string | null;
  /** Matching users, counted up to `COUNT_CAP` (then shown as "10,000+"). */
  total: number;
  totalCapped: boolean;
}

/** Beyond this many matches the list says "10,000+" instead of counting further. */
export const COUNT_CAP = 10_000;

/** Most users one bulk action takes. */
export const BULK_MAX = 1000;

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
    const filter = await this.filterConditions(actor, query);
    const spec = SORTS[query.sort];
    const op = query.direction === 'desc' ? '<' : '>';
    const cursor = decodeCursor(query.after, spec);
    const seek: SqlCondition[] = cursor
      ? [{ sql: `(${spec.keys.join(', ')}) ${op} (${spec.casts.map((c) => `?::${c}`).join(', ')})`, params: cursor }]
      : [];
    const where = allOf([...filter, ...seek]);
    const order = spec.keys.map((k) => `${k} ${query.direction}`).join(', ');
    const scopePath = actor.isAdministrator ? '/' : actor.currentOrganization.path;
    const rows: (UserListRow & { k1: string; k2: number | null })[] = await this.em.getConnection().execute(
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
    const visible = rows.slice(0, query.size);
    const last = visible[visible.length - 1];
    const next = rows.length > query.size ? encodeCursor(spec.keys.length === 1 ? [last.k1] : [last.k1, last.k2!]) : null;

    const all = allOf(filter);
    const [{ n }]: { n: number }[] = await this.em.getConnection().execute(
      // Every filter condition is over `u` alone; the LIMIT bounds the work at any size.
      `select count(*)::int as n from (select 1 from users u where ${all.sql} limit ${COUNT_CAP + 1}) x`,
      all.params,
    );
    return {
      rows: visible.map(({ k1: _k1, k2: _k2, ...row }) => row),
      next,
      total: Math.min(n, COUNT_CAP),
      totalCapped: n > COUNT_CAP,
    };
  }

  /** Scope, search and filters as SQL over `users u join contacts c`. */
  private async filterConditions(actor: Actor, f: UserListFilter): Promise<SqlCondition[]> {
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

  /** The choices of the filter pull-downs: organizations in scope (tree order), roles, licences, properties. */
  async filterOptions(actor: Actor) {
    if (!canListUsers(actor)) throw new ForbiddenError();
    const scope = this.access.organizationsInScopeCondition(actor, 'o');
    const base = actor.isAdministrator ? 0 : actor.currentOrganization.path.split('/').length - 3;
    // One round trip, each list aggregated as JSON: the Administrator's pull-down alone has up to
    // 2,000 organizations, and this runs on every users-list page.
    const [options]: {
      organizations: { id: number; name: string; depth: number }[];
      roles: { id: number; name: string }[];
      licences: { id: number; name: string }[];
      properties: { id: number; name: string }[];
    }[] = await this.em.execute(
      `select
         (select coalesce(json_agg(json_build_object('id', s.id, 'name', s.name, 'depth', s.depth) order by s.path), '[]')
            from (select o.id, o.name, o.depth, o.path from organizations o where ${scope.sql} order by o.path limit 2000) s) as organizations,
         (select coalesce(json_agg(json_build_object('id', r.id, 'name', r.name) order by lower(r.name), r.id), '[]') from roles r) as roles,
         (select coalesce(json_agg(json_build_object('id', l.id, 'name', l.name) order by lower(l.name), l.id), '[]') from licence_types l) as licences,
         (select coalesce(json_agg(json_build_object('id', p.id, 'name', p.name) order by lower(p.name), p.id), '[]') from custom_properties p) as properties`,
      scope.params,
    );
    const { organizations, roles, licences, properties } = options;
    return {
      organizations: organizations.map((o) => ({ id: o.id, name: o.name, indent: '\u2003'.repeat(Math.max(0, o.depth - base)) })),
      roles,
      licences,
      properties,
    };
  }

  /**
   * Enables or disables the selected users, each checked on its own: users the session may not
   * see or manage, the built-in admin, the acting user and (when enabling) users whose licence is
   * full are skipped with the reason. Disabling ends the user's sessions. One transaction.
   */
  async setEnabledBulk(actor: Actor, ids: number[], enabled: boolean): Promise<BulkResult> {
    if (!allows(actor, 'manage_users')) throw new ForbiddenError();
    const unique = [...new Set(ids)].sort((a, b) => a - b);
    if (unique.length === 0) throw ValidationError.form('Select at least one user.');
    if (unique.length > BULK_MAX) throw ValidationError.form(`Select at most ${BULK_MAX.toLocaleString('en-GB')} users at a time.`);
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
