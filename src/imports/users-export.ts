import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Writable } from 'node:stream';
import { AccessService } from '../access/access.service';
import type { Actor } from '../access/actor';
import { allows, inScope } from '../access/policy';
import { AuditService } from '../audit/audit.service';
import { ForbiddenError, NotFoundError } from '../common/errors';
import { parseId, queryText } from '../common/form';
import { allOf, SqlCondition, textSearch } from '../common/search';
import { catalogue } from './columns';
import { loadProperties, organizationPaths } from './import-store';
import { streamingWorkbook } from './sheet-writers';

export interface ExportFilters {
  q: string;
  org: number | null;
  role: number | null;
  status: 'enabled' | 'disabled' | 'locked' | null;
  licence: number | null;
}

/** The users list's query string (`q`, `org`, `role`, `status`, `licence`) as export filters. */
export function exportFilters(query: Record<string, unknown>): ExportFilters {
  const status = queryText(query.status);
  return {
    q: queryText(query.q),
    org: parseId(query.org),
    role: parseId(query.role),
    status: status === 'enabled' || status === 'disabled' || status === 'locked' ? status : null,
    licence: parseId(query.licence),
  };
}

/**
 * The filters as SQL over users `u` joined to contacts `c`. Kept here on purpose (the users list
 * has its own): the export only needs to select the same users, not to page them.
 */
export function exportFilterConditions(f: ExportFilters): SqlCondition[] {
  const conditions: SqlCondition[] = [];
  const search = textSearch(f.q || undefined, ['u.username', 'c.full_name', 'c.email']);
  if (search) conditions.push(search);
  if (f.org !== null) {
    conditions.push({
      sql: `exists (select 1 from memberships fm join organizations fo on fo.id = fm.organization_id
                     where fm.user_id = u.id and fo.path like (select fp.path from organizations fp where fp.id = ?) || '%')`,
      params: [f.org],
    });
  }
  if (f.role !== null) conditions.push({ sql: 'exists (select 1 from user_roles fr where fr.user_id = u.id and fr.role_id = ?)', params: [f.role] });
  if (f.licence !== null) conditions.push({ sql: 'u.licence_id = ?', params: [f.licence] });
  if (f.status === 'enabled') conditions.push({ sql: 'u.enabled', params: [] });
  if (f.status === 'disabled') conditions.push({ sql: 'not u.enabled', params: [] });
  if (f.status === 'locked') conditions.push({ sql: 'u.locked_until > now()', params: [] });
  return conditions;
}

interface ExportRow {
  id: number;
  external_id: string | null;
  username: string;
  first_name: string | null;
  last_name: string | null;
  full_name: string;
  email: string | null;
  mobile: string | null;
  provider: string;
  enabled: boolean;
  department: string | null;
  licence: string | null;
  profile: string | null;
  roles: string[];
  org_ids: number[];
  props: Record<string, string[]> | null;
  /** All memberships inside the session's scope: the row may show more than who the user is. */
  full: boolean;
}

const BATCH = 2000;

/**
 * "Export" (SPEC §4): the users in the session's scope as .xlsx in the template's columns, no
 * passwords, multi-valued properties one value per line, streamed in keyset batches so memory
 * stays flat at 100,000 users.
 */
@Injectable()
export class UsersExportService {
  constructor(
    private readonly em: EntityManager,
    private readonly access: AccessService,
    private readonly audit: AuditService,
  ) {}

  assertAllowed(actor: Actor): void {
    if (!allows(actor, 'import_export_users')) throw new ForbiddenError();
  }

  /**
   * Like the users list: an organization filter outside the session's scope does not exist for it
   * (404), rather than exporting the in-scope users who also belong there.
   */
  async assertFilters(actor: Actor, filters: ExportFilters): Promise<void> {
    this.assertAllowed(actor);
    if (filters.org === null) return;
    const [org]: { path: string }[] = await this.em.execute('select path from organizations where id = ?', [filters.org]);
    if (!org || !inScope(actor, org.path)) throw new NotFoundError('The organization you filter by does not exist, or you may not see it.');
  }

