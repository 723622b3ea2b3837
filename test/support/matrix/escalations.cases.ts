import type { ActorKey, CaseObjects, Expectations, MatrixWorld, RouteCase } from '../authorization-matrix';

/**
 * Rows of two rules of SPEC §3 that the home organization or the Administrator role alone does
 * not decide:
 *  - the contact of a user is changed (edited, deleted) only by sessions that may act on that user,
 *    since its e-mail address is where the user's credentials go;
 *  - a role is given or taken away only by an Administrator or by holders of all its permissions,
 *    and nobody but an Administrator changes their own roles.
 * Statuses: (Administrator, org admin of A1 with User manager, org admin of A1 without users,
 * plain member of A1 with User manager). User manager holds manage users, manage contacts, send
 * credentials and import/export users — not view audit log.
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

// ----- the contact of a user -------------------------------------------------------------------

type Owner = 'inside' | 'administrator' | 'mixed' | 'outside';

const OWNERS: Record<Owner, { label: string; orgs: ('A11' | 'B' | 'global')[]; roles: string[] }> = {
  inside: { label: 'a user only in A11', orgs: ['A11'], roles: ['member'] },
  administrator: { label: 'an Administrator (member of Global only)', orgs: ['global'], roles: ['administrator'] },
  mixed: { label: 'a user in A11 and B', orgs: ['A11', 'B'], roles: ['member'] },
  outside: { label: 'a user only in B', orgs: ['B'], roles: ['member'] },
};

/** A fresh user as named whose contact is at home in A11 (inside the actors' scope), whatever their memberships. */
async function contactOfUser(w: MatrixWorld, owner: Owner): Promise<CaseObjects> {
  const spec = OWNERS[owner];
  const user = await w.freshUser(spec.orgs.map((o) => w.orgs[o]), spec.roles);
  const [contact] = await w.t.sql<{ id: number }>(
    `update contacts set organization_id = $2, first_name = 'Matrix', last_name = 'Owner', email = $3
      where id = (select contact_id from users where id = $1) returning id`,
    [user.id, w.orgs.A11.id, `${user.username}@owners.example.org`],
  );
  return { user, contactId: contact.id };
}

const OWNER_KEYS: Owner[] = ['inside', 'administrator', 'mixed', 'outside'];
/** Only a user fully inside the subtree and not an Administrator lets the org admin with users change their contact. */
const changing = (owner: Owner, ok: number): Expectations => (owner === 'inside' ? statuses(ok, ok, 403, 403) : statuses(ok, 403, 403, 403));

const CONTACT_OF_A_USER_CASES: RouteCase[] = [
  ...OWNER_KEYS.map(
    (owner): RouteCase => ({
      method: 'GET',
      route: '/contacts/:id/edit',
      target: `a contact at home in A11 whose user is ${OWNERS[owner].label}`,
      prepare: (w) => contactOfUser(w, owner),
      path: (_w, o) => `/contacts/${o.contactId as number}/edit`,
      expect: changing(owner, 200),
    }),
  ),
  ...OWNER_KEYS.map(
    (owner): RouteCase => ({
      method: 'POST',
      route: '/contacts/:id',
      target: `change the e-mail of a contact at home in A11 whose user is ${OWNERS[owner].label}`,
      prepare: (w) => contactOfUser(w, owner),
      path: (_w, o) => `/contacts/${o.contactId as number}`,
      body: (w) => ({ firstName: 'Matrix', lastName: 'Owner', email: `${w.unique('taken')}@attacker.example`, organizationId: String(w.orgs.A11.id) }),
      expect: changing(owner, 303),
      location: (_w, o) => `/contacts/${o.contactId as number}`,
      verify: async (w, o) => {
        const row = await one<{ email: string }>(w, 'select email from users where id = $1', [o.user!.id]);
        if (!row?.email.endsWith('@attacker.example')) throw new Error(`the user's e-mail should have changed, is ${row?.email}`);
      },
    }),
  ),
  ...(['administrator', 'mixed'] as const).map(
    (owner): RouteCase => ({
      method: 'POST',
      route: '/contacts/:id/delete',
      target: `a contact at home in A11 whose user is ${OWNERS[owner].label}`,
      prepare: (w) => contactOfUser(w, owner),
      path: (_w, o) => `/contacts/${o.contactId as number}/delete`,
      // The Administrator is told the contact still has a user.
      expect: statuses(409, 403, 403, 403),
    }),
  ),
];

// ----- roles within one's own permissions ------------------------------------------------------

/** "Matrix within": permissions User manager holds. "Matrix beyond": one it does not hold. */
async function matrixRoles(w: MatrixWorld): Promise<{ within: number; beyond: number; member: number }> {
  const role = async (name: string, permissions: string[]) =>
    (await one<{ id: number }>(w, 'select id from roles where name = $1', [name]))?.id ??
    (await one<{ id: number }>(w, 'insert into roles (name, permissions) values ($1, $2) returning id', [name, permissions]))!.id;
  return {
    within: await role('Matrix within', ['manage_users', 'send_credentials']),
    beyond: await role('Matrix beyond', ['manage_users', 'view_audit_log']),
    member: (await one<{ id: number }>(w, `select id from roles where built_in_key = 'member'`, []))!.id,
  };
}

const rolesOf = async (w: MatrixWorld, userId: number) =>
  (await w.t.sql<{ role_id: number }>('select role_id from user_roles where user_id = $1 order by role_id', [userId])).map((r) => r.role_id);

