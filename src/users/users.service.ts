import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AccessService } from '../access/access.service';
import type { Actor } from '../access/actor';
import type { Permission } from '../access/permissions';
import { allows, canActOnUser, canListUsers, canSeeUser, inScope } from '../access/policy';
import { AuditService } from '../audit/audit.service';
import { ForbiddenError, NotFoundError, ValidationError } from '../common/errors';
import { SortKey, decodeCursor, encodeCursor, keysetPage, seekCondition, splitKeys } from '../common/pagination';
import { SqlCondition, allOf, likePattern } from '../common/search';
import { VersionedCache } from '../common/versioned-cache';
import { LicenceFullError } from '../licences/licence-seats';
import { OrganizationTree, OrganizationTreePanel } from '../organizations/organization-tree-panel';
import { LOCAL_PROVIDER } from './user.entity';
import { applyEnabled, applyUnlock } from './user-status';
import {
  amongMatches,
  countListedUsers,
  estimatedListedUsers,
  ListedUserMatch,
  UserListDbRow,
  listedUserMatches,
  countMatchingUsers,
  FilterChoices,
  filterChoices,
  filterNames,
  lockUserStatus,
  matchingUserIds,
  organizationPath,
  userListRows,
} from './users.queries';

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
  /** How the users sign in: `local` (a Tessera password) or an identity provider's key. */
  provider?: string;
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
 * Up to this many matches the list counts them; beyond, it shows PostgreSQL's estimate. The
 * count runs on every page: a capped count of 10,000 visited up to 10,001 index entries (and, for
 * an organization administrator, a subtree check for each), tens of milliseconds on every click,
 * while a person needs "about 13,500", not the exact figure. Small results (the ones people act
 * on as a whole) stay exact.
 */
export const COUNT_EXACT_MAX = 1000;

/**
 * How long the list keeps, per condition, what only an estimate shows anyway: that more than
 * `COUNT_EXACT_MAX` users match, and the planner's estimate of how many. Paging through "About
 * 13,500 users" would otherwise count to 1,001 on every page (for an organization administrator a
 * scope check for each of those users: most of the page's database time). An exact count is
 * never kept, so a change below the threshold shows on the next page.
 */
export const ESTIMATE_KEEP_MS = 10_000;

/** The key under which the list keeps what it learnt about a condition. */
function conditionKey(where: SqlCondition): string {
  return JSON.stringify([where.sql, where.params]);
}

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
 * The key expressions of each sort order, each backed by an index in this order. The last key is
 * unique, so rows never repeat or vanish between pages.
 */
const SORTS: Record<UserSort, SortKey[]> = {
  // users_username_unique on lower(username)
  username: [{ sql: 'lower(u.username)', type: 'string' }],
  // contacts_full_name_idx on (lower(full_name), id)
  name: [
    { sql: 'lower(c.full_name)', type: 'string' },
    { sql: 'c.id', type: 'number' },
  ],
  // users_last_login_sort_idx on (coalesce(last_login_at, '-infinity'), id)
  lastLogin: [
    { sql: `coalesce(u.last_login_at, '-infinity'::timestamptz)`, type: 'timestamp' },
    { sql: 'u.id', type: 'number' },
  ],
};

/**
 * The users list (SPEC §4): only the users the session may see (SPEC §3), with search, filters,
 * three sort orders and keyset paging that costs the same on page 1 and page 2,000; and the bulk
 * actions Enable / Disable with a per-user check.
 */
@Injectable()
export class UsersService {
  /** The filter choices, under `list_choices_version` (see `VersionedCache`). */
  private readonly choices = new VersionedCache<FilterChoices>();
  private readonly estimates = new Map<string, { at: number; value: Promise<number> }>();

  constructor(
    private readonly em: EntityManager,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly treePanel: OrganizationTreePanel,
  ) {}

