import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createContact, createDepartment } from '../support/contacts-factories';
import { createUser, globalOrganization, OrgRow } from '../support/factories';
import { openForm } from '../support/forms';
import { databaseFingerprint } from '../support/fingerprint';
import { columnValues, decodeEntities, textOf } from '../support/html';
import { Agent, login, postForm } from '../support/http';

/** Settings → Interface (username format, defaults of new users) and Settings → Departments. */
describe('Settings: Interface and Departments', () => {
  let t: TestApp;
  let admin: Agent;
  let global: OrgRow;
  let ids: { member: number; manager: number; adminProfile: number; standard: number };

  beforeAll(async () => {
    t = await createTestApp();
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    global = await globalOrganization(t);
    [ids] = await t.sql<typeof ids>(
      `select (select id from roles where built_in_key = 'member') as member,
              (select id from roles where built_in_key = 'user_manager') as manager,
              (select id from user_profiles where built_in_key = 'administrator') as "adminProfile",
              (select id from licence_types where built_in_key = 'standard') as standard`,
    );
  });
  afterAll(async () => {
    await t.close();
  });

  const post = (path: string, fields: Record<string, string | string[]>, formPage = '/settings/interface') => postForm(admin, path, fields, formPage);

  const settingsRow = async () =>
    (
      await t.sql<Record<string, unknown>>(
        `select username_format, default_profile_id, default_licence_id,
                array(select role_id from client_settings_default_roles order by role_id) as roles
           from client_settings`,
      )
    )[0];

  describe('Interface', () => {
    it('shows the saved format with a preview computed on the server, and the first-start defaults', async () => {
      const res = await admin.get('/settings/interface');
      expect(res.status).toBe(200);
      expect(res.text).toContain('<a href="/settings/interface" aria-current="page">Interface</a>');
      expect(res.text).toContain('value="{f}{lastname}"');
      expect(decodeEntities(res.text)).toContain('Zoë Ångström, zoe.angstrom@example.org');
      expect(res.text).toContain('<code>zangstrom</code>');
      expect(res.text).toContain('<code>nordwindlogistikgmbh</code>');
      expect(res.text).toMatch(new RegExp(`id="role-${ids.member}" name="defaultRoleIds" value="${ids.member}" checked`));
      expect(res.text).not.toContain('No default');
    });

    it('previews a typed format without saving it', async () => {
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await post('/settings/interface/preview', { usernameFormat: '{firstname}.{lastname}', defaultRoleIds: [String(ids.member)], defaultProfileId: '', defaultLicenceId: String(ids.standard) });
      expect(res.status).toBe(200);
      expect(res.text).toContain('<code>zoe.angstrom</code>');
      expect(res.text).toContain('value="{firstname}.{lastname}"');
      expect(res.text).toContain('Preview only: nothing has been saved yet.');
      // The typed choices stay as typed, and the page warns about the cleared profile.
      expect(res.text).toContain('No default user profile: new users cannot log in until they are given a user profile.');
      expect(res.text).toMatch(new RegExp(`<option value="${ids.standard}" selected>`));
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
      const emailLocal = await post('/settings/interface/preview', { usernameFormat: '{emaillocal}', defaultRoleIds: [], defaultProfileId: '', defaultLicenceId: '' });
      expect(emailLocal.text).toContain('<code>zoe.angstrom</code>');
      expect(emailLocal.text).toContain('<code>info</code>');
    });

    it('refuses formats the generator cannot use, on save and on preview, with 422 and the typed value', async () => {
      const before = await databaseFingerprint(t, { includeAudit: true });
      const unknown = await post('/settings/interface', { usernameFormat: '{first}{lastname}', defaultRoleIds: [String(ids.member)], defaultProfileId: '', defaultLicenceId: '' });
      expect(unknown.status).toBe(422);
      expect(decodeEntities(unknown.text)).toContain('Unknown placeholder {first}.');
      expect(unknown.text).toContain('value="{first}{lastname}"');
      const constant = await post('/settings/interface/preview', { usernameFormat: 'everyone', defaultProfileId: '', defaultLicenceId: '' });
      expect(constant.status).toBe(422);
      expect(decodeEntities(constant.text)).toContain('Use at least one placeholder, otherwise every user would get the same username.');
      const blank = await post('/settings/interface', { usernameFormat: ' ', defaultProfileId: '', defaultLicenceId: '' });
      expect(blank.status).toBe(422);
      expect(decodeEntities(blank.text)).toContain('Enter a username format, for example {f}{lastname}.');
      const unbalanced = await post('/settings/interface', { usernameFormat: '{f}{lastname', defaultProfileId: '', defaultLicenceId: '' });
      expect(unbalanced.status).toBe(422);
      const badProfile = await post('/settings/interface', { usernameFormat: '{f}{lastname}', defaultProfileId: '999999', defaultLicenceId: '' });
      expect(badProfile.status).toBe(422);
      expect(badProfile.text).toContain('Choose a user profile from the list.');
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it('saves the format and defaults, clears them, says that new users cannot log in then, and audits each change', async () => {
      const saved = await post('/settings/interface', {
        usernameFormat: '{firstname}.{lastname}',
        defaultRoleIds: [String(ids.member), String(ids.manager)],
        defaultProfileId: String(ids.adminProfile),
        defaultLicenceId: String(ids.standard),
      });
      expect(saved.status).toBe(303);
      expect(saved.headers.location).toBe('/settings/interface');
      expect(await settingsRow()).toEqual({
        username_format: '{firstname}.{lastname}',
        default_profile_id: ids.adminProfile,
        default_licence_id: ids.standard,
        roles: [ids.member, ids.manager].sort((a, b) => a - b),
      });
      const page = await admin.get('/settings/interface');
      expect(page.text).toContain('Interface settings saved.');
      expect(page.text).toContain('<code>zoe.angstrom</code>');

      const cleared = await post('/settings/interface', { usernameFormat: '{firstname}.{lastname}', defaultProfileId: '', defaultLicenceId: '' });
      expect(cleared.status).toBe(303);
      expect(await settingsRow()).toEqual({ username_format: '{firstname}.{lastname}', default_profile_id: null, default_licence_id: null, roles: [] });
      const warned = textOf((await admin.get('/settings/interface')).text);
      expect(warned).toContain('No default role: new users cannot log in until they are given a role.');
      expect(warned).toContain('No default user profile: new users cannot log in until they are given a user profile.');
      expect(warned).toContain('No default licence: new users cannot log in until they are given a licence.');

      const audit = await t.sql<{ changes: Record<string, unknown> }>(`select changes from audit_events where action = 'settings.updated' and object_label = 'Interface' order by id`);
      expect(audit).toHaveLength(2);
      expect(audit[0].changes).toEqual({
        usernameFormat: { from: '{f}{lastname}', to: '{firstname}.{lastname}' },
        defaultRoles: { from: ['Member'], to: ['Member', 'User manager'] },
        defaultProfile: { from: 'Self-service', to: 'Administrator' },
      });
      expect(audit[1].changes).toEqual({
        defaultRoles: { from: ['Member', 'User manager'], to: [] },
        defaultProfile: { from: 'Administrator', to: null },
        defaultLicence: { from: 'Standard', to: null },
      });
    });
    it('lets a settings manager who is not an Administrator change only default roles whose permissions they hold', async () => {
      await t.sql(`insert into roles (name, permissions) values ('Settings keeper', '{manage_settings}'), ('Settings helper', '{manage_settings}')`);
      await createUser(t, { username: 'keeper', roles: ['Settings keeper'], memberships: [{ org: global }] });
      const keeper = await login(t.http, 'keeper', 'Secret-pass-1');
      const before = await databaseFingerprint(t, { includeAudit: true });
      const refused = await (await openForm(keeper, '/settings/interface', 'Save')).check('User manager').submit('Save');
      expect(refused.status).toBe(422);
      expect(decodeEntities(refused.text)).toContain('Only an Administrator can change whether User manager is a default role: it has permissions you do not have.');
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
      const granted = await (await openForm(keeper, '/settings/interface', 'Save')).check('Settings helper').submit('Save');
      expect(granted.status).toBe(303);
      expect((await settingsRow()).roles).toEqual((await t.sql<{ id: number }>(`select id from roles where name = 'Settings helper'`)).map((r) => r.id));
      // A default the Administrator set that the keeper could not give stays when they save other changes, and cannot be removed by them.
      const managerDefault = await (await openForm(admin, '/settings/interface', 'Save')).check('User manager').submit('Save');
      expect(managerDefault.status).toBe(303);
      const kept = await (await openForm(keeper, '/settings/interface', 'Save')).fill('Username format', '{f}.{lastname}').submit('Save');
      expect(kept.status).toBe(303);
      const removed = await (await openForm(keeper, '/settings/interface', 'Save')).uncheck('User manager').submit('Save');
      expect(removed.status).toBe(422);
      expect((await settingsRow()).roles).toContain(ids.manager);
    });
  });

  describe('Departments', () => {
    it('adds, refuses duplicates case-insensitively, renames and lists departments', async () => {
      const add = await post('/settings/departments', { name: 'Sales' }, '/settings/departments');
      expect(add.status).toBe(303);
      expect(add.headers.location).toBe('/settings/departments');
      await post('/settings/departments', { name: 'Engineering' }, '/settings/departments');
      const list = await admin.get('/settings/departments');
      expect(list.text).toContain('Department Engineering added.');
      expect(list.text).toContain('<a href="/settings/departments" aria-current="page">Departments</a>');
      expect(columnValues(list.text, 'Name')).toEqual(['Engineering', 'Sales']);

      const before = await databaseFingerprint(t, { includeAudit: true });
      const duplicate = await post('/settings/departments', { name: ' SALES ' }, '/settings/departments');
      expect(duplicate.status).toBe(422);
      expect(duplicate.text).toContain('A department with this name already exists.');
      expect(columnValues(duplicate.text, 'Name')).toEqual(['Engineering', 'Sales']);
      const blank = await post('/settings/departments', { name: '' }, '/settings/departments');
      expect(blank.status).toBe(422);
      expect(blank.text).toContain('Enter a name.');
      const [{ id: sales }] = await t.sql<{ id: number }>(`select id from departments where name = 'Sales'`);
      const renameClash = await post(`/settings/departments/${sales}`, { name: 'engineering' }, `/settings/departments/${sales}/edit`);
      expect(renameClash.status).toBe(422);
      expect(renameClash.text).toContain('A department with this name already exists.');
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);

      const renamed = await post(`/settings/departments/${sales}`, { name: 'Sales & Marketing' }, `/settings/departments/${sales}/edit`);
      expect(renamed.status).toBe(303);
      expect(await t.sql('select name from departments where id = $1', [sales])).toEqual([{ name: 'Sales & Marketing' }]);
      const audit = await t.sql(`select changes from audit_events where action = 'department.renamed' and object_id = $1`, [String(sales)]);
      expect(audit).toEqual([{ changes: { name: { from: 'Sales', to: 'Sales & Marketing' } } }]);

      // The contact form offers the list.
      const form = await admin.get('/contacts/new?kind=person');
      expect(decodeEntities(form.text)).toContain('<option value="Sales & Marketing" >Sales & Marketing</option>');
    });

    it('deletes a department without changing the contacts that carry its name, and says so', async () => {
      const id = await createDepartment(t, 'Legacy');
      const contact = await createContact(t, { first: 'Old', last: 'Timer', department: 'Legacy', org: global });
      const confirm = await admin.get(`/settings/departments/${id}/delete`);
      expect(confirm.status).toBe(200);
      expect(textOf(confirm.text)).toContain('1 contact carries this name and keeps it: deleting the department does not change contacts.');
      const res = await post(`/settings/departments/${id}/delete`, {}, `/settings/departments/${id}/delete`);
      expect(res.status).toBe(303);
      expect(await t.sql('select 1 from departments where id = $1', [id])).toEqual([]);
      expect(await t.sql('select department from contacts where id = $1', [contact.id])).toEqual([{ department: 'Legacy' }]);
      expect(textOf((await admin.get('/settings/departments')).text)).toContain('Department Legacy deleted. 1 contact keeps the name.');
      // Editing the contact keeps the name, marked as no longer in the list.
      const edit = await admin.get(`/contacts/${contact.id}/edit`);
      expect(edit.text).toContain('<option value="Legacy" selected>Legacy (no longer in the list)</option>');
      const saved = await post(
        `/contacts/${contact.id}`,
        { firstName: 'Old', lastName: 'Timer', fullName: '', email: '', mobile: '', department: 'Legacy', jobTitle: '', employerId: '', organizationId: String(global.id) },
        `/contacts/${contact.id}/edit`,
      );
      expect(saved.status).toBe(303);
    });

    it('answers 404 for an unknown department', async () => {
      expect((await admin.get('/settings/departments/999999/edit')).status).toBe(404);
      expect((await post('/settings/departments/999999/delete', {}, '/settings/departments')).status).toBe(404);
    });
  });
});
