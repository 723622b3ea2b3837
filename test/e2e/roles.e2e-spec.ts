import { Client } from 'pg';
import request from 'supertest';
import { PERMISSIONS, PERMISSION_LABELS } from '../../src/access/permissions';
import { TestApp } from '../support/app';
import { auditEvents, waitForLockWait } from '../support/audit';
import { createOrganization, createUser } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { dataTable, textOf } from '../support/html';
import { formOf, openForm } from '../support/forms';
import { Agent, csrfFrom, login, postForm } from '../support/http';
import { appWithAdmin } from '../support/sessions';

/**
 * Roles (user groups) at /roles (SPEC §2 "Roles, permissions, profiles, licences"): list, show,
 * create, edit, delete with their rules, audit events with the changed fields, and access: only
 * sessions allowed `manage_settings` (Administrators; others only while logged in to Global).
 */

interface RoleRow {
  id: number;
  name: string;
  description: string | null;
  permissions: string[];
  built_in_key: string | null;
}

/** State of a permission checkbox of the role form. */
function checkbox(html: string, key: string): { checked: boolean; disabled: boolean; label: string | null } {
  const input = new RegExp(`<input[^>]*id="permission-${key}"[^>]*>`).exec(html);
  if (!input) throw new Error(`No checkbox for ${key}`);
  const label = new RegExp(`<label for="permission-${key}">([^<]*)</label>`).exec(html);
  return { checked: /\schecked[\s>]/.test(input[0]), disabled: /\sdisabled[\s>]/.test(input[0]), label: label ? label[1] : null };
}

const FORBIDDEN_TEXT = 'You are not allowed to do this.';

