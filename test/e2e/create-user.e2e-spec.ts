import { Client } from 'pg';
import { verifyPassword } from '../../src/accounts/password-hasher';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createOrganization, createUser, globalOrganization, OrgRow } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { Agent, csrfFrom, login } from '../support/http';
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

  function valid(org: OrgRow, overrides: Record<string, string | string[]> = {}): Record<string, string | string[]> {
    return {
      organizationId: String(org.id),
      username: 'new.user',
      firstName: 'New',
      lastName: 'User',
      email: 'new.user@example.org',
      mobile: '',
      department: '',
      jobTitle: '',
      password: 'Good-pass-1',
      passwordConfirmation: 'Good-pass-1',
      roleIds: [String(memberRoleId)],
      ...overrides,
    };
  }

  async function submit(agent: Agent, fields: Record<string, string | string[]>) {
    const token = csrfFrom((await agent.get(`/users/new?org=${fields.organizationId}`)).text);
    return agent.post('/users').type('form').send({ _csrf: token, ...fields });
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
    const res = await submit(admin, valid(A1, { mobile: '+1 555 0100', department: 'Sales', jobTitle: 'Analyst', [`prop_${badge}`]: 'Green' }));
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
    const audit = await t.sql<{ action: string; changes: string }>(`select action, changes::text from audit_events where object_type = 'user' and object_id = $1`, [String(user.id)]);
    expect(audit.map((a) => a.action).sort()).toEqual(['user.created', 'user.updated']);
    expect(audit.map((a) => a.changes).join()).not.toContain('Good-pass-1');
    expect(audit.map((a) => a.changes).join()).not.toContain(password_hash);
  });

  it('does not ask for a password change at first sign-in when the settings say so', async () => {
    await t.sql('update client_settings set must_change_at_first_login = false');
    try {
      expect((await submit(admin, valid(A1, { username: 'nochange', email: 'nochange@example.org' }))).status).toBe(303);
      expect((await t.sql<{ must_change_password: boolean }>(`select must_change_password from users where username = 'nochange'`))[0].must_change_password).toBe(false);
    } finally {
      await t.sql('update client_settings set must_change_at_first_login = true');
    }
  });

  it.each<[string, Record<string, string | string[]>, string]>([
    ['a blank username', { username: ' ' }, 'Enter a username.'],
    ['a username with a space', { username: 'new user' }, 'A username may contain only letters a–z, digits and . _ @ - (no spaces or accents).'],
    ['a too long username', { username: 'u'.repeat(101) }, 'A username has at most 100 characters.'],
    ['a blank first name', { firstName: '' }, 'Enter a first name.'],
    ['a blank last name', { lastName: '' }, 'Enter a last name.'],
    ['a too long first name', { firstName: 'f'.repeat(101) }, 'Use at most 100 characters for the first name.'],
    ['a too long last name', { lastName: 'l'.repeat(101) }, 'Use at most 100 characters for the last name.'],
    ['a blank e-mail', { email: '' }, 'Enter an e-mail address.'],
    ['a malformed e-mail', { email: 'not-an-address' }, 'Enter an e-mail address like name@example.org.'],
    ['a bad mobile number', { mobile: 'call me' }, 'Enter a mobile number with digits, spaces and + ( ) . / - only (up to 40 characters).'],
    ['an unknown department', { department: 'Nowhere' }, 'Choose a department from the list.'],
    ['a too long job title', { jobTitle: 'j'.repeat(101) }, 'Use at most 100 characters for the job title.'],
    ['a blank password', { password: '', passwordConfirmation: '' }, 'Enter a password.'],
    ['a short password', { password: 'Ab1', passwordConfirmation: 'Ab1' }, 'The password needs at least 8 characters.'],
    ['a password without a digit', { password: 'Only-letters', passwordConfirmation: 'Only-letters' }, 'The password needs a digit.'],
    ['a too long password', { password: `A1${'x'.repeat(40)}`, passwordConfirmation: `A1${'x'.repeat(40)}` }, 'The password needs at most 32 characters.'],
    ['a confirmation that differs', { passwordConfirmation: 'Good-pass-2' }, 'The two passwords do not match.'],
    ['an unknown role', { roleIds: ['999999'] }, 'Choose roles from the list.'],
  ])('refuses %s with its message next to the field, keeping the typed values but never the password', async (_what, overrides, message) => {
    const before = await databaseFingerprint(t, { includeAudit: true });
    const res = await submit(admin, valid(A1, { username: 'typed.user', email: 'typed@example.org', ...overrides }));
    expect(res.status).toBe(422);
    const field = Object.keys(overrides).find((k) => k !== 'passwordConfirmation') ?? 'passwordConfirmation';
    const shown = field === 'password' && overrides.passwordConfirmation !== undefined && message.includes('match') ? 'passwordConfirmation' : field;
    expect(res.text).toMatch(new RegExp(`<p class="field-error" id="error-${shown}">${escapeRegExp(escapeHtml(message))}</p>`));
    expect(res.text).toContain(`<a href="#field-${shown}">`);
    if (field !== 'firstName') expect(res.text).toContain('value="New"');
    expect(res.text).not.toContain('Good-pass-1');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('refuses a custom property value outside its allowed values', async () => {
    const [{ id: badge }] = await t.sql<{ id: number }>(`select id from custom_properties where name = 'Badge colour'`);
    const res = await submit(admin, valid(A1, { username: 'prop.user', email: 'prop@example.org', [`prop_${badge}`]: 'Purple' }));
    expect(res.status).toBe(422);
    expect(res.text).toContain(`<p class="field-error" id="error-prop_${badge}">Badge colour: choose values from the list.</p>`);
  });

  it('refuses a duplicate username or e-mail in any case', async () => {
    await createUser(t, { username: 'Existing', email: 'Existing@Example.org', memberships: [{ org: A1 }] });
    const before = await databaseFingerprint(t, { includeAudit: true });
    const name = await submit(admin, valid(A1, { username: 'EXISTING', email: 'other@example.org' }));
    expect(name.status).toBe(422);
    expect(name.text).toContain('The username EXISTING is already taken.');
    const mail = await submit(admin, valid(A1, { username: 'someone.else', email: 'existing@EXAMPLE.org' }));
    expect(mail.status).toBe(422);
    expect(mail.text).toContain('The e-mail address existing@EXAMPLE.org is already used by the user Existing.');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('under a race of two identical posts, one creates the user and the other gets a form error, never a 500', async () => {
    for (const [username, email] of [
      ['race.one', 'race.one@example.org'],
      ['race.two', 'race.two@example.org'],
    ]) {
      const second = await login(t.http, 'admin', ADMIN_PASSWORD);
      const tokens = [csrfFrom((await admin.get(`/users/new?org=${A1.id}`)).text), csrfFrom((await second.get(`/users/new?org=${A1.id}`)).text)];
      const fields = valid(A1, { username, email });
      const results = await Promise.all([admin, second].map((agent, i) => agent.post('/users').type('form').send({ _csrf: tokens[i], ...fields })));
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
        const token = csrfFrom((await admin.get(`/users/new?org=${A1.id}`)).text);
        const pending = admin.post('/users').type('form').send({ _csrf: token, ...valid(A1, { username, email }) }).then((r) => r);
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
      const res = await submit(admin, valid(A1, { username: 'nolicence', email: 'nolicence@example.org' }));
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
    const ok = await submit(m, valid(A1, { username: 'by.manager', email: 'by.manager@example.org' }));
    expect(ok.status).toBe(303);
    const refused = await submit(m, valid(A1, { username: 'made.admin', email: 'made.admin@example.org', roleIds: [String(adminRoleId)] }));
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('Only an Administrator can give a user the Administrator role.');
    const token = csrfFrom((await m.get(`/users/new?org=${A1.id}`)).text);
    const outside = await m.post('/users').type('form').send({ _csrf: token, ...valid(B, { username: 'outside.user', email: 'outside@example.org' }) });
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
