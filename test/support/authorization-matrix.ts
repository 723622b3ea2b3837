import request from 'supertest';
import { ADMIN_PASSWORD, TestApp } from './app';
import { createOrganization, createUser, OrgRow, UserRow, UserSpec } from './factories';
import { databaseFingerprint } from './fingerprint';
import { Agent, csrfFrom, csrfToken, login } from './http';
import { loginTo } from './sessions';
import { CONTACTS_CASES } from './matrix/contacts.cases';
import { CUSTOM_PROPERTIES_CASES } from './matrix/custom-properties.cases';
import { USERS_CASES } from './matrix/users.cases';
import { CREDENTIALS_CASES } from './matrix/credentials.cases';
import { MAIL_CASES } from './matrix/mail.cases';
import { PASSWORD_SETTINGS_CASES } from './matrix/password-settings.cases';
import { IMPORT_CASES } from './matrix/imports.cases';
import { ESCALATION_CASES } from './matrix/escalations.cases';
import { IDENTITY_PROVIDER_CASES } from './matrix/identity-providers.cases';
import { buildWorld } from './world';

/**
 * The authorization matrix of SPEC §3: who may call which route on which object. A table of
 * route cases (`MATRIX_CASES`) is run for every actor (`MATRIX_ACTORS`); each case names the
 * status every actor must get. Later features append their rows (`MATRIX_CASES.push(...)`) and,
 * for a new route family, its prefix to `MATRIX_PREFIXES` so that the coverage check asks for them.
 *
 * The world: Global ⊃ A ⊃ A1 ⊃ A11, and B beside A. Every non-Administrator actor works in A1.
 *
 * Rules of the runner:
 *  - every POST carries a valid CSRF token of the actor's own session, so a refusal comes from
 *    authorization, never from the CSRF check;
 *  - when the expected answer is a refusal (4xx, or the login redirect of an anonymous visitor), the
 *    whole database (audit log included) must be unchanged;
 *  - allowed state-changing cases work on throwaway objects made by `prepare` for that one run, and
 *    `verify` checks that the change really happened.
 */

export type SignedInActor = 'administrator' | 'orgAdminWithUsers' | 'orgAdminWithoutUsers' | 'plainMemberWithUsers';
export type ActorKey = SignedInActor | 'anonymous';

export const MATRIX_ACTORS: { key: ActorKey; label: string }[] = [
  { key: 'administrator', label: 'Administrator (admin in Global)' },
  { key: 'orgAdminWithUsers', label: 'organization administrator of A1 with manage_users (User manager)' },
  { key: 'orgAdminWithoutUsers', label: 'organization administrator of A1 without manage_users (Member)' },
  { key: 'plainMemberWithUsers', label: 'plain member of A1 with manage_users (User manager, no admin flag)' },
  { key: 'anonymous', label: 'anonymous visitor' },
];

/** Route families whose every route must have at least one row (checked against the running app). */
export const MATRIX_PREFIXES: string[] = ['/organizations', '/users', '/settings', '/audit', '/contacts', '/custom-properties', '/mail', '/imports'];

export interface MatrixWorld {
  t: TestApp;
  orgs: { global: OrgRow; A: OrgRow; A1: OrgRow; A11: OrgRow; B: OrgRow };
  /** Fixed target users (for cases that only look; changing cases make their own). */
  users: {
    /** Member of A11 only. */
    inside: UserRow;
    /** Member of B only. */
    outside: UserRow;
    /** Member of A11 and of B. */
    mixed: UserRow;
    /** Holds the Administrator role; member of A11 only. */
    administratorInside: UserRow;
  };
  /** The signed-in actors' own accounts. */
  accounts: Record<SignedInActor, { id: number; username: string }>;
  agents: Record<ActorKey, Agent>;
  /** A valid CSRF token of each agent's own session. */
  tokens: Record<ActorKey, string>;
  /** A name no other object of the run has. */
  unique(prefix: string): string;
  /** A throwaway organization. */
  freshOrg(parent: OrgRow): Promise<OrgRow>;
  /** A throwaway user (no password) with these memberships. */
  freshUser(memberships: OrgRow[], roles?: UserSpec['roles']): Promise<UserRow>;
  /** Sets "Limit Organization Members Visibility" directly (the page itself is a row of the matrix). */
  setLimitVisibility(limit: boolean): Promise<void>;
}