  async list(actor: Actor, query: UserListQuery): Promise<UserListPage> {
    if (!canListUsers(actor)) throw new ForbiddenError();
    const filter = await this.conditions(actor, query);
    const keys = SORTS[query.sort];
    // "Previous" seeks backwards from the first row of the page after it: the opposite
    // comparison and order on the same index, then the rows turned round.
    const before = decodeCursor(query.before, keys);
    const cursor = before ?? decodeCursor(query.after, keys);
    const backwards = before !== null;
    const ascending = (query.direction === 'asc') !== backwards;
    const seek = cursor ? [seekCondition(keys, cursor, ascending)] : [];
    const scopePath = actor.isAdministrator ? '/' : actor.currentOrganization.path;
    const matches = query.q ? await this.searchMatches(allOf(filter)) : null;
    let rows: UserListDbRow[];
    let counted: { total: number; estimated: boolean; atLeast: boolean };
    if (matches) {
      // A search with up to COUNT_EXACT_MAX matches: the trigram indexes and the recheck of every
      // candidate ran once, for the count; the page sorts those matches alone.
      rows = await userListRows(this.em, scopePath, allOf([amongMatches(matches), ...seek]), keys, ascending, query.size + 1);
      counted = { total: matches.length, estimated: false, atLeast: false };
    } else {
      // The page and its count at once, on two connections.
      [rows, counted] = await Promise.all([userListRows(this.em, scopePath, allOf([...filter, ...seek]), keys, ascending, query.size + 1), this.count(allOf(filter))]);
    }
    const { total, estimated, atLeast } = counted;
    const page = keysetPage(rows, query.size, (row) => encodeCursor(splitKeys(row, keys).values), { backwards, fromCursor: cursor !== null });

    return {
      rows: page.rows.map((row) => splitKeys<UserListRow>(row, keys).rest),
      next: page.next,
      previous: page.previous,
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
    const key = conditionKey(where);
    const kept = this.estimates.get(key);
    if (!kept || Date.now() - kept.at >= ESTIMATE_KEEP_MS) {
      const n = await countListedUsers(this.em, where, COUNT_EXACT_MAX);
      if (n <= COUNT_EXACT_MAX) return { total: n, estimated: false, atLeast: false };
    }
    const estimate = roundTo3(await this.estimate(key, where));
    return estimate > COUNT_EXACT_MAX ? { total: estimate, estimated: true, atLeast: false } : { total: COUNT_EXACT_MAX, estimated: true, atLeast: true };
  }

  /**
   * The users a search selects, when they are at most `COUNT_EXACT_MAX`; `null` when there are
   * more (then `count` finds that kept and does not count again). A search's page statement would
   * otherwise bitmap-scan and recheck every candidate a second time: for an organization
   * administrator's search of 5,000 candidates, 50 ms of PostgreSQL's time against 3.5 ms for
   * sorting the 680 matches.
   */
  private async searchMatches(where: SqlCondition): Promise<ListedUserMatch[] | null> {
    const key = conditionKey(where);
    const kept = this.estimates.get(key);
    if (kept && Date.now() - kept.at < ESTIMATE_KEEP_MS) return null;
    const matches = await listedUserMatches(this.em, where, COUNT_EXACT_MAX);
    if (matches.length <= COUNT_EXACT_MAX) return matches;
    void this.estimate(key, where);
    return null;
  }

  /**
   * The planner's estimate for `where` (whose count went beyond `COUNT_EXACT_MAX`), kept for
   * `ESTIMATE_KEEP_MS` under `key`: it changes only with the table's statistics, and while it is
   * kept `count` does not count again.
   */
  private estimate(key: string, where: SqlCondition): Promise<number> {
    const now = Date.now();
    const kept = this.estimates.get(key);
    if (kept && now - kept.at < ESTIMATE_KEEP_MS) return kept.value;
    if (this.estimates.size >= 1000) this.estimates.clear();
    const value = estimatedListedUsers(this.em, where);
    this.estimates.set(key, { at: now, value });
    value.catch(() => this.estimates.delete(key));
    return value;
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
    const conditions: SqlCondition[] = [];
    if (f.organizationId !== undefined) {
      const path = await organizationPath(this.em, f.organizationId);
      if (path === undefined || !inScope(actor, path)) throw new NotFoundError('The organization you filter by does not exist, or you may not see it.');
      // The organization lies in the session's scope, so its members (and those of its
      // sub-organizations) are all visible: the scope condition would only repeat the check.
      conditions.push(
        f.withSubOrganizations
          ? {
              sql: `u.id in (select fm.user_id from memberships fm join organizations fo on fo.id = fm.organization_id where fo.path like ?)`,
              params: [`${path}%`],
            }
          : { sql: 'u.id in (select fm.user_id from memberships fm where fm.organization_id = ?)', params: [f.organizationId] },
      );
    } else conditions.push(this.access.visibleUsersCondition(actor, 'u'));
    if (f.q) {
      // users.full_name and users.email are the contact's, kept in step by the database: three
      // trigram indexes of `users` alone (a bitmap OR), for searches matching one user or thousands.
      const like = likePattern(f.q);
      conditions.push({ sql: '(u.username ilike ? or u.full_name ilike ? or u.email ilike ?)', params: [like, like, like] });
    }
    if (f.roleId !== undefined) conditions.push({ sql: 'u.id in (select fr.user_id from user_roles fr where fr.role_id = ?)', params: [f.roleId] });
    if (f.licenceId !== undefined) conditions.push({ sql: 'u.licence_id = ?', params: [f.licenceId] });
    if (f.provider !== undefined) conditions.push({ sql: 'u.provider = ?', params: [f.provider] });
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
    const n = await countMatchingUsers(this.em, where, MATCHING_MAX);
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
      const ids = await matchingUserIds(tx, where, MATCHING_MAX + 1);
      if (ids.length > MATCHING_MAX) {
        throw ValidationError.form(`More than ${MATCHING_MAX.toLocaleString('en-GB')} users match this filter: narrow it down, then try again.`);
      }
      if (ids.length === 0) throw ValidationError.form('No users match this filter any more.');
      if (ids.length !== confirmed) {
        throw new MatchingChangedError(confirmed, ids.length);
      }
      return apply(ids);
    });
  }

  /** The filter in words, for the confirmation page ("Status: Locked"). */
  private async describeFilter(f: UserListFilter): Promise<string[]> {
    const names = await filterNames(this.em, f);
    const out: string[] = [];
    if (f.q) out.push(`Username, name or e-mail contains “${f.q}”`);
    if (names.org) out.push(`Organization: ${names.org}${f.withSubOrganizations ? ' and its sub-organizations' : ' (its own members)'}`);
    if (names.role) out.push(`Role: ${names.role}`);
    if (f.status) out.push(`Status: ${f.status[0].toUpperCase()}${f.status.slice(1)}`);
    if (names.licence) out.push(`Licence: ${names.licence}`);
    if (f.provider) out.push(`Signs in with: ${f.provider === LOCAL_PROVIDER ? 'a Tessera password' : (names.provider ?? f.provider)}`);
    if (names.prop) out.push(`${names.prop}: ${f.propertyValue ? `“${f.propertyValue}”` : 'any value'}`);
    return out;
  }

  /**
   * The organization tree panel of the users list: the session's subtree (all of it for an
   * Administrator), see `OrganizationTreePanel`.
   */
  async organizationTree(actor: Actor, selectedId: number | undefined, choicesVersion?: number | null): Promise<OrganizationTree> {
    if (!canListUsers(actor)) throw new ForbiddenError();
    return this.treePanel.tree(actor.isAdministrator ? null : actor.currentOrganization.organizationId, selectedId, choicesVersion);
  }

  /**
   * The choices of the filter pull-downs: roles, licences, sign-in providers, properties
   * (organizations: the tree panel). With the `list_choices_version` the session read brought
   * along (`choicesVersion`), kept in memory until it changes; otherwise read (one round trip).
   */
  async filterOptions(actor: Actor, choicesVersion?: number | null): Promise<FilterChoices> {
    if (!canListUsers(actor)) throw new ForbiddenError();
    return this.choices.get(choicesVersion, 'filter', () => filterChoices(this.em));
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
        const user = target ? await lockUserStatus(tx, id) : undefined;
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
        const user = target ? await lockUserStatus(tx, id) : undefined;
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
