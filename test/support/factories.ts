import { hashPassword } from '../../src/accounts/password-hasher';
import type { BuiltInRoleKey } from '../../src/access/permissions';
import type { TestApp } from './app';

export interface OrgRow {
  id: number;
  path: string;
  name: string;
}

export async function globalOrganization(t: TestApp): Promise<OrgRow> {
  const [row] = await t.sql<OrgRow>('select id, path, name from organizations where parent_id is null');
  return row;
}

/** A sub-organization (path and depth are set by the database). */
export async function createOrganization(t: TestApp, name: string, parent?: OrgRow): Promise<OrgRow> {
  const parentId = parent ? parent.id : (await globalOrganization(t)).id;
  const [row] = await t.sql<OrgRow>('insert into organizations (name, parent_id) values ($1, $2) returning id, path, name', [name, parentId]);
  return row;
}

export interface UserSpec {
  username: string;
  password?: string | null;
  email?: string | null;
  fullName?: string;
  /** Built-in role keys or role names. Default: member. */
  roles?: (BuiltInRoleKey | string)[];
  /** Built-in profile key; `null` for none. Default: self_service. */
  profile?: 'administrator' | 'self_service' | null;
  memberships?: { org: OrgRow; isAdmin?: boolean }[];
  enabled?: boolean;
  mustChangePassword?: boolean;
  provider?: string;
}

export interface UserRow {
  id: number;
  username: string;
  password: string | null;
}

/** A contact and its user, inserted directly (fast; the services are what the tests exercise). */
export async function createUser(t: TestApp, spec: UserSpec): Promise<UserRow> {
  const home = spec.memberships?.[0]?.org ?? (await globalOrganization(t));
  const password = spec.password === undefined ? 'Secret-pass-1' : spec.password;
  const [contact] = await t.sql<{ id: number }>(
    `insert into contacts (kind, full_name, email, organization_id) values ('person', $1, $2, $3) returning id`,
    [spec.fullName ?? spec.username, spec.email ?? null, home.id],
  );
  const [user] = await t.sql<{ id: number }>(
    `insert into users (contact_id, username, password_hash, enabled, must_change_password, provider, profile_id, licence_id)
     values ($1, $2, $3, $4, $5, $6,
             (select id from user_profiles where built_in_key = $7),
             (select id from licence_types where built_in_key = 'standard'))
     returning id`,
    [
      contact.id,
      spec.username,
      password ? await hashPassword(password) : null,
      spec.enabled ?? true,
      spec.mustChangePassword ?? false,
      spec.provider ?? 'local',
      spec.profile === undefined ? 'self_service' : spec.profile,
    ],
  );
  for (const role of spec.roles ?? ['member']) {
    const inserted = await t.sql(
      `insert into user_roles (user_id, role_id) select $1, id from roles where built_in_key = $2 or lower(name) = lower($2) returning role_id`,
      [user.id, role],
    );
    if (inserted.length === 0) throw new Error(`No role ${role}`);
  }
  for (const m of spec.memberships ?? [{ org: home }]) {
    await t.sql('insert into memberships (user_id, organization_id, is_admin) values ($1, $2, $3)', [user.id, m.org.id, m.isAdmin ?? false]);
  }
  return { id: user.id, username: spec.username, password };
}