describe('roles (user groups)', () => {
  let t: TestApp;
  let admin: Agent;

  beforeAll(async () => ({ t, admin } = await appWithAdmin()));
  afterAll(() => t.close());

  async function role(name: string): Promise<RoleRow | undefined> {
    const [row] = await t.sql<RoleRow>('select id, name, description, permissions, built_in_key from roles where lower(name) = lower($1)', [name]);
    return row;
  }

  async function builtIn(key: string): Promise<RoleRow> {
    const [row] = await t.sql<RoleRow>('select id, name, description, permissions, built_in_key from roles where built_in_key = $1', [key]);
    return row;
  }

  const audit = (action: string, objectId: number) => auditEvents(t, action, objectId);

  /**
   * Presses the button of the role form at `page` (new or edit) with the name (and description)
   * typed and exactly these permission boxes ticked, by their labels.
   */
  async function submitRole(page: string, fields: { name: string; description?: string; permissions?: string[] }) {
    const button = page === '/roles/new' ? 'Create role' : 'Save role';
    const form = await openForm(admin, page, button);
    form.fill('Name', fields.name);
    if (fields.description !== undefined) form.fill('Description', fields.description);
    for (const key of PERMISSIONS) {
      if ((fields.permissions ?? []).includes(key)) form.check(PERMISSION_LABELS[key]);
      else form.uncheck(PERMISSION_LABELS[key]);
    }
    return form.submit(button);
  }

  /** Creates a role through the form and returns its row. */
  async function createRole(name: string, permissions: string[] = [], description = ''): Promise<RoleRow> {
    const res = await submitRole('/roles/new', { name, description, permissions });
    expect(res.status).toBe(303);
    return (await role(name))!;
  }

  describe('list and show', () => {
    it('lists the built-in roles with their number of permissions and users', async () => {
      const page = await admin.get('/roles');
      expect(page.status).toBe(200);
      expect(page.text).toContain('<h1>Roles (user groups)</h1>');
      expect(page.text).toContain('href="/roles/new"');
      const rows = dataTable(page.text).rows;
      expect(rows).toEqual([
        ['Administrator (built-in)', 'Everything, everywhere.', String(PERMISSIONS.length), '1'],
        ['Member (built-in) (default for new users)', 'Signs in and manages their own account.', '0', '0'],
        ['User manager (built-in)', 'Manages users, contacts, credentials and Excel imports/exports.', '4', '0'],
      ]);
      const administrator = await builtIn('administrator');
      expect(page.text).toContain(`<a href="/roles/${administrator.id}">Administrator</a>`);
    });

    it('shows a role with its permissions (labels) and the users holding it', async () => {
      const userManager = await builtIn('user_manager');
      await createUser(t, { username: 'show-um-1', roles: ['user_manager'] });
      await createUser(t, { username: 'show-um-2', roles: ['user_manager', 'member'], enabled: false });
      const page = await admin.get(`/roles/${userManager.id}`);
      expect(page.status).toBe(200);
      expect(page.text).toContain('<h1>Role User manager</h1>');
      const text = textOf(page.text);
      expect(text).toContain('Users holding it 2');
      expect(text).toContain('Default for new users No');
      for (const key of ['manage_users', 'manage_contacts', 'send_credentials', 'import_export_users'] as const) {
        expect(page.text).toContain(`<li>${PERMISSION_LABELS[key]}</li>`);
      }
      expect(page.text).not.toContain(`<li>${PERMISSION_LABELS.view_audit_log}</li>`);
      expect(text).toContain('User manager is a built-in role and cannot be deleted.');
      expect(page.text).not.toContain(`action="/roles/${userManager.id}/delete"`);
      expect(dataTable((await admin.get('/roles')).text).rows[2]).toEqual([
        'User manager (built-in)',
        'Manages users, contacts, credentials and Excel imports/exports.',
        '4',
        '2',
      ]);
    });

    it('shows every permission of the Administrator role', async () => {
      const page = await admin.get(`/roles/${(await builtIn('administrator')).id}`);
      for (const key of PERMISSIONS) expect(page.text).toContain(`<li>${PERMISSION_LABELS[key]}</li>`);
    });

    it('adds Roles, User profiles and Licences to the menu of administrators only', async () => {
      const page = await admin.get('/roles');
      expect(page.text).toContain('<a href="/roles">Roles</a>');
      expect(page.text).toContain('<a href="/profiles">User profiles</a>');
      expect(page.text).toContain('<a href="/licences">Licences</a>');
      await createUser(t, { username: 'menu-self' });
      const self = await login(t.http, 'menu-self', 'Secret-pass-1');
      const account = await self.get('/account');
      expect(account.status).toBe(200);
      expect(account.text).not.toContain('href="/roles"');
      expect(account.text).not.toContain('href="/profiles"');
      expect(account.text).not.toContain('href="/licences"');
    });
  });

  describe('create', () => {
    it('offers every permission of the catalogue as a labelled, unchecked checkbox', async () => {
      const page = await admin.get('/roles/new');
      expect(page.status).toBe(200);
      expect(page.text).toContain('<h1>New role</h1>');
      expect(page.text).toContain('action="/roles"');
      for (const key of PERMISSIONS) expect(checkbox(page.text, key)).toEqual({ checked: false, disabled: false, label: PERMISSION_LABELS[key] });
      expect(page.text).toContain('<label for="field-name">Name');
      expect(page.text).toContain('<label for="field-description">Description</label>');
    });

    it('creates a role, stores the permissions in catalogue order and audits every field', async () => {
      const res = await postForm(
        admin,
        '/roles',
        { name: '  Auditors  ', description: 'Read the audit log.', permissions: ['view_audit_log', 'manage_contacts', 'view_audit_log'] },
        '/roles/new',
      );
      expect(res.status).toBe(303);
      const row = (await role('Auditors'))!;
      expect(res.headers.location).toBe(`/roles/${row.id}`);
      expect(row).toEqual({ id: row.id, name: 'Auditors', description: 'Read the audit log.', permissions: ['manage_contacts', 'view_audit_log'], built_in_key: null });

      const page = await admin.get(res.headers.location);
      expect(page.status).toBe(200);
      expect(page.text).toContain('Role Auditors created.');
      expect(page.text).toContain(`<li>${PERMISSION_LABELS.view_audit_log}</li>`);
      expect(page.text).toContain(`<li>${PERMISSION_LABELS.manage_contacts}</li>`);
      expect(textOf(page.text)).toContain('Users holding it 0');
      expect(page.text).toContain(`action="/roles/${row.id}/delete"`);

      expect(await audit('role.created', row.id)).toEqual([
        {
          actor_name: 'admin',
          object_type: 'role',
          object_id: String(row.id),
          object_label: 'Auditors',
          changes: {
            name: { from: null, to: 'Auditors' },
            description: { from: null, to: 'Read the audit log.' },
            permissions: { from: null, to: ['manage_contacts', 'view_audit_log'] },
          },
          detail: null,
        },
      ]);
      expect(dataTable((await admin.get('/roles')).text).rows).toContainEqual(['Auditors', 'Read the audit log.', '2', '0']);
    });

    it('creates a role without permissions or description', async () => {
      const row = await createRole('Guests');
      expect(row.permissions).toEqual([]);
      expect(row.description).toBeNull();
    });

    it.each([
      ['an empty name', '   ', 'Enter a name.'],
      ['a name over 100 characters', 'x'.repeat(101), 'Use at most 100 characters for the name.'],
    ])('refuses %s with a message next to the field, keeping the typed values', async (_case, name, message) => {
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await submitRole('/roles/new', { name, description: 'Kept <b>description</b>', permissions: ['manage_users'] });
      expect(res.status).toBe(422);
      expect(res.text).toContain(`id="error-name">${message}<`);
      expect(res.text).toContain('<a href="#field-name">');
      expect(res.text).toContain('Kept &lt;b&gt;description&lt;/b&gt;</textarea>');
      expect(checkbox(res.text, 'manage_users').checked).toBe(true);
      expect(checkbox(res.text, 'manage_contacts').checked).toBe(false);
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it('refuses a description over 1000 characters', async () => {
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await submitRole('/roles/new', { name: 'Wordy', description: 'y'.repeat(1001) });
      expect(res.status).toBe(422);
      expect(res.text).toContain('id="error-description">Use at most 1000 characters for the description.<');
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it.each(['Auditors', 'AUDITORS', ' auditors ', 'administrator'])('refuses the taken name %j (case-insensitive) and writes nothing', async (name) => {
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await submitRole('/roles/new', { name, description: 'Second', permissions: ['manage_users'] });
      expect(res.status).toBe(422);
      expect(res.text).toContain('id="error-name">Another role already has this name.<');
      expect(res.text).toMatch(new RegExp(`id="field-name" name="name" type="text"\\s+value="${name}"`));
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it('refuses a forged unknown permission with 422 and saves nothing', async () => {
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await postForm(admin, '/roles', { name: 'Forged', permissions: ['manage_users', 'root_everything'] }, '/roles/new');
      expect(res.status).toBe(422);
      expect(res.text).toContain('id="error-permissions">Choose permissions from the list only.<');
      expect(res.text).not.toContain('root_everything');
      expect(checkbox(res.text, 'manage_users').checked).toBe(true);
      expect(await role('Forged')).toBeUndefined();
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it('answers 422 when another transaction takes the name first (the unique index decides, no 500)', async () => {
      // Another session inserts "Racers" and has not committed yet: the service's own check cannot
      // see it, its insert waits on the unique index and fails once the other session commits.
      const other = new Client({ connectionString: t.db.url });
      await other.connect();
      try {
        await other.query('begin');
        await other.query(`insert into roles (name) values ('Racers')`);
        const before = await databaseFingerprint(t, { includeAudit: true });
        const pending = submitRole('/roles/new', { name: 'racers', description: 'Second' });
        await waitForLockWait(t);
        await other.query('commit');
        const res = await pending;
        expect(res.status).toBe(422);
        expect(res.text).toContain('id="error-name">Another role already has this name.<');
        expect(res.text).toContain('>Second</textarea>');
        const after = await databaseFingerprint(t, { includeAudit: true });
        expect(after.audit_events).toEqual(before.audit_events);
        expect(await t.sql(`select name from roles where lower(name) = 'racers'`)).toEqual([{ name: 'Racers' }]);
      } finally {
        await other.end();
      }
    });
  });

  describe('edit', () => {
    it('shows the form with the stored values and checked permissions', async () => {
      const row = (await role('Auditors'))!;
      const page = await admin.get(`/roles/${row.id}/edit`);
      expect(page.status).toBe(200);
      expect(page.text).toContain('<h1>Edit role Auditors</h1>');
      expect(page.text).toContain(`action="/roles/${row.id}"`);
      expect(page.text).toMatch(/id="field-name" name="name" type="text"\s+value="Auditors"/);
      expect(page.text).toContain('>Read the audit log.</textarea>');
      expect(checkbox(page.text, 'view_audit_log')).toEqual({ checked: true, disabled: false, label: PERMISSION_LABELS.view_audit_log });
      expect(checkbox(page.text, 'manage_contacts').checked).toBe(true);
      expect(checkbox(page.text, 'manage_users').checked).toBe(false);
    });

    it('saves name, description and permissions and audits only the changed fields', async () => {
      const row = (await role('Auditors'))!;
      const res = await submitRole(`/roles/${row.id}/edit`, { name: 'Log readers', description: 'Read the audit log.', permissions: ['view_audit_log', 'manage_users'] });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/roles/${row.id}`);
      expect((await admin.get(res.headers.location)).text).toContain('Role Log readers saved.');
      const after = (await role('Log readers'))!;
      expect(after).toEqual({ ...row, name: 'Log readers', permissions: ['manage_users', 'view_audit_log'] });
      expect(await audit('role.updated', row.id)).toEqual([
        {
          actor_name: 'admin',
          object_type: 'role',
          object_id: String(row.id),
          object_label: 'Log readers',
          changes: {
            name: { from: 'Auditors', to: 'Log readers' },
            permissions: { from: ['manage_contacts', 'view_audit_log'], to: ['manage_users', 'view_audit_log'] },
          },
          detail: null,
        },
      ]);
    });

    it('clears every permission when none is checked, and allows a change of letter case only', async () => {
      const row = (await role('Log readers'))!;
      const res = await submitRole(`/roles/${row.id}/edit`, { name: 'LOG READERS', description: '' });
      expect(res.status).toBe(303);
      expect(await role('log readers')).toEqual({ ...row, name: 'LOG READERS', description: null, permissions: [] });
      const [last] = (await audit('role.updated', row.id)).slice(-1);
      expect(last.changes).toEqual({
        name: { from: 'Log readers', to: 'LOG READERS' },
        description: { from: 'Read the audit log.', to: null },
        permissions: { from: ['manage_users', 'view_audit_log'], to: [] },
      });
    });

    it('writes no audit event when nothing changed', async () => {
      const row = (await role('LOG READERS'))!;
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await submitRole(`/roles/${row.id}/edit`, { name: 'LOG READERS', description: '' });
      expect(res.status).toBe(303);
      expect((await admin.get(res.headers.location)).text).toContain('Nothing to save: role LOG READERS is unchanged.');
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it('refuses a name another role has (case-insensitive), keeping the typed values', async () => {
      const row = (await role('LOG READERS'))!;
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await submitRole(`/roles/${row.id}/edit`, { name: 'user MANAGER', description: 'Typed', permissions: ['send_credentials'] });
      expect(res.status).toBe(422);
      expect(res.text).toContain('id="error-name">Another role already has this name.<');
      expect(res.text).toContain(`action="/roles/${row.id}"`);
      expect(res.text).toMatch(/id="field-name" name="name" type="text"\s+value="user MANAGER"/);
      expect(res.text).toContain('>Typed</textarea>');
      expect(checkbox(res.text, 'send_credentials').checked).toBe(true);
      expect(checkbox(res.text, 'manage_users').checked).toBe(false);
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it('refuses a forged unknown permission on edit and changes nothing', async () => {
      const row = (await role('LOG READERS'))!;
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await postForm(admin, `/roles/${row.id}`, { name: 'LOG READERS', permissions: ['manage_users', 'superuser'] }, `/roles/${row.id}/edit`);
      expect(res.status).toBe(422);
      expect(res.text).toContain('id="error-permissions">Choose permissions from the list only.<');
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it('edits a built-in role other than Administrator like any other', async () => {
      const member = await builtIn('member');
      const res = await submitRole(`/roles/${member.id}/edit`, { name: 'Member', description: member.description ?? '', permissions: ['view_audit_log'] });
      expect(res.status).toBe(303);
      expect((await builtIn('member')).permissions).toEqual(['view_audit_log']);
      const back = await submitRole(`/roles/${member.id}/edit`, { name: 'Member', description: member.description ?? '' });
      expect(back.status).toBe(303);
      expect((await builtIn('member')).permissions).toEqual([]);
    });
  });

  describe('the Administrator role keeps every permission', () => {
    it('shows every permission checked and disabled', async () => {
      const administrator = await builtIn('administrator');
      const page = await admin.get(`/roles/${administrator.id}/edit`);
      expect(page.status).toBe(200);
      for (const key of PERMISSIONS) expect(checkbox(page.text, key)).toEqual({ checked: true, disabled: true, label: PERMISSION_LABELS[key] });
      expect(page.text).toContain('The Administrator role always has every permission; they cannot be removed.');
    });

    it('ignores the permissions of a forged form, even unknown ones, and still saves the other fields', async () => {
      const administrator = await builtIn('administrator');
      for (const permissions of [[], ['manage_users'], ['manage_users', 'bogus_permission']]) {
        const res = await postForm(
          admin,
          `/roles/${administrator.id}`,
          { name: 'Administrator', description: administrator.description ?? '', permissions },
          `/roles/${administrator.id}/edit`,
        );
        expect(res.status).toBe(303);
        expect((await builtIn('administrator')).permissions).toEqual([...PERMISSIONS]);
      }
      expect(await audit('role.updated', administrator.id)).toEqual([]);

      const renamed = await postForm(
        admin,
        `/roles/${administrator.id}`,
        { name: 'Administrators', description: 'All of it.', permissions: ['manage_users'] },
        `/roles/${administrator.id}/edit`,
      );
      expect(renamed.status).toBe(303);
      expect(await builtIn('administrator')).toEqual({ ...administrator, name: 'Administrators', description: 'All of it.', permissions: [...PERMISSIONS] });
      expect((await audit('role.updated', administrator.id)).map((a) => a.changes)).toEqual([
        { name: { from: 'Administrator', to: 'Administrators' }, description: { from: 'Everything, everywhere.', to: 'All of it.' } },
      ]);
      // The admin is still an Administrator and still gets in everywhere.
      expect((await admin.get('/roles')).status).toBe(200);
      expect((await admin.get('/audit')).status).toBe(200);
    });

    it('gives back every permission when the stored set was incomplete', async () => {
      const administrator = await builtIn('administrator');
      await t.sql(`update roles set permissions = '{manage_users}' where id = $1`, [administrator.id]);
      const res = await postForm(admin, `/roles/${administrator.id}`, { name: administrator.name, description: administrator.description ?? '' }, '/roles/new');
      expect(res.status).toBe(303);
      expect((await builtIn('administrator')).permissions).toEqual([...PERMISSIONS]);
      const [last] = (await audit('role.updated', administrator.id)).slice(-1);
      expect(last.changes).toEqual({ permissions: { from: ['manage_users'], to: [...PERMISSIONS] } });
    });
  });

  describe('delete', () => {
    it('deletes a role no user holds, with an audit event of what it was', async () => {
      const row = await createRole('Temporary', ['manage_contacts'], 'Short-lived.');
      const page = await admin.get(`/roles/${row.id}`);
      const res = await formOf(admin, page.text, 'Delete role Temporary', `/roles/${row.id}`).submit('Delete role Temporary');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/roles');
      const list = await admin.get('/roles');
      expect(list.text).toContain('Role Temporary deleted.');
      expect(list.text).not.toContain('default role');
      expect(dataTable(list.text).rows.map((r) => r[0])).not.toContain('Temporary');
      expect(await role('Temporary')).toBeUndefined();
      expect(await audit('role.deleted', row.id)).toEqual([
        {
          actor_name: 'admin',
          object_type: 'role',
          object_id: String(row.id),
          object_label: 'Temporary',
          changes: {
            name: { from: 'Temporary', to: null },
            description: { from: 'Short-lived.', to: null },
            permissions: { from: ['manage_contacts'], to: null },
          },
          detail: null,
        },
      ]);
      expect((await admin.get(`/roles/${row.id}`)).status).toBe(404);
    });

    it.each(['administrator', 'user_manager', 'member'])('refuses to delete the built-in role %s', async (key) => {
      const row = await builtIn(key);
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await postForm(admin, `/roles/${row.id}/delete`, {}, '/roles/new');
      expect(res.status).toBe(409);
      expect(res.text).toContain(`${row.name} is a built-in role and cannot be deleted.`);
      expect(res.text).toContain(`<h1>Role ${row.name}</h1>`);
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it('refuses to delete a role users hold, saying how many', async () => {
      const row = await createRole('Field staff', ['manage_contacts']);
      await createUser(t, { username: 'field-1', roles: ['Field staff'] });
      await createUser(t, { username: 'field-2', roles: ['Field staff', 'member'] });
      await createUser(t, { username: 'field-3', roles: ['Field staff'], enabled: false });
      const show = await admin.get(`/roles/${row.id}`);
      expect(textOf(show.text)).toContain('Field staff can be deleted once no user holds it (3 users hold it now).');
      expect(show.text).not.toContain(`action="/roles/${row.id}/delete"`);

      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await postForm(admin, `/roles/${row.id}/delete`, {}, '/roles/new');
      expect(res.status).toBe(409);
      expect(res.text).toContain('Cannot delete Field staff: 3 users hold this role. Remove it from them first.');
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);

      await t.sql(`delete from user_roles where role_id = $1 and user_id <> (select id from users where username = 'field-1')`, [row.id]);
      const one = await postForm(admin, `/roles/${row.id}/delete`, {}, '/roles/new');
      expect(one.status).toBe(409);
      expect(one.text).toContain('Cannot delete Field staff: 1 user holds this role.');
    });

    it('deletes a default role of the client settings and says so', async () => {
      const row = await createRole('Newcomers');
      await t.sql('insert into client_settings_default_roles (settings_id, role_id) values (1, $1)', [row.id]);
      const show = await admin.get(`/roles/${row.id}`);
      expect(textOf(show.text)).toContain('Default for new users Yes (client settings)');
      expect(show.text).toContain('Newcomers is a default role for new users; deleting it removes it from the client settings.');

      const res = await formOf(admin, show.text, 'Delete role Newcomers', `/roles/${row.id}`).submit('Delete role Newcomers');
      expect(res.status).toBe(303);
      const list = await admin.get('/roles');
      expect(list.text).toContain('Role Newcomers deleted. It was a default role for new users and has been removed from the client settings.');
      expect(await t.sql('select 1 from client_settings_default_roles where role_id = $1', [row.id])).toEqual([]);
      // The other default (Member) stays.
      expect(await t.sql(`select 1 from client_settings_default_roles d join roles r on r.id = d.role_id where r.built_in_key = 'member'`)).toHaveLength(1);
      const [event] = await audit('role.deleted', row.id);
      expect(event.detail).toBe('removed from the default roles of the client settings');
    });
  });

  describe('unknown ids', () => {
    it.each(['/roles/999999', '/roles/999999/edit', '/roles/abc', '/roles/abc/edit', '/roles/0', '/roles/-1', '/roles/1.5', '/roles/99999999999'])(
      'GET %s answers 404',
      async (path) => {
        const res = await admin.get(path);
        expect(res.status).toBe(404);
        expect(res.text).toContain('<h1>Not found</h1>');
      },
    );

    it.each(['/roles/999999', '/roles/999999/delete', '/roles/abc', '/roles/abc/delete'])('POST %s answers 404 and changes nothing', async (path) => {
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await postForm(admin, path, { name: 'Ghost' }, '/roles/new');
      expect(res.status).toBe(404);
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });
  });

  describe('access', () => {
    let memberRoleId: number;
    let customRoleId: number;

    beforeAll(async () => {
      memberRoleId = (await builtIn('member')).id;
      customRoleId = (await createRole('Access target', ['manage_contacts'])).id;
      await t.sql(`insert into roles (name, permissions) values ('Settings managers', '{manage_settings}')`);
    });

    function routes() {
      return {
        get: ['/roles', '/roles/new', `/roles/${customRoleId}`, `/roles/${customRoleId}/edit`, `/roles/${memberRoleId}`],
        post: [
          ['/roles', { name: 'Intruders', permissions: ['manage_settings'] }],
          [`/roles/${customRoleId}`, { name: 'Hijacked', permissions: [...PERMISSIONS] }],
          [`/roles/${customRoleId}/delete`, {}],
          [`/roles/${memberRoleId}`, { name: 'Member', permissions: ['manage_settings'] }],
        ] as [string, Record<string, string | string[]>][],
      };
    }

    async function expectForbiddenEverywhere(agent: Agent) {
      const before = await databaseFingerprint(t, { includeAudit: true });
      for (const path of routes().get) {
        const res = await agent.get(path);
        expect({ path, status: res.status }).toEqual({ path, status: 403 });
        expect(res.text).toContain(FORBIDDEN_TEXT);
      }
      for (const [path, fields] of routes().post) {
        const res = await postForm(agent, path, fields, '/account');
        expect({ path, status: res.status }).toEqual({ path, status: 403 });
      }
      // Not even the audit log changes: refused before any service ran.
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    }

    it('refuses a self-service user on every route (403) and changes nothing', async () => {
      await createUser(t, { username: 'self-service' });
      await expectForbiddenEverywhere(await login(t.http, 'self-service', 'Secret-pass-1'));
    });

    it('refuses an organization administrator holding manage_settings while logged in to a sub-organization', async () => {
      const branch = await createOrganization(t, 'Branch office');
      await createUser(t, { username: 'branch-admin', roles: ['Settings managers', 'user_manager'], profile: 'administrator', memberships: [{ org: branch, isAdmin: true }] });
      const agent = await login(t.http, 'branch-admin', 'Secret-pass-1');
      const home = await agent.get('/');
      expect(home.status).toBe(200);
      expect(home.text).toContain('Organization: <strong>Branch office</strong>');
      expect(home.text).not.toContain('href="/roles"');
      await expectForbiddenEverywhere(agent);
    });

    it('refuses an Administrator-role holder who is logged in to a sub-organization', async () => {
      const branch = await createOrganization(t, 'Remote office');
      await createUser(t, { username: 'remote-admin', roles: ['administrator'], profile: 'administrator', memberships: [{ org: branch, isAdmin: true }] });
      await expectForbiddenEverywhere(await login(t.http, 'remote-admin', 'Secret-pass-1'));
    });

    it('lets a holder of manage_settings logged in to Global manage roles', async () => {
      await createUser(t, { username: 'settings-manager', roles: ['Settings managers'], profile: 'administrator' });
      const agent = await login(t.http, 'settings-manager', 'Secret-pass-1');
      expect((await agent.get('/roles')).status).toBe(200);
      const res = await postForm(agent, '/roles', { name: 'Made by a manager', permissions: ['manage_contacts'] }, '/roles/new');
      expect(res.status).toBe(303);
      const row = (await role('Made by a manager'))!;
      const [event] = await audit('role.created', row.id);
      expect(event.actor_name).toBe('settings-manager');
    });

    it('sends anonymous visitors to the login page', async () => {
      for (const path of routes().get) {
        const res = await request(t.http).get(path);
        expect(res.status).toBe(303);
        expect(res.headers.location).toBe(`/login?next=${encodeURIComponent(path)}`);
      }
      // A visitor with a session (and its CSRF token) but not signed in is sent to sign in too.
      const before = await databaseFingerprint(t, { includeAudit: true });
      const visitor = request.agent(t.http);
      const token = csrfFrom((await visitor.get('/login')).text);
      for (const [path, fields] of routes().post) {
        const res = await visitor.post(path).type('form').send({ _csrf: token, ...fields });
        expect(res.status).toBe(303);
        expect(res.headers.location).toBe('/login');
      }
      // Without a session there is no CSRF secret: refused outright.
      const bare = await request(t.http).post('/roles').type('form').send({ name: 'Anonymous' });
      expect(bare.status).toBe(403);
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it('refuses a form without the CSRF token', async () => {
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await admin.post('/roles').type('form').send({ name: 'No token' });
      expect(res.status).toBe(403);
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });
  });
});
