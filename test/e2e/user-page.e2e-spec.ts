import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createOrganization, createUser, OrgRow, UserRow } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { openForm } from '../support/forms';
import { Agent, login, postForm } from '../support/http';
import { loginTo } from '../support/sessions';
import { createLicence, createProperty, setLicence, setPropertyValues } from '../support/users-factories';

/** The user page (SPEC §4 "User page"): details, licence, edit, enable/disable, delete, end sessions. */
const PASSWORD = 'Secret-pass-1';

describe('user page', () => {
  let t: TestApp;
  let admin: Agent;
  let adminId: number;
  let A: OrgRow, A1: OrgRow, B: OrgRow;
  let manager: UserRow;

  beforeAll(async () => {
    t = await createTestApp();
    A = await createOrganization(t, 'PA');
    A1 = await createOrganization(t, 'PA1', A);
    B = await createOrganization(t, 'PB');
    manager = await createUser(t, { username: 'pa_manager', roles: ['user_manager'], memberships: [{ org: A, isAdmin: true }] });
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    [{ id: adminId }] = await t.sql<{ id: number }>(`select id from users where built_in`);
    await t.sql(`insert into departments (name) values ('Sales'), ('Research')`);
  });
  afterAll(async () => {
    await t.close();
  });

  it('shows details, memberships with the administrator flag, roles, profile, licence, custom properties and the audit trail', async () => {
    const u = await createUser(t, { username: 'page_u', fullName: 'Paula Page', email: 'paula@example.org', memberships: [{ org: A1, isAdmin: true }, { org: B }] });
    const size = await createProperty(t, 'Shirt size', { allowedValues: ['S', 'M'] });
    await setPropertyValues(t, u.id, size, ['M']);
    await t.sql(`insert into audit_events (actor_name, action, object_type, object_id, object_label) values ('someone', 'user.updated', 'user', $1, 'page_u')`, [String(u.id)]);
    const res = await admin.get(`/users/${u.id}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('<h1>User page_u</h1>');
    expect(res.text).toContain('<dt>E-mail</dt><dd>paula@example.org</dd>');
    expect(res.text).toMatch(/<a href="\/organizations\/\d+">PA1<\/a><\/td><td>Yes<\/td>/);
    expect(res.text).toMatch(/PB<\/a><\/td><td>No<\/td>/);
    expect(res.text).toContain('<li>Member</li>');
    expect(res.text).toContain('<dt>Profile</dt><dd>Self-service</dd>');
    expect(res.text).toContain('<dt>Shirt size</dt><dd>M</dd>');
    expect(res.text).toMatch(/<option value="\d+" selected>Standard — \d+ used \(unlimited\)<\/option>|<option value="\d+" selected>Standard — \d+ of \d+ seats? used<\/option>/);
    expect(res.text).toContain('<dt>Password send date</dt><dd>—</dd>');
    expect(res.text).toContain('user.updated');
    expect(res.text).toContain('<a href="/audit?objectType&#x3D;user&amp;q&#x3D;page_u">This user in the audit log</a>');
    expect(res.text).toContain('href="/users/' + u.id + '/credentials">Change username/password</a>');
    for (const action of ['edit', 'disable', 'end-sessions', 'delete']) expect(res.text).toContain(`/users/${u.id}/${action}`);
    // An organization administrator of A sees the user but not the name of B.
    const m = await loginTo(t, 'pa_manager', PASSWORD, A);
    const seen = await m.get(`/users/${u.id}`);
    expect(seen.status).toBe(200);
    expect(seen.text).not.toContain('PB');
    expect(seen.text).toContain('And 1 organization outside your organization.');
    expect(seen.text).not.toContain(`/users/${u.id}/edit`); // a member of B: not manageable from A
    expect((await m.get(`/users/${u.id}/edit`)).status).toBe(403);
    expect((await m.get(`/users/${adminId}`)).status).toBe(404);
    expect((await admin.get('/users/99999999')).status).toBe(404);
  });

  it('changes the licence with the pull-down; a full licence is refused with its name and usage', async () => {
    const full = await createLicence(t, 'Platinum', 1);
    const holder = await createUser(t, { username: 'plat_holder', memberships: [{ org: A1 }] });
    await setLicence(t, holder.id, full);
    const u = await createUser(t, { username: 'lic_u', memberships: [{ org: A1 }] });
    const before = await databaseFingerprint(t, { includeAudit: true });
    const refused = await (await openForm(admin, `/users/${u.id}`, 'Save licence')).select('Licence', 'Platinum — 1 of 1 seat used').submit('Save licence');
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('Licence &quot;Platinum&quot; is full: 1 of 1 seat used.');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    const roomy = await createLicence(t, 'Silver', 5);
    const ok = await (await openForm(admin, `/users/${u.id}`, 'Save licence')).select('Licence', 'Silver — 0 of 5 seats used').submit('Save licence');
    expect(ok.status).toBe(303);
    expect((await admin.get(`/users/${u.id}`)).text).toContain('Licence of lic_u set to Silver.');
    expect((await t.sql<{ licence_id: number }>('select licence_id from users where id = $1', [u.id]))[0].licence_id).toBe(roomy);
    // A disabled user takes no seat: the full licence may be given.
    await t.sql('update users set enabled = false where id = $1', [u.id]);
    expect((await (await openForm(admin, `/users/${u.id}`, 'Save licence')).select('Licence', 'Platinum — 1 of 1 seat used').submit('Save licence')).status).toBe(303);
    // …but enabling them then needs a seat.
    const enable = await (await openForm(admin, `/users/${u.id}`, 'Enable')).submit('Enable');
    expect(enable.status).toBe(409);
    expect(enable.text).toContain('Licence &quot;Platinum&quot; is full: 1 of 1 seat used.');
  });

  it('edits contact fields, department, roles, profile and custom properties, with an audit entry', async () => {
    const u = await createUser(t, { username: 'edit_u', fullName: 'Old Name', email: 'old@example.org', memberships: [{ org: A1 }] });
    const langs = await createProperty(t, 'Languages', { multiValued: true });
    const team = await createProperty(t, 'Team', { allowedValues: ['Red', 'Blue'], multiValued: true });
    const form = await admin.get(`/users/${u.id}/edit`);
    expect(form.status).toBe(200);
    expect(form.text).toContain('<option value="Sales" >Sales</option>');
    expect(form.text).toContain(`name="prop_${langs}"`);
    const res = await (await openForm(admin, `/users/${u.id}/edit`, 'Save user'))
      .fill('First name', 'Erika')
      .fill('Last name', 'Editor')
      .fill('E-mail', 'erika@example.org')
      .fill('Mobile', '+49 30 1234567')
      .select('Department', 'Sales')
      .fill('Job title', 'Buyer')
      .uncheck('Member')
      .check('User manager')
      .select('User profile', 'Administrator')
      .fill('Languages', 'de\nen\n de\n')
      .select('Team', ['Red', 'Blue'])
      .submit('Save user');
    expect(res.status).toBe(303);
    const [row] = await t.sql<Record<string, unknown>>(
      `select c.first_name, c.last_name, c.full_name, c.email, c.mobile, c.department, c.job_title, u.email as user_email,
              (select array_agg(r.built_in_key) from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = u.id) as roles,
              (select built_in_key from user_profiles where id = u.profile_id) as profile
         from users u join contacts c on c.id = u.contact_id where u.id = $1`,
      [u.id],
    );
    expect(row).toEqual({
      first_name: 'Erika',
      last_name: 'Editor',
      full_name: 'Erika Editor',
      email: 'erika@example.org',
      mobile: '+49 30 1234567',
      department: 'Sales',
      job_title: 'Buyer',
      user_email: 'erika@example.org',
      roles: ['user_manager'],
      profile: 'administrator',
    });
    const values = await t.sql<{ property_id: number; value: string }>('select property_id, value from user_property_values where user_id = $1 order by property_id, value', [u.id]);
    expect(values).toEqual([
      { property_id: langs, value: 'de' },
      { property_id: langs, value: 'en' },
      { property_id: team, value: 'Blue' },
      { property_id: team, value: 'Red' },
    ]);
    const [audit] = await t.sql<{ changes: Record<string, unknown> }>(`select changes from audit_events where action = 'user.updated' and object_id = $1`, [String(u.id)]);
    expect(Object.keys(audit.changes)).toEqual(expect.arrayContaining(['email', 'roles', 'profile', 'property: Languages', 'department']));
    expect((await admin.get(`/users/${u.id}`)).text).toContain('User edit_u saved.');
  });

  it('refuses invalid edits next to their fields, keeping the typed values', async () => {
    const u = await createUser(t, { username: 'bad_edit', fullName: 'Bad Edit', email: 'bad@example.org', memberships: [{ org: A1 }] });
    await createUser(t, { username: 'taken_mail', email: 'taken@example.org', memberships: [{ org: A1 }] });
    const site = await createProperty(t, 'Desk', { allowedValues: ['1', '2'] });
    const before = await databaseFingerprint(t, { includeAudit: true });
    // A department, role, profile or property value the form does not offer can only be forged.
    const res = await (await openForm(admin, `/users/${u.id}/edit`, 'Save user'))
      .fill('First name', 'Kept')
      .fill('Last name', '')
      .fill('E-mail', 'TAKEN@example.org')
      .fill('Mobile', 'call me')
      .fill('Job title', 'x')
      .forge('department', 'Nowhere')
      .forge('roleIds', ['999999'])
      .forge('profileId', '999999')
      .forge(`prop_${site}`, '3')
      .submit('Save user');
    expect(res.status).toBe(422);
    for (const message of [
      'Enter a last name.',
      'The e-mail address TAKEN@example.org is already used by the user taken_mail.',
      'Enter a mobile number with digits',
      'Choose a department from the list.',
      'Choose roles from the list.',
      'Choose a user profile from the list.',
      'Desk: choose values from the list.',
    ]) {
      expect(res.text).toContain(message);
    }
    expect(res.text).toContain('value="Kept"');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('keeps the Administrator role of the built-in admin, and only Administrators grant it', async () => {
    const [member] = await t.sql<{ id: number }>(`select id from roles where built_in_key = 'member'`);
    const [adminRole] = await t.sql<{ id: number }>(`select id from roles where built_in_key = 'administrator'`);
    const strip = await (await openForm(admin, `/users/${adminId}/edit`, 'Save user'))
      .fill('First name', 'Admin')
      .fill('Last name', 'Istrator')
      .fill('E-mail', 'admin@example.org')
      .check('Member')
      .uncheck('Administrator')
      .submit('Save user');
    expect(strip.status).toBe(422);
    expect(strip.text).toContain('The built-in admin keeps the Administrator role.');

    const u = await createUser(t, { username: 'grant_u', email: 'grant@example.org', memberships: [{ org: A1 }] });
    const m = await loginTo(t, 'pa_manager', PASSWORD, A);
    const form = await openForm(m, `/users/${u.id}/edit`, 'Save user');
    expect(form.html).toMatch(new RegExp(`id="role-${adminRole.id}" name="roleIds" value="${adminRole.id}" \\s*disabled`));
    // The Administrator box is disabled for them: only a forged form can tick it.
    expect(() => form.check('Administrator')).toThrow(/disabled/);
    const grant = await form
      .fill('First name', 'Grant')
      .fill('Last name', 'User')
      .forge('roleIds', [String(member.id), String(adminRole.id)])
      .submit('Save user');
    expect(grant.status).toBe(422);
    expect(grant.text).toContain('Only an Administrator can give or take away the Administrator role.');
  });

  it('disables and enables a user; disabling ends their sessions', async () => {
    const u = await createUser(t, { username: 'toggle_u', memberships: [{ org: A1 }] });
    const session = await login(t.http, 'toggle_u', PASSWORD);
    expect((await session.get('/account')).status).toBe(200);
    const off = await (await openForm(admin, `/users/${u.id}`, 'Disable')).submit('Disable');
    expect(off.status).toBe(303);
    expect((await admin.get(`/users/${u.id}`)).text).toContain('User toggle_u disabled; their sessions have ended.');
    const ended = await session.get('/account');
    expect(ended.status).toBe(303);
    expect(ended.headers.location).toMatch(/^\/login/);
    const on = await (await openForm(admin, `/users/${u.id}`, 'Enable')).submit('Enable');
    expect(on.status).toBe(303);
    expect((await t.sql<{ enabled: boolean }>('select enabled from users where id = $1', [u.id]))[0].enabled).toBe(true);
    expect(await t.sql(`select action from audit_events where object_type = 'user' and object_id = $1 and action in ('user.disabled', 'user.enabled')`, [String(u.id)])).toHaveLength(2);
  });

  it('ends the sessions of a user on request', async () => {
    await createUser(t, { username: 'sess_u', memberships: [{ org: A1 }] });
    const [{ id }] = await t.sql<{ id: number }>(`select id from users where username = 'sess_u'`);
    const one = await login(t.http, 'sess_u', PASSWORD);
    const two = await login(t.http, 'sess_u', PASSWORD);
    const res = await (await openForm(admin, `/users/${id}`, 'End sessions')).submit('End sessions');
    expect(res.status).toBe(303);
    for (const agent of [one, two]) expect((await agent.get('/account')).status).toBe(303);
    expect((await login(t.http, 'sess_u', PASSWORD).then((a) => a.get('/account'))).status).toBe(200);
    expect(await t.sql(`select 1 from audit_events where action = 'user.sessions_ended' and object_id = $1`, [String(id)])).toHaveLength(1);
  });

  it('deletes a user after a confirmation page that says the contact is kept; their sessions end', async () => {
    const u = await createUser(t, { username: 'del_u', fullName: 'Del Person', memberships: [{ org: A1 }] });
    const session = await login(t.http, 'del_u', PASSWORD);
    const [{ contact_id }] = await t.sql<{ contact_id: number }>('select contact_id from users where id = $1', [u.id]);
    const confirm = await admin.get(`/users/${u.id}/delete`);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('The contact <strong>Del Person</strong> is kept');
    const res = await (await openForm(admin, `/users/${u.id}/delete`, 'Delete user del_u')).submit('Delete user del_u');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/users');
    expect((await admin.get('/users')).text).toContain('User del_u deleted. The contact Del Person was kept.');
    expect(await t.sql('select 1 from users where id = $1', [u.id])).toHaveLength(0);
    expect(await t.sql('select 1 from contacts where id = $1', [contact_id])).toHaveLength(1);
    expect((await session.get('/account')).status).toBe(303);
    expect(await t.sql(`select 1 from audit_events where action = 'user.deleted' and object_id = $1`, [String(u.id)])).toHaveLength(1);
  });

  it('never deletes or disables the built-in admin or oneself; never ends one’s own sessions from here', async () => {
    const m = await loginTo(t, 'pa_manager', PASSWORD, A);
    const before = await databaseFingerprint(t, { includeAudit: true });
    const page = await admin.get(`/users/${adminId}`);
    expect(page.text).not.toContain(`/users/${adminId}/delete`);
    expect(page.text).not.toContain(`/users/${adminId}/disable`);
    // The pages offer none of these buttons: forged requests.
    const del = await postForm(admin, `/users/${adminId}/delete`, {}, `/users/${adminId}`);
    expect(del.status).toBe(403);
    expect(del.text).toContain('The built-in admin cannot be deleted.');
    expect((await postForm(admin, `/users/${adminId}/disable`, {}, `/users/${adminId}`)).text).toContain('The built-in admin cannot be disabled.');
    expect((await admin.get(`/users/${adminId}/delete`)).status).toBe(403);

    const self = await postForm(m, `/users/${manager.id}/delete`, {}, `/users/${manager.id}`);
    expect(self.status).toBe(403);
    expect(self.text).toContain('You cannot delete your own account.');
    expect((await postForm(m, `/users/${manager.id}/disable`, {}, `/users/${manager.id}`)).text).toContain('You cannot disable your own account.');
    expect((await postForm(m, `/users/${manager.id}/end-sessions`, {}, `/users/${manager.id}`)).status).toBe(403);
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    expect((await m.get('/account')).status).toBe(200);
  });
});
