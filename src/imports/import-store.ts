import { EntityManager } from '@mikro-orm/postgresql';
import { AuditSource, createdChanges } from '../audit/audit.service';
import { toPasswordPolicy } from '../settings/settings.service';
import { ClientSettings } from '../settings/client-settings.entity';
import { pathKey } from './cells';
import { PropertyColumn } from './columns';
import { configuredProviderKeys } from '../sso/sso.queries';
import { ExistingKeys, ImportError, ImportUser, LicenceRef, Named, ReferenceData, externalKey, mobileKey } from './import-rules';

/**
 * The database side of an import: the reference data the rules need, the keys already taken,
 * and the set-based insert of every user of a file (contacts, users, roles, memberships,
 * custom property values) inside the caller's transaction.
 */

const json = (value: unknown) => JSON.stringify(value);

export async function loadProperties(em: EntityManager): Promise<PropertyColumn[]> {
  const rows: { id: number; name: string; allowed_values: string[]; multi_valued: boolean }[] = await em.execute(
    'select id, name, allowed_values, multi_valued from custom_properties order by lower(name), id',
  );
  return rows.map((r) => ({ id: r.id, name: r.name, allowedValues: r.allowed_values ?? [], multiValued: r.multi_valued }));
}

export interface OrganizationPathRow {
  id: number;
  name: string;
  /** Names below the root joined by `/` (`A/A1`); `''` for the root. */
  namePath: string;
}

/** Every organization with its path of names (one recursive query, index-backed by parent_id). */
export async function organizationPaths(em: EntityManager): Promise<OrganizationPathRow[]> {
  const rows: { id: number; name: string; name_path: string }[] = await em.execute(
    `with recursive t as (
       select id, name, ''::text as name_path from organizations where parent_id is null
       union all
       select o.id, o.name, case when t.name_path = '' then o.name else t.name_path || '/' || o.name end
         from organizations o join t on o.parent_id = t.id)
     select id, name, name_path from t order by name_path`,
  );
  return rows.map((r) => ({ id: r.id, name: r.name, namePath: r.name_path }));
}

export async function loadReferenceData(em: EntityManager): Promise<ReferenceData & { mustChangeAtFirstLogin: boolean }> {
  const settings = await em.findOneOrFail(ClientSettings, { id: 1 }, { refresh: true });
  // One query after the other: inside a transaction they share one connection.
  const properties = await loadProperties(em);
  const roles = await em.execute<Named[]>('select id, name from roles');
  const defaultRoles = await em.execute<{ role_id: number }[]>('select role_id from client_settings_default_roles where settings_id = 1 order by role_id');
  const orgs = await organizationPaths(em);
  const licences = await em.execute<{ id: number; name: string; seats: number | null; used: number }[]>(
    'select l.id, l.name, l.seats, (select count(*) from users u where u.licence_id = l.id and u.enabled)::int as used from licence_types l',
  );
  const profiles = await em.execute<Named[]>('select id, name from user_profiles');
  const departments = await em.execute<{ name: string }[]>('select name from departments');
  const [defaults] = await em.execute<{ default_profile_id: number | null; default_licence_id: number | null }[]>(
    'select default_profile_id, default_licence_id from client_settings where id = 1',
  );
  const byName = <T extends { name: string }>(items: T[]) => new Map(items.map((i) => [i.name.trim().toLowerCase(), i] as const));
  const root = orgs.find((o) => o.namePath === '')!;
  return {
    properties,
    roles: byName(roles),
    defaultRoleIds: defaultRoles.map((r) => r.role_id),
    organizations: new Map(orgs.map((o) => [pathKey(o.namePath), { id: o.id, name: o.name }] as const)),
    rootName: root.name,
    licences: byName(licences as LicenceRef[]),
    defaultLicenceId: defaults?.default_licence_id ?? null,
    profiles: byName(profiles),
    defaultProfileId: defaults?.default_profile_id ?? null,
    departments: new Map(departments.map((d) => [d.name.trim().toLowerCase(), d.name] as const)),
    policy: toPasswordPolicy(settings),
    providers: new Set(await configuredProviderKeys(em)),
    mustChangeAtFirstLogin: settings.mustChangeAtFirstLogin,
  };
}