/** What `prepare` made for one run of a case; `path`, `body` and `verify` read it. */
export interface CaseObjects {
  org?: OrgRow;
  parent?: OrgRow;
  user?: UserRow;
  name?: string;
  [more: string]: unknown;
}

export type Expectations = Record<SignedInActor, number>;

export interface RouteCase {
  method: 'GET' | 'POST';
  /** The route as the app registers it, e.g. `/organizations/:id/delete`. */
  route: string;
  /** What the request is aimed at, for the test name, e.g. `A11 (inside)`. */
  target: string;
  /** Makes the objects of one run (called once per actor, before the database fingerprint). */
  prepare?: (w: MatrixWorld, actor: ActorKey) => Promise<CaseObjects>;
  path: (w: MatrixWorld, o: CaseObjects, actor: ActorKey) => string;
  body?: (w: MatrixWorld, o: CaseObjects, actor: ActorKey) => Record<string, string | string[]>;
  /** Status per signed-in actor; an anonymous visitor always gets 303 to /login. */
  expect: Expectations;
  /** Where an allowed 303 goes (checked for signed-in actors that get 303). */
  location?: (w: MatrixWorld, o: CaseObjects) => string | RegExp;
  /** After an allowed state-changing request: the change really happened. */
  verify?: (w: MatrixWorld, o: CaseObjects, actor: ActorKey) => Promise<void>;
}

/** Expected statuses in the order of `MATRIX_ACTORS` (anonymous left out). */
export function statuses(administrator: number, orgAdminWithUsers: number, orgAdminWithoutUsers: number, plainMemberWithUsers: number): Expectations {
  return { administrator, orgAdminWithUsers, orgAdminWithoutUsers, plainMemberWithUsers };
}

const PASSWORD = 'Secret-pass-1';

/** Builds the world and signs every actor in (one agent per actor for the whole file). */
export async function buildMatrixWorld(t: TestApp): Promise<MatrixWorld> {
  const tree = await buildWorld(t, {
    users: {
      oa_manager: { roles: ['user_manager'], memberships: [{ org: 'A1', isAdmin: true }] },
      oa_member: { roles: ['member'], memberships: [{ org: 'A1', isAdmin: true }] },
      plain_manager: { roles: ['user_manager'], memberships: ['A1'] },
    },
  });
  const { global, A, A1, A11, B } = tree.org;
  const { oa_manager: orgAdminWithUsers, oa_member: orgAdminWithoutUsers, plain_manager: plainMemberWithUsers } = tree.user;
  const [admin] = await t.sql<{ id: number }>(`select id from users where username = 'admin'`);

  let counter = 0;
  const unique = (prefix: string) => `${prefix}-${++counter}`;
  const world: MatrixWorld = {
    t,
    orgs: { global, A, A1, A11, B },
    users: {
      inside: await createUser(t, { username: 'target_inside', password: null, memberships: [{ org: A11 }] }),
      outside: await createUser(t, { username: 'target_outside', password: null, memberships: [{ org: B }] }),
      mixed: await createUser(t, { username: 'target_mixed', password: null, memberships: [{ org: A11 }, { org: B }] }),
      administratorInside: await createUser(t, { username: 'target_administrator', password: null, roles: ['administrator'], memberships: [{ org: A11 }] }),
    },
    accounts: {
      administrator: { id: admin.id, username: 'admin' },
      orgAdminWithUsers: { id: orgAdminWithUsers.id, username: 'oa_manager' },
      orgAdminWithoutUsers: { id: orgAdminWithoutUsers.id, username: 'oa_member' },
      plainMemberWithUsers: { id: plainMemberWithUsers.id, username: 'plain_manager' },
    },
    agents: {} as Record<ActorKey, Agent>,
    tokens: {} as Record<ActorKey, string>,
    unique,
    freshOrg: (parent) => createOrganization(t, unique('m-org'), parent),
    freshUser: (memberships, roles = ['member']) =>
      createUser(t, { username: unique('m-user'), password: null, roles, memberships: memberships.map((org) => ({ org })) }),
    async setLimitVisibility(limit) {
      await t.sql('update client_settings set limit_member_visibility = $1', [limit]);
    },
  };

  world.agents.administrator = await login(t.http, 'admin', ADMIN_PASSWORD);
  for (const key of ['orgAdminWithUsers', 'orgAdminWithoutUsers', 'plainMemberWithUsers'] as const) {
    world.agents[key] = await loginTo(t, world.accounts[key].username, PASSWORD, A1);
  }
  world.agents.anonymous = request.agent(t.http);
  for (const { key } of MATRIX_ACTORS) {
    world.tokens[key] = key === 'anonymous' ? csrfFrom((await world.agents.anonymous.get('/login')).text) : await csrfToken(world.agents[key], '/account');
  }
  return world;
}

