import type { OrgRow } from '../factories';
import type { ActorKey, CaseObjects, Expectations, MatrixWorld, RouteCase } from '../authorization-matrix';

/** (Administrator, org admin with users, org admin without users, plain member with users); a local copy avoids a circular import. */
function statuses(administrator: number, orgAdminWithUsers: number, orgAdminWithoutUsers: number, plainMemberWithUsers: number): Expectations {
  return { administrator, orgAdminWithUsers, orgAdminWithoutUsers, plainMemberWithUsers };
}

/**
 * Matrix rows of the contacts pages, Enable Access, and Settings → Interface / Departments.
 * Every non-Administrator works in A1; the User manager role holds manage_contacts and manage_users.
 */

type OrgKey = keyof MatrixWorld['orgs'];

const LABELS: Record<OrgKey, string> = {
  global: 'Global (outside, root)',
  A: 'A (outside, ancestor of A1)',
  A1: 'A1 (own current organization)',
  A11: 'A11 (inside)',
  B: 'B (outside, other branch)',
};

const KEYS: OrgKey[] = ['A11', 'A1', 'A', 'B', 'global'];
const inside = (key: OrgKey) => key === 'A1' || key === 'A11';

/** Seeing a contact (or its organization): the org admin with User manager inside only; the others have no contact permission. */
function seeing(key: OrgKey, ok = 200): Expectations {
  return inside(key) ? statuses(ok, ok, 403, 403) : statuses(ok, 404, 403, 403);
}

async function freshContact(w: MatrixWorld, org: OrgRow, kind: 'person' | 'organization' = 'person'): Promise<{ id: number; name: string }> {
  const last = w.unique('Contact').replace(/[^A-Za-z0-9]/g, '');
  const [row] = await w.t.sql<{ id: number }>(
    `insert into contacts (kind, first_name, last_name, full_name, email, organization_id) values ($1, $2, $3, $4, null, $5) returning id`,
    [kind, kind === 'person' ? 'Matrix' : null, kind === 'person' ? last : null, kind === 'person' ? `Matrix ${last}` : last, org.id],
  );
  return { id: row.id, name: last };
}

async function one<T>(w: MatrixWorld, text: string, params: unknown[]): Promise<T | undefined> {
  return (await w.t.sql<T>(text, params))[0];
}

function expectEqual(what: string, actual: unknown, expected: unknown): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

const userOf = (w: MatrixWorld, contactId: number) => one<{ id: number }>(w, 'select id from users where contact_id = $1', [contactId]);

const contact = (o: CaseObjects) => o.contact as { id: number; name: string };

