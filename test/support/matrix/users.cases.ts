import type { CaseObjects, Expectations, MatrixWorld, RouteCase } from '../authorization-matrix';

/**
 * Rows of the users pages (list filters, bulk actions, Create User, the user page and its
 * actions). Expected statuses: (Administrator, org admin of A1 with manage users, org admin of A1
 * without, plain member of A1 with manage users). Only type imports from the matrix module, so
 * that it can import this file without a cycle.
 */
function statuses(administrator: number, orgAdminWithUsers: number, orgAdminWithoutUsers: number, plainMemberWithUsers: number): Expectations {
  return { administrator, orgAdminWithUsers, orgAdminWithoutUsers, plainMemberWithUsers };
}

async function one<T>(w: MatrixWorld, text: string, params: unknown[]): Promise<T | undefined> {
  return (await w.t.sql<T>(text, params))[0];
}

function expectEqual(what: string, actual: unknown, expected: unknown): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

type TargetKey = 'inside' | 'outside' | 'mixed' | 'administrator';

const TARGETS: Record<TargetKey, { label: string; orgs: ('A11' | 'B')[]; roles: string[] }> = {
  inside: { label: 'a user only in A11 (inside)', orgs: ['A11'], roles: ['member'] },
  outside: { label: 'a user only in B (outside)', orgs: ['B'], roles: ['member'] },
  mixed: { label: 'a user in A11 and B (partly outside)', orgs: ['A11', 'B'], roles: ['member'] },
  administrator: { label: 'an Administrator in A11', orgs: ['A11'], roles: ['administrator'] },
};

/** Viewing: everyone who may list users sees a user with a membership in the subtree. */
const SEE: Record<TargetKey, Expectations> = {
  inside: statuses(200, 200, 200, 403),
  outside: statuses(200, 404, 404, 403),
  mixed: statuses(200, 200, 200, 403),
  administrator: statuses(200, 200, 200, 403),
};

/** Acting (edit, enable/disable, delete, licence, sessions), with `ok` the allowed status. */
function act(key: TargetKey, ok: number): Expectations {
  if (key === 'inside') return statuses(ok, ok, 403, 403);
  if (key === 'outside') return statuses(ok, 404, 404, 403);
  return statuses(ok, 403, 403, 403);
}

const KEYS: TargetKey[] = ['inside', 'outside', 'mixed', 'administrator'];

async function fresh(w: MatrixWorld, key: TargetKey): Promise<CaseObjects> {
  const spec = TARGETS[key];
  return { user: await w.freshUser(spec.orgs.map((o) => w.orgs[o]), spec.roles) };
}

/** A fresh user locked out by failed sign-ins (the lock and the throttle's count for the username). */
async function freshLocked(w: MatrixWorld, key: TargetKey): Promise<CaseObjects> {
  const o = await fresh(w, key);
  await w.t.sql(`update users set locked_until = now() + interval '1 hour' where id = $1`, [o.user!.id]);
  await w.t.sql(`insert into login_throttle (key, failures, last_failure_at, lock_failures) values ($1, 5, now(), 0)`, [`user:${o.user!.username.toLowerCase()}`]);
  return o;
}

async function lockState(w: MatrixWorld, user: { id: number; username: string }) {
  const [row] = await w.t.sql<{ locked: boolean; throttle_rows: number }>(
    `select coalesce(locked_until > now(), false) as locked, (select count(*)::int from login_throttle where key = $2) as throttle_rows from users where id = $1`,
    [user.id, `user:${user.username.toLowerCase()}`],
  );
  return { locked: row?.locked, throttleRows: row?.throttle_rows };
}

async function userRow(w: MatrixWorld, id: number) {
  return one<{ enabled: boolean; session_version: number; licence_id: number | null }>(w, 'select enabled, session_version, licence_id from users where id = $1', [id]);
}

const FIXED: Record<TargetKey, (w: MatrixWorld) => number> = {
  inside: (w) => w.users.inside.id,
  outside: (w) => w.users.outside.id,
  mixed: (w) => w.users.mixed.id,
  administrator: (w) => w.users.administratorInside.id,
};