/** `/organizations/:id/members/:userId` → a regular expression matching concrete paths. */
export function routePattern(route: string): RegExp {
  const source = route
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}

/** The test name: actor, method, route and target (the concrete path goes into failure messages). */
export function caseName(actor: { key: ActorKey; label: string }, c: RouteCase): string {
  const expected = actor.key === 'anonymous' ? '303 → /login' : String(c.expect[actor.key]);
  return `${actor.label}: ${c.method} ${c.route} on ${c.target} → ${expected}`;
}

const CSRF_REFUSAL = 'did not come from Tessera';

/** The message of an error page, for failure reports. */
function pageMessage(html: string): string {
  const main = /<main[^>]*>([\s\S]*?)<\/main>/.exec(html)?.[1] ?? html;
  return main
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
}

/** Runs one case for one actor; throws with actor, method, path and target on any difference. */
export async function runCase(w: MatrixWorld, actor: ActorKey, c: RouteCase): Promise<void> {
  const objects = c.prepare ? await c.prepare(w, actor) : {};
  const path = c.path(w, objects, actor);
  const where = `${actor} ${c.method} ${path} (${c.route} on ${c.target})`;
  if (!routePattern(c.route).test(path.split('?')[0])) throw new Error(`${where}: the path does not match the route ${c.route}`);

  const expected = actor === 'anonymous' ? 303 : c.expect[actor];
  const refused = actor === 'anonymous' || expected >= 400;
  const before = refused ? await databaseFingerprint(w.t, { includeAudit: true }) : null;

  const agent = w.agents[actor];
  const res =
    c.method === 'GET'
      ? await agent.get(path)
      : await agent
          .post(path)
          .type('form')
          .send({ _csrf: w.tokens[actor], ...(c.body ? c.body(w, objects, actor) : {}) });

  const location = res.headers.location as string | undefined;
  if (res.status !== expected) {
    throw new Error(`${where}: expected ${expected}, got ${res.status}${location ? ` → ${location}` : ''}\n${pageMessage(res.text ?? '')}`);
  }
  if (res.status === 403 && (res.text ?? '').includes(CSRF_REFUSAL)) throw new Error(`${where}: refused by the CSRF check, not by authorization`);
  if (actor === 'anonymous') {
    if (!location || !/^\/login(\?|$)/.test(location)) throw new Error(`${where}: expected a redirect to /login, got ${location ?? 'none'}`);
  } else if (res.status === 303 && c.location) {
    const want = c.location(w, objects);
    const ok = typeof want === 'string' ? location === want : want.test(location ?? '');
    if (!ok) throw new Error(`${where}: expected a redirect to ${String(want)}, got ${location ?? 'none'}`);
  }
  if (before) {
    const after = await databaseFingerprint(w.t, { includeAudit: true });
    const changed = Object.keys(after).filter((table) => after[table] !== before[table]);
    if (changed.length > 0) throw new Error(`${where}: refused with ${res.status}, but changed ${changed.join(', ')}`);
  } else if (c.verify) {
    await c.verify(w, objects, actor);
  }
}

// ---------------------------------------------------------------------------------------------
// The rows. Expected statuses are (Administrator, org admin with users, org admin without users,
// plain member with users); the anonymous visitor is always sent to /login.
// ---------------------------------------------------------------------------------------------

type OrgKey = keyof MatrixWorld['orgs'];

const ORG_LABELS: Record<OrgKey, string> = {
  global: 'Global (outside, root)',
  A: 'A (outside, ancestor of A1)',
  A1: 'A1 (own current organization)',
  A11: 'A11 (inside)',
  B: 'B (outside, other branch)',
};

async function sqlOne<T>(w: MatrixWorld, text: string, params: unknown[]): Promise<T | undefined> {
  return (await w.t.sql<T>(text, params))[0];
}

