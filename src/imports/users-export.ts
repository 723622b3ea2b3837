import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Writable } from 'node:stream';
import { AccessService } from '../access/access.service';
import type { Actor } from '../access/actor';
import { allows } from '../access/policy';
import { AuditService } from '../audit/audit.service';
import { ForbiddenError } from '../common/errors';
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
}

const BATCH = 1000;

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

  async write(actor: Actor, filters: ExportFilters, out: Writable): Promise<number> {
    this.assertAllowed(actor);
    const scopePath = actor.isAdministrator ? '/' : actor.currentOrganization.path;
    const [properties, orgs] = await Promise.all([loadProperties(this.em), organizationPaths(this.em)]);
    const rootName = orgs.find((o) => o.namePath === '')?.name ?? 'Global';
    const orgPath = new Map(orgs.map((o) => [o.id, o.namePath === '' ? rootName : o.namePath] as const));
    const where = allOf([this.access.visibleUsersCondition(actor, 'u'), ...exportFilterConditions(filters)]);

    const writer = streamingWorkbook(out, 'Users');
    writer.header(catalogue(properties));
    let after = 0;
    let count = 0;
    for (;;) {
      const rows: ExportRow[] = await this.em.execute(
        `select u.id, u.external_id, u.username, c.first_name, c.last_name, c.full_name, c.email, c.mobile, u.provider, u.enabled,
                c.department, l.name as licence, p.name as profile,
                array(select r.name from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = u.id order by lower(r.name)) as roles,
                array(select m.organization_id from memberships m join organizations o on o.id = m.organization_id
                       where m.user_id = u.id and o.path like ? order by (m.organization_id = c.organization_id) desc, o.path) as org_ids,
                (select jsonb_object_agg(x.property_id, x.vals) from
                   (select v.property_id, array_agg(v.value order by v.value) as vals from user_property_values v where v.user_id = u.id group by v.property_id) x) as props
           from users u
           join contacts c on c.id = u.contact_id
           left join licence_types l on l.id = u.licence_id
           left join user_profiles p on p.id = u.profile_id
          where u.id > ? and ${where.sql}
          order by u.id
          limit ?`,
        [`${scopePath}%`, after, ...where.params, BATCH],
      );
      for (const r of rows) {
        writer.row([
          r.external_id,
          r.username,
          r.first_name,
          r.last_name,
          r.full_name,
          r.email,
          r.mobile,
          '',
          r.provider,
          r.roles.join(', '),
          r.enabled ? 'true' : 'false',
          r.department,
          r.org_ids.map((id) => orgPath.get(id) ?? '').join('\n'),
          r.licence,
          r.profile,
          ...properties.map((prop) => (r.props?.[String(prop.id)] ?? []).join('\n')),
        ]);
      }
      count += rows.length;
      if (rows.length < BATCH) break;
      after = rows[rows.length - 1].id;
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