export const USERS_CASES: RouteCase[] = [
  { method: 'GET', route: '/users', target: 'filtered by A11 (inside) with sub-organizations', path: (w) => `/users?org=${w.orgs.A11.id}&sub=1`, expect: statuses(200, 200, 200, 403) },
  { method: 'GET', route: '/users', target: 'filtered by B (outside)', path: (w) => `/users?org=${w.orgs.B.id}`, expect: statuses(200, 404, 404, 403) },

  // Bulk enable / disable: the route needs manage users; each user is checked on its own.
  ...KEYS.map(
    (key): RouteCase => ({
      method: 'POST',
      route: '/users/bulk/disable',
      target: `select ${TARGETS[key].label}`,
      prepare: (w) => fresh(w, key),
      path: () => '/users/bulk/disable',
      body: (_w, o) => ({ ids: [String(o.user!.id)], back: '/users' }),
      expect: statuses(303, 303, 403, 403),
      location: () => '/users',
      verify: async (w, o, actor) => {
        const allowed = actor === 'administrator' || key === 'inside';
        expectEqual(`enabled after bulk disable by ${actor}`, (await userRow(w, o.user!.id))?.enabled, !allowed);
      },
    }),
  ),
  ...(['inside', 'outside'] as TargetKey[]).map(
    (key): RouteCase => ({
      method: 'POST',
      route: '/users/bulk/enable',
      target: `select a disabled ${TARGETS[key].label}`,
      prepare: async (w) => {
        const o = await fresh(w, key);
        await w.t.sql('update users set enabled = false where id = $1', [o.user!.id]);
        return o;
      },
      path: () => '/users/bulk/enable',
      body: (_w, o) => ({ ids: [String(o.user!.id)], back: '/users' }),
      expect: statuses(303, 303, 403, 403),
      location: () => '/users',
      verify: async (w, o, actor) => {
        const allowed = actor === 'administrator' || key === 'inside';
        expectEqual(`enabled after bulk enable by ${actor}`, (await userRow(w, o.user!.id))?.enabled, allowed);
      },
    }),
  ),

  // Create User.
  ...(['A11', 'A1', 'B', 'global'] as const).map(
    (org): RouteCase => ({
      method: 'GET',
      route: '/users/new',
      target: `in ${org}`,
      path: (w) => `/users/new?org=${w.orgs[org].id}`,
      expect: org === 'A11' || org === 'A1' ? statuses(200, 200, 403, 403) : statuses(200, 404, 404, 403),
    }),
  ),
  ...(['A11', 'B'] as const).map(
    (org): RouteCase => ({
      method: 'POST',
      route: '/users',
      target: `create a user in ${org}`,
      prepare: async (w) => ({ name: w.unique('created').replace(/-/g, '.') }),
      path: () => '/users',
      body: (w, o) => ({
        organizationId: String(w.orgs[org].id),
        username: o.name!,
        firstName: 'Matrix',
        lastName: 'Created',
        email: `${o.name}@matrix.example`,
        password: 'Matrix-pass-1',
        passwordConfirmation: 'Matrix-pass-1',
      }),
      expect: org === 'A11' ? statuses(303, 303, 403, 403) : statuses(303, 404, 404, 403),
      location: () => /^\/users\/\d+$/,
      verify: async (w, o) => {
        const row = await one<{ organization_id: number }>(w, 'select m.organization_id from users u join memberships m on m.user_id = u.id where u.username = $1', [o.name]);
        expectEqual(`membership of ${o.name}`, row?.organization_id, w.orgs[org].id);
      },
    }),
  ),

  // The user page and the pages of its actions.
  ...KEYS.map((key): RouteCase => ({ method: 'GET', route: '/users/:id', target: TARGETS[key].label, path: (w) => `/users/${FIXED[key](w)}`, expect: SEE[key] })),
  ...KEYS.map((key): RouteCase => ({ method: 'GET', route: '/users/:id/edit', target: TARGETS[key].label, path: (w) => `/users/${FIXED[key](w)}/edit`, expect: act(key, 200) })),
  ...KEYS.map((key): RouteCase => ({ method: 'GET', route: '/users/:id/delete', target: TARGETS[key].label, path: (w) => `/users/${FIXED[key](w)}/delete`, expect: act(key, 200) })),

  // Edit.
  ...KEYS.map(
    (key): RouteCase => ({
      method: 'POST',
      route: '/users/:id',
      target: `edit ${TARGETS[key].label}`,
      prepare: async (w) => ({ ...(await fresh(w, key)), name: w.unique('Edited') }),
      path: (_w, o) => `/users/${o.user!.id}`,
      body: (w, o) => ({
        firstName: 'Matrix',
        lastName: o.name!,
        email: `${o.name!.toLowerCase()}@matrix.example`,
        roleIds: [],
        profileId: '',
      }),
      expect: act(key, 303),
      location: (_w, o) => `/users/${o.user!.id}`,
      verify: async (w, o) =>
        expectEqual('last name', (await one<{ last_name: string }>(w, 'select c.last_name from users u join contacts c on c.id = u.contact_id where u.id = $1', [o.user!.id]))?.last_name, o.name),
    }),
  ),
  // Enable / disable / end sessions / licence / delete.
  ...KEYS.map(
    (key): RouteCase => ({
      method: 'POST',
      route: '/users/:id/disable',
      target: TARGETS[key].label,
      prepare: (w) => fresh(w, key),
      path: (_w, o) => `/users/${o.user!.id}/disable`,
      expect: act(key, 303),
      location: (_w, o) => `/users/${o.user!.id}`,
      verify: async (w, o) => {
        const row = await userRow(w, o.user!.id);
        expectEqual('disabled, sessions ended', { enabled: row?.enabled, sessionVersion: row?.session_version }, { enabled: false, sessionVersion: 2 });
      },
    }),
  ),
  ...KEYS.map(
    (key): RouteCase => ({
      method: 'POST',
      route: '/users/:id/enable',
      target: `disabled ${TARGETS[key].label}`,
      prepare: async (w) => {
        const o = await fresh(w, key);
        await w.t.sql('update users set enabled = false where id = $1', [o.user!.id]);
        return o;
      },
      path: (_w, o) => `/users/${o.user!.id}/enable`,
      expect: act(key, 303),
      location: (_w, o) => `/users/${o.user!.id}`,
      verify: async (w, o) => expectEqual('enabled', (await userRow(w, o.user!.id))?.enabled, true),
    }),
  ),
  // Unlock (after too many failed sign-ins): authorized like enable/disable.
  ...KEYS.map(
    (key): RouteCase => ({
      method: 'POST',
      route: '/users/:id/unlock',
      target: `locked ${TARGETS[key].label}`,
      prepare: (w) => freshLocked(w, key),
      path: (_w, o) => `/users/${o.user!.id}/unlock`,
      expect: act(key, 303),
      location: (_w, o) => `/users/${o.user!.id}`,
      verify: async (w, o) => expectEqual('unlocked', await lockState(w, o.user!), { locked: false, throttleRows: 0 }),
    }),
  ),
  ...KEYS.map(
    (key): RouteCase => ({
      method: 'POST',
      route: '/users/bulk/unlock',
      target: `select locked ${TARGETS[key].label}`,
      prepare: (w) => freshLocked(w, key),
      path: () => '/users/bulk/unlock',
      body: (_w, o) => ({ ids: [String(o.user!.id)], back: '/users' }),
      expect: statuses(303, 303, 403, 403),
      location: () => '/users',
      verify: async (w, o, actor) => {
        const allowed = actor === 'administrator' || key === 'inside';
        expectEqual(`lock after bulk unlock by ${actor}`, await lockState(w, o.user!), allowed ? { locked: false, throttleRows: 0 } : { locked: true, throttleRows: 1 });
      },
    }),
  ),
  ...KEYS.map(
    (key): RouteCase => ({
      method: 'POST',
      route: '/users/:id/end-sessions',
      target: TARGETS[key].label,
      prepare: (w) => fresh(w, key),
      path: (_w, o) => `/users/${o.user!.id}/end-sessions`,
      expect: act(key, 303),
      location: (_w, o) => `/users/${o.user!.id}`,
      verify: async (w, o) => expectEqual('session version', (await userRow(w, o.user!.id))?.session_version, 2),
    }),
  ),
  ...KEYS.map(
    (key): RouteCase => ({
      method: 'POST',
      route: '/users/:id/licence',
      target: `${TARGETS[key].label} → an unlimited licence`,
      prepare: async (w) => {
        const o = await fresh(w, key);
        const [l] = await w.t.sql<{ id: number }>('insert into licence_types (name, seats) values ($1, null) returning id', [w.unique('Matrix licence')]);
        return { ...o, licenceId: l.id };
      },
      path: (_w, o) => `/users/${o.user!.id}/licence`,
      body: (_w, o) => ({ licenceId: String(o.licenceId) }),
      expect: act(key, 303),
      location: (_w, o) => `/users/${o.user!.id}`,
      verify: async (w, o) => expectEqual('licence', (await userRow(w, o.user!.id))?.licence_id, o.licenceId),
    }),
  ),
  ...KEYS.map(
    (key): RouteCase => ({
      method: 'POST',
      route: '/users/:id/delete',
      target: TARGETS[key].label,
      prepare: (w) => fresh(w, key),
      path: (_w, o) => `/users/${o.user!.id}/delete`,
      expect: act(key, 303),
      location: () => '/users',
      verify: async (w, o) => expectEqual('user deleted', await userRow(w, o.user!.id), undefined),
    }),
  ),

  // The actor's own account and the built-in admin.
  {
    method: 'POST',
    route: '/users/:id/delete',
    target: "the actor's own account",
    path: (w, _o, actor) => `/users/${w.accounts[actor === 'anonymous' ? 'orgAdminWithUsers' : actor].id}/delete`,
    // The Administrator is the built-in admin; oa_member may not manage users; plain_manager may not list them.
    expect: statuses(403, 403, 403, 403),
  },
  {
    method: 'POST',
    route: '/users/:id/disable',
    target: "the actor's own account",
    path: (w, _o, actor) => `/users/${w.accounts[actor === 'anonymous' ? 'orgAdminWithUsers' : actor].id}/disable`,
    expect: statuses(403, 403, 403, 403),
  },
];
