import type { TestApp } from './app';
import { createOrganization, createUser, globalOrganization, OrgRow, UserRow, UserSpec } from './factories';

/**
 * The organization world most scope tests stand on (SPEC §3): Global ⊃ A ⊃ A1 ⊃ A11, and B
 * beside A, with the administrators and members a spec needs, all named by their place in the
 * tree so that a test reads `world.org.A11` or `world.admin.A1` instead of rebuilding it.
 *
 * ```ts
 * const world = await buildWorld(t, {
 *   admins: { A1: { username: 'oa_manager', roles: ['user_manager'] } },
 *   users: { anna: { memberships: ['A11'] }, bert: { memberships: ['A1', 'B'] } },
 * });
 * ```
 */

export type OrgKey = 'A' | 'A1' | 'A11' | 'B';

/** The tree's shape: each organization's parent (absent: under Global), in creation order. */
const TREE: { key: OrgKey; parent?: OrgKey }[] = [{ key: 'A' }, { key: 'A1', parent: 'A' }, { key: 'A11', parent: 'A1' }, { key: 'B' }];

/** A membership by the organization's key; a bare key is a plain membership. */
export type WorldMembership<K extends OrgKey> = K | 'global' | { org: K | 'global'; isAdmin?: boolean };

/** A user of the world: the factory's spec with memberships named by key. */
export type WorldPerson<K extends OrgKey> = Omit<UserSpec, 'username' | 'memberships'> & {
  /** Default: the key the person is listed under. */
  username?: string;
  /** In order (the first is the home organization). For an admin: further memberships after the one they administer. */
  memberships?: WorldMembership<K>[];
};

// Only `orgs` decides which organizations there are (NoInfer): the people are checked against it.
export interface WorldSpec<K extends OrgKey, Adm extends OrgKey, P extends string> {
  /** Which organizations to create (default all); the tree's order is kept either way. */
  orgs?: readonly K[];
  /** Other names for the organizations (default: their keys). */
  names?: Partial<Record<OrgKey, string>>;
  /** Administrators by the organization they administer (created first, in the order given). */
  admins?: Record<Adm, WorldPerson<NoInfer<K>> & { username: string }>;
  /** Further users by username (created after the admins, in the order given). */
  users?: Record<P, WorldPerson<NoInfer<K>>>;
}

export interface World<K extends OrgKey, Adm extends OrgKey, P extends string> {
  org: { global: OrgRow } & Record<K, OrgRow>;
  admin: Record<Adm, UserRow>;
  user: Record<P, UserRow>;
}

/** Creates the tree and its people in the spec's order (ids follow it, as lists sorted by id do). */
export async function buildWorld<K extends OrgKey = OrgKey, Adm extends OrgKey = never, P extends string = never>(
  t: TestApp,
  spec: WorldSpec<K, Adm, P> = {},
): Promise<World<K, Adm, P>> {
  const wanted = new Set<OrgKey>(spec.orgs ?? TREE.map((o) => o.key));
  const org = { global: await globalOrganization(t) } as World<K, Adm, P>['org'];
  const byKey = org as unknown as Record<OrgKey | 'global', OrgRow>;
  for (const { key, parent } of TREE) {
    if (!wanted.has(key)) continue;
    if (parent && !wanted.has(parent)) throw new Error(`Organization ${key} needs its parent ${parent} in the world`);
    byKey[key] = await createOrganization(t, spec.names?.[key] ?? key, parent ? byKey[parent] : undefined);
  }
  const membership = (m: WorldMembership<K>) => {
    const { org: key, isAdmin } = typeof m === 'string' ? { org: m, isAdmin: false } : m;
    const row = byKey[key];
    if (!row) throw new Error(`Organization ${key} is not in the world`);
    return { org: row, isAdmin: isAdmin ?? false };
  };
  const person = (username: string, p: WorldPerson<K>, first: WorldMembership<K>[] = []) => {
    const memberships = [...first, ...(p.memberships ?? [])];
    return createUser(t, { ...p, username: p.username ?? username, memberships: memberships.length ? memberships.map(membership) : undefined });
  };

  const admin = {} as Record<Adm, UserRow>;
  for (const [key, p] of Object.entries(spec.admins ?? {}) as [Adm, WorldPerson<K> & { username: string }][]) {
    // An admin of an organization left out of `orgs` fails in membership() below.
    admin[key] = await person(p.username, p, [{ org: key as OrgKey as K, isAdmin: true }]);
  }
  const user = {} as Record<P, UserRow>;
  for (const [username, p] of Object.entries(spec.users ?? {}) as [P, WorldPerson<K>][]) user[username] = await person(username, p);
  return { org, admin, user };
}
