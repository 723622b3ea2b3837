import { Client } from 'pg';
import { verifyPassword } from '../../src/accounts/password-hasher';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createOrganization, createUser, globalOrganization, OrgRow } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { openForm, RenderedForm } from '../support/forms';
import { Agent, login } from '../support/http';
import { loginTo } from '../support/sessions';
import { createLicence, createProperty } from '../support/users-factories';

/** Create User (SPEC §4): every rule of the form, duplicates (also under a race), the records it makes. */
const PASSWORD = 'Secret-pass-1';

describe('create user', () => {
  let t: TestApp;
  let admin: Agent;
  let A: OrgRow, A1: OrgRow, B: OrgRow;
  let memberRoleId: number;
  let adminRoleId: number;

  beforeAll(async () => {
    t = await createTestApp();
    A = await createOrganization(t, 'CA');
    A1 = await createOrganization(t, 'CA1', A);
    B = await createOrganization(t, 'CB');
    await createUser(t, { username: 'ca_manager', roles: ['user_manager'], memberships: [{ org: A, isAdmin: true }] });
    await createUser(t, { username: 'ca_member_admin', roles: ['member'], memberships: [{ org: A, isAdmin: true }] });
    await t.sql(`insert into departments (name) values ('Sales')`);
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    [{ id: memberRoleId }] = await t.sql<{ id: number }>(`select id from roles where built_in_key = 'member'`);
    [{ id: adminRoleId }] = await t.sql<{ id: number }>(`select id from roles where built_in_key = 'administrator'`);
  });
  afterAll(async () => {
    await t.close();
  });

  /** Typed into the form by label: a new user that passes every rule. */
  const VALID: Record<string, string> = {
    Username: 'new.user',
    'First name': 'New',
    'Last name': 'User',
    'E-mail': 'new.user@example.org',
    Password: 'Good-pass-1',
    'Password (again)': 'Good-pass-1',
  };

  /** The Create User form of `org` as the page renders it, with the valid values typed (and `typed` over them). */
  async function createForm(agent: Agent, org: OrgRow, typed: Record<string, string> = {}): Promise<RenderedForm> {
    const form = await openForm(agent, `/users/new?org=${org.id}`, 'Create User');
    for (const [label, value] of Object.entries({ ...VALID, ...typed })) form.fill(label, value);
    return form;
  }

  it('offers the form for an organization with the default roles ticked, the policy and the custom properties', async () => {
    await createProperty(t, 'Badge colour', { allowedValues: ['Red', 'Green'] });
    const res = await admin.get(`/users/new?org=${A1.id}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('belong to <strong>CA1</strong>');
    expect(res.text).toMatch(new RegExp(`id="role-${memberRoleId}" name="roleIds" value="${memberRoleId}" checked`));
    expect(res.text).toContain('Use 8 to 32 characters, a letter and a digit.');
    expect(res.text).toContain('<label for="field-department">Department</label>');
    expect(res.text).toContain('<option value="Sales" >Sales</option>');
    expect(res.text).toMatch(/<label for="field-prop_\d+">Badge colour<\/label>/);
    expect((await admin.get('/users')).text).toMatch(/<a class="button" href="\/users\/new\?org&#x3D;\d+">Create User<\/a>/);
    expect((await admin.get(`/organizations/${A1.id}`)).text).toContain(`href="/users/new?org=${A1.id}">Create User</a>`);
  });

  it('creates the contact, the user (member of the organization), roles, password and property values in one go', async () => {
    const [{ id: badge }] = await t.sql<{ id: number }>(`select id from custom_properties where name = 'Badge colour'`);
    const form = await createForm(admin, A1, { Mobile: '+1 555 0100', 'Job title': 'Analyst' });
    const res = await form.select('Department', 'Sales').select('Badge colour', 'Green').submit('Create User');
    expect(res.status).toBe(303);
    const [user] = await t.sql<Record<string, unknown> & { id: number; password_hash: string }>(
      `select u.id, u.username, u.email, u.password_hash, u.must_change_password, u.enabled,
              c.kind, c.first_name, c.last_name, c.full_name, c.mobile, c.department, c.job_title, c.organization_id,
              (select array_agg(organization_id) from memberships m where m.user_id = u.id) as orgs,
              (select array_agg(role_id) from user_roles r where r.user_id = u.id) as roles,
              (select array_agg(value) from user_property_values v where v.user_id = u.id) as props
         from users u join contacts c on c.id = u.contact_id where u.username = 'new.user'`,
    );
    expect(res.headers.location).toBe(`/users/${user.id}`);
    const { password_hash, id: _id, ...rest } = user;
    expect(rest).toEqual({
      username: 'new.user',
      email: 'new.user@example.org',
      must_change_password: true,
      enabled: true,
      kind: 'person',
      first_name: 'New',
      last_name: 'User',
      full_name: 'New User',
      mobile: '+1 555 0100',
      department: 'Sales',
      job_title: 'Analyst',
      organization_id: A1.id,
      orgs: [A1.id],
      roles: [memberRoleId],
      props: ['Green'],
    });
    expect(await verifyPassword(password_hash, 'Good-pass-1')).toBe(true);
    expect((await admin.get(`/users/${user.id}`)).text).toContain('User new.user created.');
    const audit = await t.sql<{ action: string; changes: Record<string, { from: unknown; to: unknown }> }>(
      `select action, changes from audit_events where object_type = 'user' and object_id = $1`,
      [String(user.id)],
    );
    // One entry tells the whole creation, the custom property values included.
    expect(audit.map((a) => a.action)).toEqual(['user.created']);
    expect(audit[0].changes['property: Badge colour']).toEqual({ from: null, to: 'Green' });
    expect(audit[0].changes.username).toEqual({ from: null, to: 'new.user' });
    expect(JSON.stringify(audit)).not.toContain('Good-pass-1');
    expect(JSON.stringify(audit)).not.toContain(password_hash);
  });

  it('does not ask for a password change at first sign-in when the settings say so', async () => {
    await t.sql('update client_settings set must_change_at_first_login = false');
    try {
      expect((await (await createForm(admin, A1, { Username: 'nochange', 'E-mail': 'nochange@example.org' })).submit('Create User')).status).toBe(303);
      expect((await t.sql<{ must_change_password: boolean }>(`select must_change_password from users where username = 'nochange'`))[0].must_change_password).toBe(false);
    } finally {
      await t.sql('update client_settings set must_change_at_first_login = true');
    }
  });

  // What a person types or picks (by label), the field whose error shows, and the message. A
  // department or role the form does not offer can only be forged.
  it.each<[string, (form: RenderedForm) => RenderedForm, string, string]>([
    ['a blank username', (f) => f.fill('Username', ' '), 'username', 'Enter a username.'],
    ['a username with a space', (f) => f.fill('Username', 'new user'), 'username', 'A username may contain only letters a–z, digits and . _ @ - (no spaces or accents).'],
    ['a too long username', (f) => f.fill('Username', 'u'.repeat(101)), 'username', 'A username has at most 100 characters.'],
    ['a blank first name', (f) => f.fill('First name', ''), 'firstName', 'Enter a first name.'],
    ['a blank last name', (f) => f.fill('Last name', ''), 'lastName', 'Enter a last name.'],
    ['a too long first name', (f) => f.fill('First name', 'f'.repeat(101)), 'firstName', 'Use at most 100 characters for the first name.'],
    ['a too long last name', (f) => f.fill('Last name', 'l'.repeat(101)), 'lastName', 'Use at most 100 characters for the last name.'],
    ['a blank e-mail', (f) => f.fill('E-mail', ''), 'email', 'Enter an e-mail address.'],
    ['a malformed e-mail', (f) => f.fill('E-mail', 'not-an-address'), 'email', 'Enter an e-mail address like name@example.org.'],
    ['a bad mobile number', (f) => f.fill('Mobile', 'call me'), 'mobile', 'Enter a mobile number with digits, spaces and + ( ) . / - only (up to 40 characters).'],
    ['an unknown department (forged)', (f) => f.forge('department', 'Nowhere'), 'department', 'Choose a department from the list.'],
    ['a too long job title', (f) => f.fill('Job title', 'j'.repeat(101)), 'jobTitle', 'Use at most 100 characters for the job title.'],
    ['a blank password', (f) => f.fill('Password', '').fill('Password (again)', ''), 'password', 'Enter a password.'],
    ['a short password', (f) => f.fill('Password', 'Ab1').fill('Password (again)', 'Ab1'), 'password', 'The password needs at least 8 characters.'],
    ['a password without a digit', (f) => f.fill('Password', 'Only-letters').fill('Password (again)', 'Only-letters'), 'password', 'The password needs a digit.'],
    ['a too long password', (f) => f.fill('Password', `A1${'x'.repeat(40)}`).fill('Password (again)', `A1${'x'.repeat(40)}`), 'password', 'The password needs at most 32 characters.'],
    ['a confirmation that differs', (f) => f.fill('Password (again)', 'Good-pass-2'), 'passwordConfirmation', 'The two passwords do not match.'],
    ['an unknown role (forged)', (f) => f.forge('roleIds', ['999999']), 'roleIds', 'Choose roles from the list.'],
  ])('refuses %s with its message next to the field, keeping the typed values but never the password', async (_what, change, shown, message) => {
    const before = await databaseFingerprint(t, { includeAudit: true });
    const form = await createForm(admin, A1, { Username: 'typed.user', 'E-mail': 'typed@example.org' });
    const res = await change(form).submit('Create User');
    expect(res.status).toBe(422);
    expect(res.text).toMatch(new RegExp(`<p class="field-error" id="error-${shown}">${escapeRegExp(escapeHtml(message))}</p>`));
    expect(res.text).toContain(`<a href="#field-${shown}">`);
    if (shown !== 'firstName') expect(res.text).toContain('value="New"');
    expect(res.text).not.toContain('Good-pass-1');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('refuses a custom property value outside its allowed values', async () => {
    const [{ id: badge }] = await t.sql<{ id: number }>(`select id from custom_properties where name = 'Badge colour'`);
    // The pull-down offers no such value: only a forged form can send it.
    const form = await createForm(admin, A1, { Username: 'prop.user', 'E-mail': 'prop@example.org' });
    expect(form.optionsOf('Badge colour')).toEqual(['(none)', 'Red', 'Green']);
    const res = await form.forge(`prop_${badge}`, 'Purple').submit('Create User');
    expect(res.status).toBe(422);
    expect(res.text).toContain(`<p class="field-error" id="error-prop_${badge}">Badge colour: choose values from the list.</p>`);
  });

  it('refuses a duplicate username or e-mail in any case', async () => {
    await createUser(t, { username: 'Existing', email: 'Existing@Example.org', memberships: [{ org: A1 }] });
    const before = await databaseFingerprint(t, { includeAudit: true });
    const name = await (await createForm(admin, A1, { Username: 'EXISTING', 'E-mail': 'other@example.org' })).submit('Create User');
    expect(name.status).toBe(422);
    expect(name.text).toContain('The username EXISTING is already taken.');
    const mail = await (await createForm(admin, A1, { Username: 'someone.else', 'E-mail': 'existing@EXAMPLE.org' })).submit('Create User');
    expect(mail.status).toBe(422);
    expect(mail.text).toContain('The e-mail address existing@EXAMPLE.org is already used by the user Existing.');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('names the user who holds an e-mail address only to someone who may see that user', async () => {
    await createUser(t, { username: 'inside.holder', email: 'inside@example.org', memberships: [{ org: A1 }] });
    await createUser(t, { username: 'outside.holder', email: 'outside@example.org', memberships: [{ org: B }] });
    const manager = await loginTo(t, 'ca_manager', PASSWORD, A);
    const before = await databaseFingerprint(t, { includeAudit: true });
    for (const [agent, email, holder] of [
      [manager, 'inside@example.org', 'the user inside.holder'],
      [manager, 'outside@example.org', 'another user'],
      [admin, 'outside@example.org', 'the user outside.holder'],
    ] as const) {
      const refused = await (await createForm(agent, A1, { Username: 'taken.mail', 'E-mail': email })).submit('Create User');
      expect(refused.status).toBe(422);
      expect(refused.text).toContain(`The e-mail address ${email} is already used by ${holder}.`);
      if (agent === manager && holder === 'another user') expect(refused.text).not.toContain('outside.holder');
    }
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('under a race of two identical posts, one creates the user and the other gets a form error, never a 500', async () => {
    for (const [username, email] of [
      ['race.one', 'race.one@example.org'],
      ['race.two', 'race.two@example.org'],
    ]) {
      const second = await login(t.http, 'admin', ADMIN_PASSWORD);
      const forms = [await createForm(admin, A1, { Username: username, 'E-mail': email }), await createForm(second, A1, { Username: username, 'E-mail': email })];
      const results = await Promise.all(forms.map((form) => form.submit('Create User')));
      expect(results.map((r) => r.status).sort()).toEqual([303, 422]);
      const refused = results.find((r) => r.status === 422)!;
      expect(refused.text).toMatch(/is already taken|is already used by the user/);
      expect(await t.sql('select 1 from users where username = $1', [username])).toHaveLength(1);
      expect(await t.sql('select 1 from contacts where email = $1', [email])).toHaveLength(1);
    }
  });

  it('maps the database unique indexes to field errors when a concurrent insert wins after the form check', async () => {
    // Another transaction holds an uncommitted user with the same username (or e-mail): the form's
    // check cannot see it, the insert waits for it, and the unique index decides after its commit.
    for (const [username, email, field, message] of [
      ['held.name', 'held.other@example.org', 'username', 'The username held.name is already taken.'],
      ['held.mail.other', 'held.mail@example.org', 'email', 'The e-mail address held.mail@example.org is already used by the user held.mail.'],
    ]) {
      const other = new Client({ connectionString: t.db.url });
      await other.connect();
      try {
        await other.query('begin');
        const heldName = field === 'username' ? username : 'held.mail';
        const heldEmail = field === 'email' ? email : 'held.name@example.org';
        const { rows } = await other.query(`insert into contacts (kind, full_name, email, organization_id) values ('person', 'Held', $1, $2) returning id`, [heldEmail, A1.id]);
        await other.query('insert into users (contact_id, username) values ($1, $2)', [rows[0].id, heldName]);
        const form = await createForm(admin, A1, { Username: username, 'E-mail': email });
        const pending = form.submit('Create User').then((r) => r);
        let blocked = false;
        for (let i = 0; i < 400 && !blocked; i++) {
          const [{ n }] = await t.sql<{ n: number }>(`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`);
          blocked = n > 0;
          if (blocked) break;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        expect(blocked).toBe(true); // the request passed the form's check and waits on the index
        await other.query('commit');
        const res = await pending;
        expect(res.status).toBe(422);
        expect(res.text).toContain(`<p class="field-error" id="error-${field}">${escapeHtml(message)}</p>`);
        expect(await t.sql('select 1 from contacts where email = $1 and full_name = $2', [email, 'New User'])).toHaveLength(0);
      } finally {
        await other.end();
      }
    }
  });

  it('reports a full default licence on the form and creates nothing', async () => {
    const full = await createLicence(t, 'Full default', 0);
    await t.sql('update client_settings set default_licence_id = $1', [full]);
    try {
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await (await createForm(admin, A1, { Username: 'nolicence', 'E-mail': 'nolicence@example.org' })).submit('Create User');
      expect(res.status).toBe(422);
      expect(res.text).toContain('Licence &quot;Full default&quot; is full: 0 of 0 seats used.');
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    } finally {
      await t.sql(`update client_settings set default_licence_id = (select id from licence_types where built_in_key = 'standard')`);
    }
  });

  it('lets an organization administrator with manage users create users in their subtree, without the Administrator role', async () => {
    const m = await loginTo(t, 'ca_manager', PASSWORD, A);
    expect((await m.get(`/users/new?org=${A1.id}`)).status).toBe(200);
    expect((await m.get(`/users/new?org=${B.id}`)).status).toBe(404);
    const global = await globalOrganization(t);
    expect((await m.get(`/users/new?org=${global.id}`)).status).toBe(404);
    const ok = await (await createForm(m, A1, { Username: 'by.manager', 'E-mail': 'by.manager@example.org' })).submit('Create User');
    expect(ok.status).toBe(303);
    // The Administrator box is disabled for them: only a forged form can tick it.
    const forAdmin = await createForm(m, A1, { Username: 'made.admin', 'E-mail': 'made.admin@example.org' });
    expect(forAdmin.submitButtons()).toHaveLength(1);
    expect(() => forAdmin.check('Administrator')).toThrow(/disabled/);
    const refused = await forAdmin.forge('roleIds', [String(memberRoleId), String(adminRoleId)]).submit('Create User');
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('Only an Administrator can give a user the Administrator role.');
    const outside = await (await createForm(m, A1, { Username: 'outside.user', 'E-mail': 'outside@example.org' })).forge('organizationId', String(B.id)).submit('Create User');
    expect(outside.status).toBe(404);
    expect(await t.sql(`select 1 from users where username in ('made.admin', 'outside.user')`)).toHaveLength(0);

    const memberAdmin = await loginTo(t, 'ca_member_admin', PASSWORD, A);
    expect((await memberAdmin.get(`/users/new?org=${A1.id}`)).status).toBe(403);
    expect((await memberAdmin.get(`/organizations/${A1.id}`)).text).not.toContain('>Create User</a>');
    expect((await memberAdmin.get('/users')).text).not.toContain('>Create User</a>');
  });
});

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;').replace(/=/g, '&#x3D;').replace(/`/g, '&#x60;');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