/** The usernames, e-mails, mobiles and external ids of the file that are already registered. */
export async function existingKeys(
  em: EntityManager,
  keys: { usernames: string[]; emails: string[]; mobiles: string[]; externalIds: [string, string][] },
): Promise<ExistingKeys> {
  const usernames = await em.execute<{ k: string }[]>('select lower(username) as k from users where lower(username) in (select jsonb_array_elements_text(?::jsonb))', [json(keys.usernames)]);
  const emails = await em.execute<{ k: string }[]>('select lower(email) as k from users where lower(email) in (select jsonb_array_elements_text(?::jsonb))', [json(keys.emails)]);
  const mobiles = await (keys.mobiles.length === 0
      ? Promise.resolve([] as { k: string }[])
      : em.execute<{ k: string }[]>(
          `select distinct regexp_replace(c.mobile, '[^0-9+]', '', 'g') as k from contacts c join users u on u.contact_id = c.id
            where c.mobile is not null and regexp_replace(c.mobile, '[^0-9+]', '', 'g') in (select jsonb_array_elements_text(?::jsonb))`,
          [json(keys.mobiles)],
        ));
  const externals = await (keys.externalIds.length === 0
      ? Promise.resolve([] as { provider: string; external_id: string }[])
      : em.execute<{ provider: string; external_id: string }[]>(
          `select provider, external_id from users
            where external_id is not null
              and (lower(provider), external_id) in (select lower(x->>0), x->>1 from jsonb_array_elements(?::jsonb) x)`,
          [json(keys.externalIds)],
        ));
  return {
    usernames: new Set(usernames.map((r) => r.k)),
    emails: new Set(emails.map((r) => r.k)),
    mobiles: new Set(mobiles.map((r) => mobileKey(r.k))),
    externalIds: new Set(externals.map((r) => externalKey(r.provider, r.external_id))),
  };
}

async function allocateIds(tx: EntityManager, table: 'contacts' | 'users', count: number): Promise<number[]> {
  const rows: { id: number }[] = await tx.execute(`select nextval(pg_get_serial_sequence('${table}', 'id'))::int as id from generate_series(1, ?)`, [count]);
  return rows.map((r) => r.id);
}

/**
 * Inserts every user with set-based statements. `hashes[i]` is the argon2id hash of
 * `users[i].password` (or `null`). Uniqueness is backed by the database constraints.
 */
export async function insertUsers(tx: EntityManager, users: ImportUser[], hashes: (string | null)[], mustChangePassword: boolean): Promise<number[]> {
  if (users.length === 0) return [];
  const contactIds = await allocateIds(tx, 'contacts', users.length);
  const userIds = await allocateIds(tx, 'users', users.length);
  const CHUNK = 5000;
  for (let start = 0; start < users.length; start += CHUNK) {
    const slice = users.slice(start, start + CHUNK);
    const contacts = slice.map((u, i) => ({
      id: contactIds[start + i],
      first_name: u.firstName,
      last_name: u.lastName,
      full_name: u.fullName,
      email: u.email,
      mobile: u.mobile,
      department: u.department,
      organization_id: u.organizationIds[0],
    }));
    await tx.execute(
      `insert into contacts (id, kind, first_name, last_name, full_name, email, mobile, department, organization_id)
       select id, 'person', first_name, last_name, full_name, email, mobile, department, organization_id
         from jsonb_to_recordset(?::jsonb) as x(id int, first_name text, last_name text, full_name text, email text, mobile text, department text, organization_id int)`,
      [json(contacts)],
    );
    const rows = slice.map((u, i) => ({
      id: userIds[start + i],
      contact_id: contactIds[start + i],
      username: u.username,
      password_hash: hashes[start + i],
      provider: u.provider,
      external_id: u.externalId,
      enabled: u.enabled,
      must_change_password: hashes[start + i] !== null && mustChangePassword,
      licence_id: u.licenceId,
      profile_id: u.profileId,
    }));
    await tx.execute(
      `insert into users (id, contact_id, username, password_hash, provider, external_id, enabled, must_change_password, password_changed_at, licence_id, profile_id)
       select id, contact_id, username, password_hash, provider, external_id, enabled, must_change_password,
              case when password_hash is null then null else now() end, licence_id, profile_id
         from jsonb_to_recordset(?::jsonb) as x(id int, contact_id int, username text, password_hash text, provider text, external_id text,
                                               enabled boolean, must_change_password boolean, licence_id int, profile_id int)`,
      [json(rows)],
    );
    const roles = slice.flatMap((u, i) => u.roleIds.map((r) => [userIds[start + i], r]));
    if (roles.length > 0) {
      await tx.execute(`insert into user_roles (user_id, role_id) select (x->>0)::int, (x->>1)::int from jsonb_array_elements(?::jsonb) x`, [json(roles)]);
    }
    const memberships = slice.flatMap((u, i) => u.organizationIds.map((o) => [userIds[start + i], o]));
    await tx.execute(`insert into memberships (user_id, organization_id) select (x->>0)::int, (x->>1)::int from jsonb_array_elements(?::jsonb) x`, [json(memberships)]);
    const values = slice.flatMap((u, i) => u.properties.flatMap((p) => p.values.map((v) => [userIds[start + i], p.propertyId, v])));
    if (values.length > 0) {
      await tx.execute(
        `insert into user_property_values (user_id, property_id, value) select (x->>0)::int, (x->>1)::int, x->>2 from jsonb_array_elements(?::jsonb) x`,
        [json(values)],
      );
    }
  }
  return userIds;
}

