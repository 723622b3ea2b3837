import { EntityManager } from '@mikro-orm/postgresql';
import type { AuditSource } from '../audit/audit.service';
import { licenceUsage, provisioningDefaults } from '../provisioning/provisioning.queries';
import { ProvisionRow, provisionBatch } from '../provisioning/provisioning.service';
import { toPasswordPolicy } from '../settings/settings.service';
import { ClientSettings } from '../settings/client-settings.entity';
import { pathKey } from './cells';
import { PropertyColumn } from './columns';
import { configuredProviderKeys } from '../sso/sso.queries';
import { ImportUser, LicenceRef, Named, ReferenceData } from './import-rules';

/**
 * The database side of an import: the reference data the rules need, the errors of a failed
 * run, and the hand-over of a valid file's users to the provisioning core (`importUsers`). The
 * keys already taken are the core's `takenKeys`.
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
  const defaults = await provisioningDefaults(em);
  const orgs = await organizationPaths(em);
  const licences = await licenceUsage(em);
  const profiles = await em.execute<Named[]>('select id, name from user_profiles');
  const departments = await em.execute<{ name: string }[]>('select name from departments');
  const byName = <T extends { name: string }>(items: T[]) => new Map(items.map((i) => [i.name.trim().toLowerCase(), i] as const));
  const root = orgs.find((o) => o.namePath === '')!;
  return {
    properties,
    roles: byName(roles),
    defaultRoleIds: defaults.roleIds,
    organizations: new Map(orgs.map((o) => [pathKey(o.namePath), { id: o.id, name: o.name }] as const)),
    rootName: root.name,
    licences: byName(licences as LicenceRef[]),
    defaultLicenceId: defaults.licenceId,
    profiles: byName(profiles),
    defaultProfileId: defaults.profileId,
    departments: new Map(departments.map((d) => [d.name.trim().toLowerCase(), d.name] as const)),
    policy: toPasswordPolicy(settings),
    providers: new Set(await configuredProviderKeys(em)),
    mustChangeAtFirstLogin: settings.mustChangeAtFirstLogin,
  };
}

/**
 * Writes the validated users of a file through the provisioning core's set-based form, inside
 * the import's transaction (committed with the job's success, or not at all): `hashes[i]` is
 * the argon2id hash of `users[i].password` (or `null`). Each user's audit trail starts with a
 * `user.created` entry naming the import.
 */
export async function importUsers(tx: EntityManager, users: ImportUser[], hashes: (string | null)[], source: AuditSource, job: { id: number; fileName: string }): Promise<number[]> {
  const { mustChangeAtFirstLogin } = await provisioningDefaults(tx);
  const rows = users.map(
    (u, i): ProvisionRow => ({
      contact: { firstName: u.firstName, lastName: u.lastName, fullName: u.fullName, email: u.email, mobile: u.mobile, department: u.department },
      username: u.username,
      passwordHash: hashes[i],
      provider: u.provider,
      externalId: u.externalId,
      enabled: u.enabled,
      roleIds: u.roleIds,
      organizationIds: u.organizationIds,
      licenceId: u.licenceId,
      profileId: u.profileId,
      properties: u.properties,
    }),
  );
  return provisionBatch(tx, source, rows, { mustChangePassword: mustChangeAtFirstLogin, detail: `Imported from ${job.fileName} (import ${job.id}).` });
}