function expectEqual(what: string, actual: unknown, expected: unknown): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

async function membership(w: MatrixWorld, userId: number, orgId: number): Promise<{ is_admin: boolean } | undefined> {
  return sqlOne(w, 'select is_admin from memberships where user_id = $1 and organization_id = $2', [userId, orgId]);
}

/** Statuses of a page an org admin of A1 may see for org `key`, and the Administrator everywhere. */
function seeing(key: OrgKey): Expectations {
  return key === 'A1' || key === 'A11' ? statuses(200, 200, 200, 403) : statuses(200, 404, 404, 403);
}

/** Statuses of the edit/delete pages: not for the own organization, only below it. */
function editing(key: OrgKey): Expectations {
  if (key === 'A11') return statuses(200, 200, 200, 403);
  if (key === 'A1') return statuses(200, 403, 403, 403);
  return statuses(200, 404, 404, 403);
}

const ORG_KEYS: OrgKey[] = ['A11', 'A1', 'A', 'B', 'global'];

export const ORGANIZATION_CASES: RouteCase[] = [
  { method: 'GET', route: '/organizations', target: 'the tree', path: () => '/organizations', expect: statuses(200, 200, 200, 403) },

  ...ORG_KEYS.map(
    (key): RouteCase => ({
      method: 'GET',
      route: '/organizations/new',
      target: `parent ${ORG_LABELS[key]}`,
      path: (w) => `/organizations/new?parent=${w.orgs[key].id}`,
      expect: seeing(key),
    }),
  ),

  // Create a sub-organization.
  ...ORG_KEYS.map(
    (key): RouteCase => ({
      method: 'POST',
      route: '/organizations',
      target: `parent ${ORG_LABELS[key]}`,
      prepare: async (w) => ({ name: w.unique('created') }),
      path: () => '/organizations',
      body: (w, o) => ({ parentId: String(w.orgs[key].id), name: o.name!, description: 'made by the matrix' }),
      expect: key === 'A1' || key === 'A11' ? statuses(303, 303, 303, 403) : statuses(303, 404, 404, 403),
      location: () => /^\/organizations\/\d+$/,
      verify: async (w, o) => {
        const row = await sqlOne<{ parent_id: number }>(w, 'select parent_id from organizations where name = $1', [o.name]);
        expectEqual(`organization ${o.name} under ${key}`, row?.parent_id, w.orgs[key].id);
      },
    }),
  ),

  ...ORG_KEYS.map((key): RouteCase => ({ method: 'GET', route: '/organizations/:id', target: ORG_LABELS[key], path: (w) => `/organizations/${w.orgs[key].id}`, expect: seeing(key) })),
  ...ORG_KEYS.map((key): RouteCase => ({ method: 'GET', route: '/organizations/:id/edit', target: ORG_LABELS[key], path: (w) => `/organizations/${w.orgs[key].id}/edit`, expect: editing(key) })),
  ...ORG_KEYS.map((key): RouteCase => ({ method: 'GET', route: '/organizations/:id/delete', target: ORG_LABELS[key], path: (w) => `/organizations/${w.orgs[key].id}/delete`, expect: editing(key) })),
  ...ORG_KEYS.map(
    (key): RouteCase => ({ method: 'GET', route: '/organizations/:id/members/add', target: ORG_LABELS[key], path: (w) => `/organizations/${w.orgs[key].id}/members/add`, expect: seeing(key) }),
  ),

  // Rename (no parentId: the form of a non-Administrator has no parent field).
  {
    method: 'POST',
    route: '/organizations/:id',
    target: 'rename a new child of A11 (inside)',
    prepare: async (w) => ({ org: await w.freshOrg(w.orgs.A11), name: w.unique('renamed') }),
    path: (_w, o) => `/organizations/${o.org!.id}`,
    body: (_w, o) => ({ name: o.name!, description: 'renamed' }),
    expect: statuses(303, 303, 303, 403),
    location: (_w, o) => `/organizations/${o.org!.id}`,
    verify: async (w, o) => expectEqual('new name', (await sqlOne<{ name: string }>(w, 'select name from organizations where id = $1', [o.org!.id]))?.name, o.name),
  },
  {
    method: 'POST',
    route: '/organizations/:id',
    target: 'rename a new child of B (outside)',
    prepare: async (w) => ({ org: await w.freshOrg(w.orgs.B), name: w.unique('renamed') }),
    path: (_w, o) => `/organizations/${o.org!.id}`,
    body: (_w, o) => ({ name: o.name!, description: '' }),
    expect: statuses(303, 404, 404, 403),
    verify: async (w, o) => expectEqual('new name', (await sqlOne<{ name: string }>(w, 'select name from organizations where id = $1', [o.org!.id]))?.name, o.name),
  },
  ...(['A1', 'A', 'global'] as const).map(
    (key): RouteCase => ({
      method: 'POST',
      route: '/organizations/:id',
      target: `save ${ORG_LABELS[key]} (same name, new description)`,
      path: (w) => `/organizations/${w.orgs[key].id}`,
      body: (w) => ({ name: w.orgs[key].name, description: 'described by the matrix' }),
      expect: key === 'A1' ? statuses(303, 403, 403, 403) : statuses(303, 404, 404, 403),
      verify: async (w) =>
        expectEqual('description', (await sqlOne<{ description: string }>(w, 'select description from organizations where id = $1', [w.orgs[key].id]))?.description, 'described by the matrix'),
    }),
  ),

  // Move: Administrators only.
  ...(
    [
      ['move a new child of A11 (inside) under A1 (inside)', 'A11', 'A1', statuses(303, 403, 403, 403)],
      ['move a new child of A11 (inside) under B (outside)', 'A11', 'B', statuses(303, 403, 403, 403)],
      ['move a new child of B (outside) under A11 (inside)', 'B', 'A11', statuses(303, 404, 404, 403)],
    ] as const
  ).map(
    ([target, from, to, expect]): RouteCase => ({
      method: 'POST',
      route: '/organizations/:id',
      target,
      prepare: async (w) => {
        const org = await w.freshOrg(w.orgs[from]);
        return { org, name: org.name };
      },
      path: (_w, o) => `/organizations/${o.org!.id}`,
      body: (w, o) => ({ name: o.name!, description: '', parentId: String(w.orgs[to].id) }),
      expect,
      verify: async (w, o) =>
        expectEqual('new parent', (await sqlOne<{ parent_id: number }>(w, 'select parent_id from organizations where id = $1', [o.org!.id]))?.parent_id, w.orgs[to].id),
    }),
  ),

  // Delete.
  ...(
    [
      ['a new empty child of A11 (inside)', 'A11', statuses(303, 303, 303, 403)],
      ['a new empty child of B (outside)', 'B', statuses(303, 404, 404, 403)],
      ['a new empty child of A (outside, ancestor)', 'A', statuses(303, 404, 404, 403)],
    ] as const
  ).map(
    ([target, parent, expect]): RouteCase => ({
      method: 'POST',
      route: '/organizations/:id/delete',
      target,
      prepare: async (w) => ({ org: await w.freshOrg(w.orgs[parent]) }),
      path: (_w, o) => `/organizations/${o.org!.id}/delete`,
      expect,
      location: (w) => `/organizations/${w.orgs[parent].id}`,
      verify: async (w, o) => expectEqual('organization deleted', await sqlOne(w, 'select 1 from organizations where id = $1', [o.org!.id]), undefined),
    }),
  ),
  // Not empty (Administrator: 409, the page says what is inside) or not deletable at all.
  ...(
    [
      ['A1', statuses(409, 403, 403, 403)],
      ['A', statuses(409, 404, 404, 403)],
      ['global', statuses(403, 404, 404, 403)],
    ] as const
  ).map(
    ([key, expect]): RouteCase => ({ method: 'POST', route: '/organizations/:id/delete', target: ORG_LABELS[key], path: (w) => `/organizations/${w.orgs[key].id}/delete`, expect }),
  ),

  // Add members (the picker's POST), with the visibility setting as stated.
  ...(
    [
      ['A1', 'a new user only in A11 (inside)', ['A11'], ['member'], true, statuses(303, 303, 303, 403)],
      ['A1', 'a new user in A11 and B (inside and outside)', ['A11', 'B'], ['member'], true, statuses(303, 303, 303, 403)],
      ['A11', 'a new user only in B (outside), visibility limited', ['B'], ['member'], true, statuses(303, 404, 404, 403)],
      ['A11', 'a new user only in B (outside), visibility not limited', ['B'], ['member'], false, statuses(303, 303, 303, 403)],
      ['A1', 'a new Administrator in A11, visibility limited', ['A11'], ['administrator'], true, statuses(303, 404, 404, 403)],
      ['A1', 'a new Administrator in B, visibility not limited', ['B'], ['administrator'], false, statuses(303, 404, 404, 403)],
      ['B', 'a new user only in A11 (organization outside)', ['A11'], ['member'], false, statuses(303, 404, 404, 403)],
      ['A', 'a new user only in A11 (organization is the ancestor A)', ['A11'], ['member'], false, statuses(303, 404, 404, 403)],
    ] as const
  ).map(
    ([org, target, memberships, roles, limit, expect]): RouteCase => ({
      method: 'POST',
      route: '/organizations/:id/members',
      target: `${ORG_LABELS[org]} ← ${target}`,
      prepare: async (w) => {
        await w.setLimitVisibility(limit);
        return { user: await w.freshUser(memberships.map((k) => w.orgs[k]), [...roles]) };
      },
      path: (w) => `/organizations/${w.orgs[org].id}/members`,
      body: (_w, o) => ({ userIds: [String(o.user!.id)] }),
      expect,
      location: (w) => `/organizations/${w.orgs[org].id}`,
      verify: async (w, o) => expectEqual('membership added', await membership(w, o.user!.id, w.orgs[org].id), { is_admin: false }),
    }),
  ),

  // Remove a member.
  ...(
    [
      ['A11', 'a new user in A11 and A1 (inside)', ['A11', 'A1'], ['member'], statuses(303, 303, 303, 403)],
      ['A11', 'a new user in A11 and B (inside and outside)', ['A11', 'B'], ['member'], statuses(303, 303, 303, 403)],
      ['A11', 'a new user only in A11 (their last membership)', ['A11'], ['member'], statuses(409, 409, 409, 403)],
      ['B', 'a new user in B and A11 (organization outside)', ['B', 'A11'], ['member'], statuses(303, 404, 404, 403)],
      ['A11', 'a new Administrator in A11 and A1', ['A11', 'A1'], ['administrator'], statuses(303, 403, 403, 403)],
    ] as const
  ).map(
    ([org, target, memberships, roles, expect]): RouteCase => ({
      method: 'POST',
      route: '/organizations/:id/members/:userId/delete',
      target: `${ORG_LABELS[org]} → ${target}`,
      prepare: async (w) => ({ user: await w.freshUser(memberships.map((k) => w.orgs[k]), [...roles]) }),
      path: (w, o) => `/organizations/${w.orgs[org].id}/members/${o.user!.id}/delete`,
      expect,
      location: (w) => `/organizations/${w.orgs[org].id}`,
      verify: async (w, o) => expectEqual('membership removed', await membership(w, o.user!.id, w.orgs[org].id), undefined),
    }),
  ),
  {
    method: 'POST',
    route: '/organizations/:id/members/:userId/delete',
    target: "the actor's own membership of their current organization",
    prepare: async (w, actor) => ({ org: actor === 'administrator' ? w.orgs.global : w.orgs.A1 }),
    path: (w, o, actor) => `/organizations/${o.org!.id}/members/${w.accounts[actor === 'anonymous' ? 'orgAdminWithUsers' : actor].id}/delete`,
    // The Administrator's only membership is Global: "belongs to no other organization" (409).
    expect: statuses(409, 403, 403, 403),
  },

  // Set or clear the organization-administrator flag.
  ...(
    [
      ['A11', 'a new user only in A11 (inside)', ['A11'], ['member'], statuses(303, 303, 303, 403)],
      ['A11', 'a new user in A11 and B (inside and outside)', ['A11', 'B'], ['member'], statuses(303, 303, 303, 403)],
      ['B', 'a new user only in B (organization outside)', ['B'], ['member'], statuses(303, 404, 404, 403)],
      ['A', 'a new user only in A (organization is the ancestor A)', ['A'], ['member'], statuses(303, 404, 404, 403)],
      ['A11', 'a new Administrator in A11', ['A11'], ['administrator'], statuses(303, 403, 403, 403)],
    ] as const
  ).map(
    ([org, target, memberships, roles, expect]): RouteCase => ({
      method: 'POST',
      route: '/organizations/:id/members/:userId/admin',
      target: `${ORG_LABELS[org]} → ${target}`,
      prepare: async (w) => ({ user: await w.freshUser(memberships.map((k) => w.orgs[k]), [...roles]) }),
      path: (w, o) => `/organizations/${w.orgs[org].id}/members/${o.user!.id}/admin`,
      body: () => ({ isAdmin: 'true' }),
      expect,
      location: (w) => `/organizations/${w.orgs[org].id}`,
      verify: async (w, o) => expectEqual('administrator flag', await membership(w, o.user!.id, w.orgs[org].id), { is_admin: true }),
    }),
  ),
  {
    method: 'POST',
    route: '/organizations/:id/members/:userId/admin',
    target: "the actor's own flag in their current organization (clear it)",
    prepare: async (w, actor) => ({ org: actor === 'administrator' ? w.orgs.global : w.orgs.A1 }),
    path: (w, o, actor) => `/organizations/${o.org!.id}/members/${w.accounts[actor === 'anonymous' ? 'orgAdminWithUsers' : actor].id}/admin`,
    body: () => ({ isAdmin: 'false' }),
    expect: statuses(303, 403, 403, 403),
  },
  {
    method: 'POST',
    route: '/organizations/:id/members/:userId/admin',
    target: 'the fixed Administrator in A11 (flag it)',
    path: (w) => `/organizations/${w.orgs.A11.id}/members/${w.users.administratorInside.id}/admin`,
    body: () => ({ isAdmin: 'true' }),
    expect: statuses(303, 403, 403, 403),
  },
];

