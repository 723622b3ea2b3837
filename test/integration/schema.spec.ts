import { createTestApp, TestApp } from '../support/app';
import { createOrganization, createUser, globalOrganization, OrgRow } from '../support/factories';
import { buildWorld } from '../support/world';

/** Constraints and triggers of the core schema: the database itself keeps these rules. */
describe('core schema', () => {
  let t: TestApp;
  let global: OrgRow;
  beforeAll(async () => {
    t = await createTestApp();
    global = await globalOrganization(t);
  });
  afterAll(async () => {
    await t.close();
  });

  const violation = (promise: Promise<unknown>) => promise.then(() => null, (e: { code?: string; constraint?: string }) => e);

  it('maintains the materialized path of the organization tree, including moves of whole subtrees', async () => {
    const { A: a, A1: a1, A11: a11, B: b } = (await buildWorld(t)).org;
    expect(a11.path).toBe(`${global.path}${a.id}/${a1.id}/${a11.id}/`);

    await t.sql('update organizations set parent_id = $1 where id = $2', [b.id, a1.id]);
    const rows = await t.sql<{ id: number; path: string; depth: number }>('select id, path, depth from organizations where id = any($1) order by id', [[a1.id, a11.id]]);
    expect(rows).toEqual([
      { id: a1.id, path: `${b.path}${a1.id}/`, depth: 2 },
      { id: a11.id, path: `${b.path}${a1.id}/${a11.id}/`, depth: 3 },
    ]);
  });

  it('refuses to move an organization into its own subtree', async () => {
    const x = await createOrganization(t, 'X');
    const x1 = await createOrganization(t, 'X1', x);
    const error = await violation(t.sql('update organizations set parent_id = $1 where id = $2', [x1.id, x.id]));
    expect(error).toMatchObject({ code: '23514', constraint: 'organizations_no_cycle' });
    expect((await t.sql<{ path: string }>('select path from organizations where id = $1', [x.id]))[0].path).toBe(x.path);
  });

  it('keeps sibling names unique case-insensitively, and a single root', async () => {
    await createOrganization(t, 'Sales');
    expect(await violation(createOrganization(t, 'sales'))).toMatchObject({ constraint: 'organizations_sibling_name_unique' });
    expect(await violation(t.sql(`insert into organizations (name) values ('Another root')`))).toMatchObject({ constraint: 'organizations_single_root' });
  });

  it('keeps usernames unique case-insensitively', async () => {
    await createUser(t, { username: 'jsmith' });
    expect(await violation(createUser(t, { username: 'JSmith' }))).toMatchObject({ constraint: 'users_username_unique' });
  });

  it("copies the contact's e-mail to the user and keeps user e-mails unique, also when a contact is edited", async () => {
    const first = await createUser(t, { username: 'mail1', email: 'Same@example.org' });
    expect((await t.sql<{ email: string }>('select email from users where id = $1', [first.id]))[0].email).toBe('Same@example.org');
    expect(await violation(createUser(t, { username: 'mail2', email: 'same@EXAMPLE.org' }))).toMatchObject({ constraint: 'users_email_unique' });

    const other = await createUser(t, { username: 'mail3', email: 'other@example.org' });
    const [{ contact_id }] = await t.sql<{ contact_id: number }>('select contact_id from users where id = $1', [other.id]);
    expect(await violation(t.sql(`update contacts set email = 'same@example.org' where id = $1`, [contact_id]))).toMatchObject({
      constraint: 'users_email_unique',
    });
    await t.sql(`update contacts set email = 'renamed@example.org' where id = $1`, [contact_id]);
    expect((await t.sql<{ email: string }>('select email from users where id = $1', [other.id]))[0].email).toBe('renamed@example.org');
  });

  it("keeps the user's copy of the contact's full name (searched by the users list) in step, and ignores direct writes", async () => {
    const u = await createUser(t, { username: 'named1' });
    const [{ contact_id }] = await t.sql<{ contact_id: number }>('select contact_id from users where id = $1', [u.id]);
    const copy = async () => (await t.sql<{ full_name: string; contact_name: string }>(
      'select u.full_name, c.full_name as contact_name from users u join contacts c on c.id = u.contact_id where u.id = $1',
      [u.id],
    ))[0];
    const created = await copy();
    expect(created.full_name).toBe(created.contact_name);
    await t.sql(`update contacts set full_name = 'Zoë Ångström' where id = $1`, [contact_id]);
    expect(await copy()).toEqual({ full_name: 'Zoë Ångström', contact_name: 'Zoë Ångström' });
    await t.sql(`update users set full_name = 'Someone Else' where id = $1`, [u.id]);
    expect((await copy()).full_name).toBe('Zoë Ångström');
  });

  it('links a contact to at most one user and keeps external ids unique per provider', async () => {
    const u = await createUser(t, { username: 'linked' });
    const [{ contact_id }] = await t.sql<{ contact_id: number }>('select contact_id from users where id = $1', [u.id]);
    expect(await violation(t.sql(`insert into users (contact_id, username) values ($1, 'second')`, [contact_id]))).toMatchObject({
      constraint: 'users_contact_unique',
    });
    const sso1 = await createUser(t, { username: 'sso1', provider: 'azure', password: null });
    const sso2 = await createUser(t, { username: 'sso2', provider: 'azure', password: null });
    await t.sql(`update users set external_id = 'E-1' where id = $1`, [sso1.id]);
    expect(await violation(t.sql(`update users set external_id = 'E-1' where id = $1`, [sso2.id]))).toMatchObject({
      constraint: 'users_provider_external_id_unique',
    });
  });

  it('never stores a password for an SSO user', async () => {
    const error = await violation(createUser(t, { username: 'sso-with-password', provider: 'azure', password: 'Secret-pass-1' }));
    expect(error).toMatchObject({ constraint: 'users_sso_has_no_password' });
  });

  it('allows one membership per user and organization', async () => {
    const org = await createOrganization(t, 'Members');
    const u = await createUser(t, { username: 'member1', memberships: [{ org }] });
    expect(await violation(t.sql('insert into memberships (user_id, organization_id) values ($1, $2)', [u.id, org.id]))).toMatchObject({
      constraint: 'memberships_user_organization_unique',
    });
  });
  it('keeps department and custom property names unique regardless of case', async () => {
    await t.sql(`insert into departments (name) values ('Sales')`);
    expect(await violation(t.sql(`insert into departments (name) values ('SALES')`))).toMatchObject({ constraint: 'departments_name_unique' });
    await t.sql(`insert into custom_properties (name) values ('Cost centre')`);
    expect(await violation(t.sql(`insert into custom_properties (name) values ('cost CENTRE')`))).toMatchObject({
      constraint: 'custom_properties_name_unique',
    });
  });

  it('lets a single-valued custom property hold one value per user, a multi-valued one several', async () => {
    const u = await createUser(t, { username: 'props' });
    const [single] = await t.sql<{ id: number }>(`insert into custom_properties (name) values ('Site') returning id`);
    const [multi] = await t.sql<{ id: number }>(`insert into custom_properties (name, multi_valued) values ('Skills', true) returning id`);
    await t.sql(`insert into user_property_values (user_id, property_id, value) values ($1, $2, 'Berlin')`, [u.id, single.id]);
    expect(await violation(t.sql(`insert into user_property_values (user_id, property_id, value) values ($1, $2, 'Paris')`, [u.id, single.id]))).toMatchObject({
      constraint: 'user_property_values_single',
    });
    await t.sql(`insert into user_property_values (user_id, property_id, value) values ($1, $2, 'Go'), ($1, $2, 'SQL')`, [u.id, multi.id]);
    const rows = await t.sql<{ value: string }>('select value from user_property_values where user_id = $1 order by value', [u.id]);
    expect(rows.map((r) => r.value)).toEqual(['Berlin', 'Go', 'SQL']);
    // Making a property single-valued while a user holds several of its values is refused.
    expect(await violation(t.sql('update custom_properties set multi_valued = false where id = $1', [multi.id]))).toMatchObject({
      constraint: 'user_property_values_single',
    });
    await t.sql(`delete from user_property_values where property_id = $1 and value = 'SQL'`, [multi.id]);
    await t.sql('update custom_properties set multi_valued = false where id = $1', [multi.id]);
    expect(await violation(t.sql(`insert into user_property_values (user_id, property_id, value) values ($1, $2, 'Rust')`, [u.id, multi.id]))).toMatchObject({
      constraint: 'user_property_values_single',
    });
  });
});