/**
 * One `user.created` entry per imported user, naming the import, so that each user's own audit
 * trail starts with where they came from. Written in the import's transaction (committed with
 * the users, or not at all) with set-based inserts of 5,000 rows, like the users themselves; the
 * changes are the created fields as Create User records them, never a password or its hash.
 */
export async function recordImportedUsers(
  tx: EntityManager,
  users: ImportUser[],
  userIds: number[],
  reference: ReferenceData,
  source: AuditSource,
  job: { id: number; fileName: string },
): Promise<void> {
  const names = (items: Iterable<Named>) => new Map([...items].map((i) => [i.id, i.name] as const));
  const roles = names(reference.roles.values());
  const organizations = names(reference.organizations.values());
  const licences = names(reference.licences.values());
  const profiles = names(reference.profiles.values());
  const detail = `Imported from ${job.fileName} (import ${job.id}).`;
  const CHUNK = 5000;
  for (let start = 0; start < users.length; start += CHUNK) {
    const rows = users.slice(start, start + CHUNK).map((u, i) => ({
      id: String(userIds[start + i]),
      username: u.username,
      changes: createdChanges({
        username: u.username,
        contact: u.fullName,
        email: u.email,
        organizations: u.organizationIds.map((id) => organizations.get(id) ?? String(id)),
        roles: u.roleIds.map((id) => roles.get(id) ?? String(id)).sort((a, b) => a.localeCompare(b)),
        profile: u.profileId === null ? null : (profiles.get(u.profileId) ?? null),
        licence: u.licenceId === null ? null : (licences.get(u.licenceId) ?? null),
        provider: u.provider,
        externalId: u.externalId,
        enabled: u.enabled,
      }),
    }));
    await tx.execute(
      `insert into audit_events (actor_id, actor_name, ip, action, object_type, object_id, object_label, changes, detail)
       select ?, ?, ?, 'user.created', 'user', x.id, x.username, x.changes, ?
         from jsonb_to_recordset(?::jsonb) as x(id text, username text, changes jsonb)`,
      [source.actorId ?? null, source.actorName ? source.actorName.slice(0, 100) : null, source.ip ? source.ip.slice(0, 64) : null, detail, json(rows)],
    );
  }
}

/** Stores the violations of a failed run (replacing any of an earlier attempt). */
export async function storeErrors(em: EntityManager, jobId: number, errors: ImportError[]): Promise<void> {
  await em.execute('delete from import_errors where job_id = ?', [jobId]);
  const CHUNK = 5000;
  for (let start = 0; start < errors.length; start += CHUNK) {
    const rows = errors.slice(start, start + CHUNK).map((e, i) => ({ seq: start + i + 1, row: e.row, col: e.column.slice(0, 120), value: e.value, message: e.message }));
    await em.execute(
      `insert into import_errors (job_id, seq, row_number, column_name, value, message)
       select ?, seq, "row", col, value, message from jsonb_to_recordset(?::jsonb) as x(seq int, "row" int, col text, value text, message text)`,
      [jobId, json(rows)],
    );
  }
}