export const CONTACTS_CASES: RouteCase[] = [
  { method: 'GET', route: '/contacts', target: 'the contacts list', path: () => '/contacts', expect: statuses(200, 200, 403, 403) },
  ...KEYS.map(
    (key): RouteCase => ({
      method: 'GET',
      route: '/contacts',
      target: `filtered by ${LABELS[key]}`,
      path: (w) => `/contacts?org=${w.orgs[key].id}`,
      expect: seeing(key),
    }),
  ),
  ...KEYS.map(
    (key): RouteCase => ({
      method: 'GET',
      route: '/contacts/new',
      target: `home ${LABELS[key]}`,
      path: (w) => `/contacts/new?kind=person&org=${w.orgs[key].id}`,
      expect: seeing(key),
    }),
  ),
  ...(['A11', 'A1', 'B', 'A'] as const).map(
    (key): RouteCase => ({
      method: 'POST',
      route: '/contacts',
      target: `a person at home in ${LABELS[key]}`,
      prepare: async (w) => ({ name: w.unique('Created').replace(/[^A-Za-z0-9]/g, '') }),
      path: () => '/contacts',
      body: (w, o) => ({ kind: 'person', firstName: 'Made', lastName: o.name!, organizationId: String(w.orgs[key].id) }),
      expect: seeing(key, 303),
      location: () => /^\/contacts\/\d+$/,
      verify: async (w, o) =>
        expectEqual('created contact', await one(w, 'select organization_id from contacts where last_name = $1', [o.name]), { organization_id: w.orgs[key].id }),
    }),
  ),
  ...(['GET /contacts/:id', 'GET /contacts/:id/edit', 'GET /contacts/:id/delete'] as const).flatMap((route) =>
    (['A11', 'A1', 'B', 'A'] as const).map(
      (key): RouteCase => ({
        method: 'GET',
        route: route.split(' ')[1],
        target: `a contact at home in ${LABELS[key]}`,
        prepare: async (w) => ({ contact: await freshContact(w, w.orgs[key]) }),
        path: (_w, o) => route.split(' ')[1].replace(':id', String(contact(o).id)),
        expect: seeing(key),
      }),
    ),
  ),
  ...(['A11', 'B'] as const).map(
    (key): RouteCase => ({
      method: 'POST',
      route: '/contacts/:id',
      target: `rename a contact at home in ${LABELS[key]}`,
      prepare: async (w) => ({ contact: await freshContact(w, w.orgs[key]), name: w.unique('Renamed').replace(/[^A-Za-z0-9]/g, '') }),
      path: (_w, o) => `/contacts/${contact(o).id}`,
      body: (w, o) => ({ firstName: 'Matrix', lastName: o.name!, organizationId: String(w.orgs[key].id) }),
      expect: seeing(key, 303),
      location: (_w, o) => `/contacts/${contact(o).id}`,
      verify: async (w, o) => expectEqual('renamed', await one(w, 'select last_name from contacts where id = $1', [contact(o).id]), { last_name: o.name }),
    }),
  ),
  {
    method: 'POST',
    route: '/contacts/:id',
    target: 'move a contact of A11 (inside) to B (outside)',
    prepare: async (w) => ({ contact: await freshContact(w, w.orgs.A11) }),
    path: (_w, o) => `/contacts/${contact(o).id}`,
    body: (w, o) => ({ firstName: 'Matrix', lastName: contact(o).name, organizationId: String(w.orgs.B.id) }),
    expect: statuses(303, 404, 403, 403),
    verify: async (w, o) => expectEqual('moved', await one(w, 'select organization_id from contacts where id = $1', [contact(o).id]), { organization_id: w.orgs.B.id }),
  },
  ...(['A11', 'B'] as const).map(
    (key): RouteCase => ({
      method: 'POST',
      route: '/contacts/:id/delete',
      target: `a contact without user at home in ${LABELS[key]}`,
      prepare: async (w) => ({ contact: await freshContact(w, w.orgs[key], 'organization') }),
      path: (_w, o) => `/contacts/${contact(o).id}/delete`,
      expect: seeing(key, 303),
      location: () => '/contacts',
      verify: async (w, o) => expectEqual('deleted', await one(w, 'select id from contacts where id = $1', [contact(o).id]), undefined),
    }),
  ),
  {
    method: 'POST',
    route: '/contacts/:id/delete',
    target: 'the contact of the fixed user in A11 (has a user)',
    prepare: async (w) => ({ contact: { id: (await one<{ contact_id: number }>(w, 'select contact_id from users where id = $1', [w.users.inside.id]))!.contact_id, name: '' } }),
    path: (_w, o) => `/contacts/${contact(o).id}/delete`,
    expect: statuses(409, 409, 403, 403),
  },
  ...(['A11', 'A1', 'B', 'A'] as const).map(
    (key): RouteCase => ({
      method: 'POST',
      route: '/contacts/:id/enable-access',
      target: `a contact without user at home in ${LABELS[key]}`,
      prepare: async (w) => ({ contact: await freshContact(w, w.orgs[key]) }),
      path: (_w, o) => `/contacts/${contact(o).id}/enable-access`,
      expect: seeing(key, 303),
      location: () => /^\/users\/\d+$/,
      verify: async (w, o) => {
        const user = await userOf(w, contact(o).id);
        if (!user) throw new Error('no user was created');
        expectEqual('membership', await one(w, 'select organization_id from memberships where user_id = $1', [user.id]), { organization_id: w.orgs[key].id });
      },
    }),
  ),
  {
    method: 'POST',
    route: '/contacts/:id/enable-access',
    target: 'the contact of the fixed user in A11 (already has a user)',
    prepare: async (w) => ({ contact: { id: (await one<{ contact_id: number }>(w, 'select contact_id from users where id = $1', [w.users.inside.id]))!.contact_id, name: '' } }),
    path: (_w, o) => `/contacts/${contact(o).id}/enable-access`,
    expect: statuses(409, 409, 403, 403),
  },
  ...(['A11', 'B'] as const).map(
    (key): RouteCase => ({
      method: 'POST',
      route: '/contacts/enable-access',
      target: `bulk, one contact at home in ${LABELS[key]}`,
      prepare: async (w) => ({ contact: await freshContact(w, w.orgs[key]) }),
      path: () => '/contacts/enable-access',
      body: (_w, o) => ({ ids: [String(contact(o).id)] }),
      // The bulk action answers with the list; a contact out of scope is skipped as "not found".
      expect: statuses(303, 303, 403, 403),
      location: () => '/contacts',
      verify: async (w, o, actor: ActorKey) => {
        const user = await userOf(w, contact(o).id);
        const shouldExist = actor === 'administrator' || inside(key);
        if (Boolean(user) !== shouldExist) throw new Error(shouldExist ? 'no user was created' : 'a user was created for a contact out of scope');
      },
    }),
  ),

  // Settings → Interface and Departments: Administrators only (manage_settings in Global).
  { method: 'GET', route: '/settings/interface', target: 'the Interface tab', path: () => '/settings/interface', expect: statuses(200, 403, 403, 403) },
  {
    method: 'POST',
    route: '/settings/interface',
    target: 'save the username format and defaults',
    prepare: async (w) => {
      await w.t.sql(`update client_settings set username_format = '{firstname}{lastname}'`);
      const s = (await one<{ profile: number | null; licence: number | null; roles: number[] }>(
        w,
        `select default_profile_id as profile, default_licence_id as licence, array(select role_id from client_settings_default_roles) as roles from client_settings`,
        [],
      ))!;
      return { settings: s };
    },
    path: () => '/settings/interface',
    body: (_w, o) => {
      const s = o.settings as { profile: number | null; licence: number | null; roles: number[] };
      return { usernameFormat: '{f}{lastname}', defaultRoleIds: s.roles.map(String), defaultProfileId: String(s.profile ?? ''), defaultLicenceId: String(s.licence ?? '') };
    },
    expect: statuses(303, 403, 403, 403),
    location: () => '/settings/interface',
    verify: async (w) => expectEqual('format', await one(w, 'select username_format from client_settings', []), { username_format: '{f}{lastname}' }),
  },
  {
    method: 'POST',
    route: '/settings/interface/preview',
    target: 'preview a username format',
    path: () => '/settings/interface/preview',
    body: () => ({ usernameFormat: '{firstname}.{lastname}', defaultProfileId: '', defaultLicenceId: '' }),
    expect: statuses(200, 403, 403, 403),
    verify: async (w) => {
      const row = await one<{ username_format: string }>(w, 'select username_format from client_settings', []);
      if (row?.username_format === '{firstname}.{lastname}') throw new Error('the preview saved the format');
    },
  },
  { method: 'GET', route: '/settings/departments', target: 'the Departments tab', path: () => '/settings/departments', expect: statuses(200, 403, 403, 403) },
  {
    method: 'POST',
    route: '/settings/departments',
    target: 'add a department',
    prepare: async (w) => ({ name: w.unique('Department') }),
    path: () => '/settings/departments',
    body: (_w, o) => ({ name: o.name! }),
    expect: statuses(303, 403, 403, 403),
    location: () => '/settings/departments',
    verify: async (w, o) => expectEqual('department', await one(w, 'select name from departments where name = $1', [o.name]), { name: o.name }),
  },
  ...(['/settings/departments/:id/edit', '/settings/departments/:id/delete'] as const).map(
    (route): RouteCase => ({
      method: 'GET',
      route,
      target: 'a department',
      prepare: async (w) => ({ department: (await w.t.sql<{ id: number }>('insert into departments (name) values ($1) returning id', [w.unique('Department')]))[0].id }),
      path: (_w, o) => route.replace(':id', String(o.department)),
      expect: statuses(200, 403, 403, 403),
    }),
  ),
  {
    method: 'POST',
    route: '/settings/departments/:id',
    target: 'rename a department',
    prepare: async (w) => ({
      department: (await w.t.sql<{ id: number }>('insert into departments (name) values ($1) returning id', [w.unique('Department')]))[0].id,
      name: w.unique('Renamed department'),
    }),
    path: (_w, o) => `/settings/departments/${o.department}`,
    body: (_w, o) => ({ name: o.name! }),
    expect: statuses(303, 403, 403, 403),
    location: () => '/settings/departments',
    verify: async (w, o) => expectEqual('renamed', await one(w, 'select name from departments where id = $1', [o.department]), { name: o.name }),
  },
  {
    method: 'POST',
    route: '/settings/departments/:id/delete',
    target: 'delete a department',
    prepare: async (w) => ({ department: (await w.t.sql<{ id: number }>('insert into departments (name) values ($1) returning id', [w.unique('Department')]))[0].id }),
    path: (_w, o) => `/settings/departments/${o.department}/delete`,
    expect: statuses(303, 403, 403, 403),
    location: () => '/settings/departments',
    verify: async (w, o) => expectEqual('deleted', await one(w, 'select id from departments where id = $1', [o.department]), undefined),
  },
];