export const USER_CASES: RouteCase[] = [{ method: 'GET', route: '/users', target: 'the users list', path: () => '/users', expect: statuses(200, 200, 200, 403) }];

export const SETTINGS_CASES: RouteCase[] = [
  { method: 'GET', route: '/settings', target: 'the settings (redirects to the first tab)', path: () => '/settings', expect: statuses(303, 403, 403, 403), location: () => '/settings/portal' },
  { method: 'GET', route: '/settings/portal', target: 'the Portal tab', path: () => '/settings/portal', expect: statuses(200, 403, 403, 403) },
  {
    method: 'POST',
    route: '/settings/portal',
    target: 'Limit Organization Members Visibility',
    prepare: async (w) => {
      await w.setLimitVisibility(false);
      return {};
    },
    path: () => '/settings/portal',
    body: () => ({ limitMemberVisibility: 'yes' }),
    expect: statuses(303, 403, 403, 403),
    location: () => '/settings/portal',
    verify: async (w) => expectEqual('setting', await sqlOne(w, 'select limit_member_visibility from client_settings', []), { limit_member_visibility: true }),
  },
];

export const AUDIT_CASES: RouteCase[] = [{ method: 'GET', route: '/audit', target: 'the audit log', path: () => '/audit', expect: statuses(200, 403, 403, 403) }];