  async write(actor: Actor, filters: ExportFilters, out: Writable): Promise<number> {
    await this.assertFilters(actor, filters);
    const scopePath = actor.isAdministrator ? '/' : actor.currentOrganization.path;
    const [properties, orgs] = await Promise.all([loadProperties(this.em), organizationPaths(this.em)]);
    const rootName = orgs.find((o) => o.namePath === '')?.name ?? 'Global';
    const orgPath = new Map(orgs.map((o) => [o.id, o.namePath === '' ? rootName : o.namePath] as const));
    const where = allOf([this.access.visibleUsersCondition(actor, 'u'), ...exportFilterConditions(filters)]);

    const writer = streamingWorkbook(out, 'Users');
    writer.header(catalogue(properties));
    // One batch: the users (keyset), then their roles, memberships and property values
    // aggregated over the batch's id range in one pass each (index range scans), instead of three
    // correlated subqueries per user. Batches are disjoint id ranges, so all batches together read
    // each of those tables at most once.
    const batch = (after: number): Promise<ExportRow[]> =>
      this.em.execute(
        `with b as materialized (
           select u.id, u.external_id, u.username, c.first_name, c.last_name, c.full_name, c.email, c.mobile, u.provider, u.enabled,
                  c.department, c.organization_id as home_id, l.name as licence, p.name as profile,
                  ${actor.isAdministrator ? 'true' : `not exists (select 1 from memberships xm join organizations xo on xo.id = xm.organization_id where xm.user_id = u.id and xo.path not like ?)`} as full
             from users u
             join contacts c on c.id = u.contact_id
             left join licence_types l on l.id = u.licence_id
             left join user_profiles p on p.id = u.profile_id
            where u.id > ? and ${where.sql}
            order by u.id
            limit ?),
         span as (select min(id) as lo, max(id) as hi from b),
         r as (select ur.user_id, array_agg(r.name order by lower(r.name)) as roles
                 from span, user_roles ur join roles r on r.id = ur.role_id
                where ur.user_id between span.lo and span.hi
                group by ur.user_id),
         m as (select m.user_id, array_agg(m.organization_id order by (m.organization_id = b.home_id) desc, o.path) as org_ids
                 from span, memberships m join b on b.id = m.user_id join organizations o on o.id = m.organization_id
                where m.user_id between span.lo and span.hi and o.path like ?
                group by m.user_id),
         v as (select x.user_id, jsonb_object_agg(x.property_id, x.vals) as props
                 from (select pv.user_id, pv.property_id, array_agg(pv.value order by pv.value) as vals
                         from span, user_property_values pv
                        where pv.user_id between span.lo and span.hi
                        group by pv.user_id, pv.property_id) x
                group by x.user_id)
         select b.id, b.external_id, b.username, b.first_name, b.last_name, b.full_name, b.email, b.mobile, b.provider, b.enabled,
                b.department, b.licence, b.profile, coalesce(r.roles, '{}') as roles, coalesce(m.org_ids, '{}') as org_ids, v.props, b.full
           from b
           left join r on r.user_id = b.id
           left join m on m.user_id = b.id
           left join v on v.user_id = b.id
          order by b.id`,
        [...(actor.isAdministrator ? [] : [`${scopePath}%`]), after, ...where.params, BATCH, `${scopePath}%`],
      );
    let count = 0;
    // The next batch is fetched while the current one is written (the database works meanwhile).
    const prefetch = (after: number) => {
      const next = batch(after);
      next.catch(() => undefined); // awaited below; never an unhandled rejection if writing fails first
      return next;
    };
    let pending = prefetch(0);
    for (;;) {
      const rows = await pending;
      if (rows.length === BATCH) pending = prefetch(rows[rows.length - 1].id);
      for (const r of rows) {
        // A user who also belongs outside the scope is in the list, but adding a member "grants no
        // other access to that user" (SPEC §3): as on their user page, only who they are, their
        // roles and status and their memberships in scope — the other cells stay empty.
        const more = <T>(value: T): T | '' => (r.full ? value : '');
        writer.row([
          more(r.external_id),
          r.username,
          r.first_name,
          r.last_name,
          r.full_name,
          r.email,
          more(r.mobile),
          '',
          r.provider,
          r.roles.join(', '),
          r.enabled ? 'true' : 'false',
          more(r.department),
          r.org_ids.map((id) => orgPath.get(id) ?? '').join('\n'),
          more(r.licence),
          more(r.profile),
          ...properties.map((prop) => more((r.props?.[String(prop.id)] ?? []).join('\n'))),
        ]);
      }
      count += rows.length;
      if (rows.length < BATCH) break;
      await writer.drain();
    }
    await writer.finish();
    await this.audit.record(actor, {
      action: 'users.exported',
      objectType: 'export',
      objectLabel: 'users.xlsx',
      detail: `Exported ${count} users.`,
      changes: { users: { from: null, to: count }, filters: { from: null, to: filters } },
    });
    return count;
  }
}