const person = (o: CaseObjects) => ({ firstName: 'Matrix', lastName: o.name!, email: `${o.name!.toLowerCase()}@roles.example`, profileId: '' });

/** Editing roles of a fresh user only in A11 (all actors but the org admin with users are refused before the role rule). */
const editingRoles = (orgAdminWithUsers: number): Expectations => statuses(303, orgAdminWithUsers, 403, 403);

const ROLE_SUBSET_CASES: RouteCase[] = [
  {
    method: 'POST',
    route: '/users/:id',
    target: 'give a user only in A11 a role within User manager (manage users, send credentials)',
    prepare: async (w) => ({ user: await w.freshUser([w.orgs.A11]), name: w.unique('Within'), roles: await matrixRoles(w) }),
    path: (_w, o) => `/users/${o.user!.id}`,
    body: (_w, o) => ({ ...person(o), roleIds: [String((o.roles as { member: number }).member), String((o.roles as { within: number }).within)] }),
    expect: editingRoles(303),
    verify: async (w, o) => {
      const r = o.roles as { within: number; member: number };
      expectEqual('roles', await rolesOf(w, o.user!.id), [r.member, r.within].sort((a, b) => a - b));
    },
  },
  {
    method: 'POST',
    route: '/users/:id',
    target: 'give a user only in A11 a role beyond User manager (view audit log)',
    prepare: async (w) => ({ user: await w.freshUser([w.orgs.A11]), name: w.unique('Beyond'), roles: await matrixRoles(w) }),
    path: (_w, o) => `/users/${o.user!.id}`,
    body: (_w, o) => ({ ...person(o), roleIds: [String((o.roles as { member: number }).member), String((o.roles as { beyond: number }).beyond)] }),
    expect: editingRoles(422),
    verify: async (w, o) => {
      const r = o.roles as { beyond: number; member: number };
      expectEqual('roles', await rolesOf(w, o.user!.id), [r.member, r.beyond].sort((a, b) => a - b));
    },
  },
  {
    method: 'POST',
    route: '/users/:id',
    target: 'take a role beyond User manager away from a user only in A11',
    prepare: async (w) => {
      const roles = await matrixRoles(w);
      return { user: await w.freshUser([w.orgs.A11], ['member', 'Matrix beyond']), name: w.unique('Stripped'), roles };
    },
    path: (_w, o) => `/users/${o.user!.id}`,
    body: (_w, o) => ({ ...person(o), roleIds: [String((o.roles as { member: number }).member)] }),
    expect: editingRoles(422),
    verify: async (w, o) => expectEqual('roles', await rolesOf(w, o.user!.id), [(o.roles as { member: number }).member]),
  },
  {
    method: 'POST',
    route: '/users',
    target: 'create a user in A11 with a role beyond User manager',
    prepare: async (w) => ({ name: w.unique('created-beyond').replace(/-/g, '.'), roles: await matrixRoles(w) }),
    path: () => '/users',
    body: (w, o) => ({
      organizationId: String(w.orgs.A11.id),
      username: o.name!,
      firstName: 'Matrix',
      lastName: 'Beyond',
      email: `${o.name}@roles.example`,
      password: 'Matrix-pass-1',
      passwordConfirmation: 'Matrix-pass-1',
      roleIds: [String((o.roles as { beyond: number }).beyond)],
    }),
    expect: statuses(303, 422, 403, 403),
    location: () => /^\/users\/\d+$/,
    verify: async (w, o) => {
      const user = await one<{ id: number }>(w, 'select id from users where username = $1', [o.name]);
      expectEqual('roles', await rolesOf(w, user!.id), [(o.roles as { beyond: number }).beyond]);
    },
  },
  {
    method: 'POST',
    route: '/users/:id',
    target: "the actor's own account: add Member to their roles (the Administrator submits theirs unchanged)",
    prepare: async (w, actor) => {
      const me = w.accounts[actor === 'anonymous' ? 'orgAdminWithUsers' : actor];
      // The edit form needs a first name, a last name and an e-mail address.
      await w.t.sql(
        `update contacts set first_name = coalesce(first_name, 'Matrix'), last_name = coalesce(last_name, 'Actor'), email = coalesce(email, $2)
          where id = (select contact_id from users where id = $1)`,
        [me.id, `${me.username}@actors.example.org`],
      );
      const [contact] = await w.t.sql<{ first_name: string; last_name: string; email: string; profile_id: number | null }>(
        'select c.first_name, c.last_name, c.email, u.profile_id from users u join contacts c on c.id = u.contact_id where u.id = $1',
        [me.id],
      );
      const roles = await matrixRoles(w);
      const current = await rolesOf(w, me.id);
      return { me, contact, roleIds: actor === 'administrator' ? current : [...current, roles.member] };
    },
    path: (_w, o) => `/users/${(o.me as { id: number }).id}`,
    body: (_w, o) => {
      const c = o.contact as { first_name: string; last_name: string; email: string; profile_id: number | null };
      return { firstName: c.first_name, lastName: c.last_name, email: c.email, profileId: c.profile_id === null ? '' : String(c.profile_id), roleIds: (o.roleIds as number[]).map(String) };
    },
    expect: statuses(303, 422, 403, 403),
    verify: async (w, o, actor: ActorKey) => expectEqual(`own roles of ${actor}`, await rolesOf(w, (o.me as { id: number }).id), o.roleIds),
  },
];

export const ESCALATION_CASES: RouteCase[] = [...CONTACT_OF_A_USER_CASES, ...ROLE_SUBSET_CASES];