/** Every row; later features append theirs. */
export const MATRIX_CASES: RouteCase[] = [
  ...ORGANIZATION_CASES,
  ...USER_CASES,
  ...SETTINGS_CASES,
  ...AUDIT_CASES,
  ...CONTACTS_CASES,
  ...USERS_CASES,
  ...CUSTOM_PROPERTIES_CASES,
  ...CREDENTIALS_CASES,
  ...MAIL_CASES,
  ...PASSWORD_SETTINGS_CASES,
  ...IMPORT_CASES,
  ...ESCALATION_CASES,
  ...IDENTITY_PROVIDER_CASES,
];

interface RouterLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
}

/** `METHOD /path` of every route of the running app under one of `prefixes` (Express 5 router). */
export function registeredRoutes(t: TestApp, prefixes: string[]): string[] {
  const express = t.app.getHttpAdapter().getInstance() as { router?: { stack: RouterLayer[] } };
  if (!express.router || !Array.isArray(express.router.stack)) throw new Error('The Express app has no router stack (not Express 5?)');
  const out = new Set<string>();
  for (const layer of express.router.stack) {
    if (!layer.route) continue;
    for (const path of Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path]) {
      if (!prefixes.some((p) => path === p || path.startsWith(`${p}/`))) continue;
      for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== 'head' && method !== '_all') out.add(`${method.toUpperCase()} ${path}`);
    }
  }
  return [...out].sort();
}
