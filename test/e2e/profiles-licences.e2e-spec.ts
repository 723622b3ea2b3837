import { Client } from 'pg';
import request from 'supertest';
import { TestApp } from '../support/app';
import { auditEvents, waitForLockWait } from '../support/audit';
import { createOrganization, createUser } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { dataTable, textOf } from '../support/html';
import { formOf, openForm, RenderedForm } from '../support/forms';
import { Agent, csrfFrom, login, postForm } from '../support/http';
import { appWithAdmin } from '../support/sessions';

/**
 * User profiles at /profiles and licence types at /licences (SPEC §2 "Roles, permissions,
 * profiles, licences"): list, show, create, edit, delete with their rules (built-ins, in use,
 * client-settings defaults, seats never below usage), audit events with the changed fields, and
 * access: only sessions allowed `manage_settings`.
 */

interface ProfileRow {
  id: number;
  name: string;
  description: string | null;
  start_page: string;
  built_in_key: string | null;
}

interface LicenceRow {
  id: number;
  name: string;
  seats: number | null;
  built_in_key: string | null;
}

/** State of a start page radio button of the profile form. */
function radio(html: string, value: string): { checked: boolean; disabled: boolean } {
  const input = new RegExp(`<input[^>]*id="start-page-${value}"[^>]*>`).exec(html);
  if (!input) throw new Error(`No radio button for ${value}`);
  return { checked: /\schecked[\s>]/.test(input[0]), disabled: /\sdisabled[\s>]/.test(input[0]) };
}

/** The value attribute of a text input. */
function inputValue(html: string, name: string): string | null {
  const m = new RegExp(`id="field-${name}" name="${name}" type="text"\\s+value="([^"]*)"`).exec(html);
  return m ? m[1] : null;
}

describe('user profiles and licence types', () => {
  let t: TestApp;
  let admin: Agent;

  beforeAll(async () => ({ t, admin } = await appWithAdmin()));
  afterAll(() => t.close());

  const audit = (action: string, objectId: number) => auditEvents(t, action, objectId);

  /** The start pages by the label a person picks them by. */
  const START_PAGES: Record<string, string> = { administrator: 'Administrator startboard', self_service: 'Self-service' };

  /** Everything, audit log included: a refused request writes nothing at all. */
  const fingerprint = () => databaseFingerprint(t, { includeAudit: true });

  describe('user profiles', () => {
    async function profile(name: string): Promise<ProfileRow | undefined> {
      const [row] = await t.sql<ProfileRow>('select id, name, description, start_page, built_in_key from user_profiles where lower(name) = lower($1)', [name]);
      return row;
    }
    async function builtIn(key: string): Promise<ProfileRow> {
      const [row] = await t.sql<ProfileRow>('select id, name, description, start_page, built_in_key from user_profiles where built_in_key = $1', [key]);
      return row;
    }
    /**
     * The person fills in the user profile form at `page` (new or edit) and presses its button;
     * `startPage: null` leaves the start page out, as only a forged form can.
     */
    async function submitProfile(page: string, fields: { name?: string; description?: string; startPage?: string | null }) {
      const button = page === '/profiles/new' ? 'Create user profile' : 'Save user profile';
      const form = await openForm(admin, page, button);
      if (fields.name !== undefined) form.fill('Name', fields.name);
      if (fields.description !== undefined) form.fill('Description', fields.description);
      if (fields.startPage === null) form.forge('startPage', null);
      else if (fields.startPage !== undefined && fields.startPage in START_PAGES) form.check(START_PAGES[fields.startPage]);
      else if (fields.startPage !== undefined) form.forge('startPage', fields.startPage);
      return form.submit(button);
    }
    async function createProfile(name: string, startPage = 'self_service', description = ''): Promise<ProfileRow> {
      const res = await submitProfile('/profiles/new', { name, description, startPage });
      expect(res.status).toBe(303);
      return (await profile(name))!;
    }

    it('lists the built-in profiles with their start page and number of users', async () => {
      await createUser(t, { username: 'p-self-1' });
      await createUser(t, { username: 'p-self-2', enabled: false });
      const page = await admin.get('/profiles');
      expect(page.status).toBe(200);
      expect(page.text).toContain('<h1>User profiles</h1>');
      expect(page.text).toContain('href="/profiles/new"');
      expect(dataTable(page.text).rows).toEqual([
        ['Administrator (built-in)', 'Administrator startboard with every area the user may manage.', 'Administrator startboard', '1'],
        ['Self-service (built-in) (default for new users)', 'The user manages their own account and password.', 'Self-service', '2'],
      ]);
    });

    it('creates a profile and audits it', async () => {
      const form = await admin.get('/profiles/new');
      expect(form.status).toBe(200);
      expect(form.text).toContain('<legend>Start page');
      expect(radio(form.text, 'self_service')).toEqual({ checked: true, disabled: false });
      expect(radio(form.text, 'administrator')).toEqual({ checked: false, disabled: false });
      expect(form.text).toContain('<label for="start-page-administrator">Administrator startboard</label>');

      const res = await submitProfile('/profiles/new', { name: ' Managers ', description: 'Team leads.', startPage: 'administrator' });
      expect(res.status).toBe(303);
      const row = (await profile('Managers'))!;
      expect(res.headers.location).toBe(`/profiles/${row.id}`);
      expect(row).toEqual({ id: row.id, name: 'Managers', description: 'Team leads.', start_page: 'administrator', built_in_key: null });
      const page = await admin.get(res.headers.location);
      expect(page.text).toContain('User profile Managers created.');
      expect(textOf(page.text)).toContain('Start page Administrator startboard');
      expect(textOf(page.text)).toContain('Users with it 0');
      expect(await audit('profile.created', row.id)).toEqual([
        {
          actor_name: 'admin',
          object_type: 'profile',
          object_id: String(row.id),
          object_label: 'Managers',
          changes: { name: { from: null, to: 'Managers' }, description: { from: null, to: 'Team leads.' }, startPage: { from: null, to: 'administrator' } },
          detail: null,
        },
      ]);
    });

    it.each([
      [{ name: '', startPage: 'self_service' }, 'name', 'Enter a name.'],
      [{ name: 'z'.repeat(101), startPage: 'self_service' }, 'name', 'Use at most 100 characters for the name.'],
      [{ name: 'No start page' }, 'startPage', 'Choose a start page.'],
      [{ name: 'Forged start page', startPage: 'root_console' }, 'startPage', 'Choose a start page.'],
      [{ name: 'managers', startPage: 'self_service' }, 'name', 'Another user profile already has this name.'],
      [{ name: 'SELF-SERVICE', startPage: 'self_service' }, 'name', 'Another user profile already has this name.'],
    ])('refuses %j with 422 and a message next to the field', async (fields, field, message) => {
      const before = await fingerprint();
      // A start page the form does not offer (or none at all) is a forged form.
      const res = await submitProfile('/profiles/new', { description: 'Typed text', startPage: null, ...fields });
      expect(res.status).toBe(422);
      expect(res.text).toContain(`id="error-${field}">${message}<`);
      expect(res.text).toContain(`<a href="#field-${field}">${message}</a>`);
      expect(res.text).toContain('>Typed text</textarea>');
      expect(inputValue(res.text, 'name')).toBe(fields.name);
      expect(await fingerprint()).toEqual(before);
    });

    it('edits a profile and audits only the changed fields', async () => {
      const row = (await profile('Managers'))!;
      const form = await admin.get(`/profiles/${row.id}/edit`);
      expect(form.status).toBe(200);
      expect(inputValue(form.text, 'name')).toBe('Managers');
      expect(radio(form.text, 'administrator')).toEqual({ checked: true, disabled: false });

      const res = await submitProfile(`/profiles/${row.id}/edit`, { name: 'Managers', description: 'Team leads.', startPage: 'self_service' });
      expect(res.status).toBe(303);
      expect((await admin.get(res.headers.location)).text).toContain('User profile Managers saved.');
      expect(await profile('Managers')).toEqual({ ...row, start_page: 'self_service' });
      expect((await audit('profile.updated', row.id)).map((a) => a.changes)).toEqual([{ startPage: { from: 'administrator', to: 'self_service' } }]);
    });

    it('refuses a duplicate name on edit, keeping the typed values', async () => {
      const row = (await profile('Managers'))!;
      const before = await fingerprint();
      const res = await submitProfile(`/profiles/${row.id}/edit`, { name: 'administrator', description: 'Typed', startPage: 'administrator' });
      expect(res.status).toBe(422);
      expect(res.text).toContain('id="error-name">Another user profile already has this name.<');
      expect(res.text).toContain(`action="/profiles/${row.id}"`);
      expect(inputValue(res.text, 'name')).toBe('administrator');
      expect(radio(res.text, 'administrator').checked).toBe(true);
      expect(await fingerprint()).toEqual(before);
    });

    it('keeps the start page of a built-in profile, even with a forged form', async () => {
      const administrator = await builtIn('administrator');
      const form = await admin.get(`/profiles/${administrator.id}/edit`);
      expect(radio(form.text, 'administrator')).toEqual({ checked: true, disabled: true });
      expect(radio(form.text, 'self_service')).toEqual({ checked: false, disabled: true });
      expect(form.text).toContain('The start page of a built-in user profile is fixed.');

      const res = await postForm(
        admin,
        `/profiles/${administrator.id}`,
        { name: 'Administrators', description: administrator.description ?? '', startPage: 'self_service' },
        '/profiles/new',
      );
      expect(res.status).toBe(303);
      expect(await builtIn('administrator')).toEqual({ ...administrator, name: 'Administrators' });
      expect((await audit('profile.updated', administrator.id)).map((a) => a.changes)).toEqual([{ name: { from: 'Administrator', to: 'Administrators' } }]);
      // The admin keeps the startboard.
      expect((await admin.get('/')).status).toBe(200);
    });

    it.each(['administrator', 'self_service'])('refuses to delete the built-in profile %s', async (key) => {
      const row = await builtIn(key);
      const show = await admin.get(`/profiles/${row.id}`);
      expect(show.text).toContain(`${row.name} is a built-in user profile and cannot be deleted.`);
      expect(show.text).not.toContain(`action="/profiles/${row.id}/delete"`);
      const before = await fingerprint();
      const res = await postForm(admin, `/profiles/${row.id}/delete`, {}, '/profiles/new');
      expect(res.status).toBe(409);
      expect(res.text).toContain(`${row.name} is a built-in user profile and cannot be deleted.`);
      expect(await fingerprint()).toEqual(before);
    });

    it('refuses to delete a profile users have, saying how many', async () => {
      const row = await createProfile('Contractors');
      const a = await createUser(t, { username: 'contractor-1' });
      const b = await createUser(t, { username: 'contractor-2', enabled: false });
      await t.sql('update users set profile_id = $1 where id = any($2)', [row.id, [a.id, b.id]]);
      const show = await admin.get(`/profiles/${row.id}`);
      expect(textOf(show.text)).toContain('Contractors can be deleted once no user has it (2 users have it now).');

      const before = await fingerprint();
      const res = await postForm(admin, `/profiles/${row.id}/delete`, {}, '/profiles/new');
      expect(res.status).toBe(409);
      expect(res.text).toContain('Cannot delete Contractors: 2 users have this user profile. Give them another profile first.');
      expect(await fingerprint()).toEqual(before);
    });

    it('deletes an unused profile with an audit event of what it was', async () => {
      const row = await createProfile('Interns', 'self_service', 'Summer only.');
      const show = await admin.get(`/profiles/${row.id}`);
      const res = await formOf(admin, show.text, 'Delete user profile Interns', `/profiles/${row.id}`).submit('Delete user profile Interns');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/profiles');
      const list = await admin.get('/profiles');
      expect(list.text).toContain('User profile Interns deleted.');
      expect(list.text).not.toContain('default profile');
      expect(await profile('Interns')).toBeUndefined();
      expect((await audit('profile.deleted', row.id)).map((a) => [a.changes, a.detail])).toEqual([
        [{ name: { from: 'Interns', to: null }, description: { from: 'Summer only.', to: null }, startPage: { from: 'self_service', to: null } }, null],
      ]);
    });

    it('deletes the default profile of the client settings and says so', async () => {
      const row = await createProfile('Default people');
      await t.sql('update client_settings set default_profile_id = $1', [row.id]);
      const show = await admin.get(`/profiles/${row.id}`);
      expect(textOf(show.text)).toContain('Default for new users Yes (client settings)');
      expect(show.text).toContain('is the default profile for new users');
      const res = await formOf(admin, show.text, 'Delete user profile Default people', `/profiles/${row.id}`).submit('Delete user profile Default people');
      expect(res.status).toBe(303);
      expect((await admin.get('/profiles')).text).toContain(
        'User profile Default people deleted. It was the default profile for new users: new users get no profile (and cannot sign in) until you choose another default in the client settings.',
      );
      expect(await t.sql('select default_profile_id from client_settings')).toEqual([{ default_profile_id: null }]);
      expect((await audit('profile.deleted', row.id))[0].detail).toBe('was the default profile of the client settings (now none)');
    });

    it('answers 404 for unknown or malformed ids', async () => {
      for (const path of ['/profiles/999999', '/profiles/999999/edit', '/profiles/abc', '/profiles/abc/edit', '/profiles/0']) {
        expect({ path, status: (await admin.get(path)).status }).toEqual({ path, status: 404 });
      }
      const before = await fingerprint();
      for (const path of ['/profiles/999999', '/profiles/999999/delete', '/profiles/abc', '/profiles/abc/delete']) {
        const res = await postForm(admin, path, { name: 'Ghost', startPage: 'self_service' }, '/profiles/new');
        expect({ path, status: res.status }).toEqual({ path, status: 404 });
      }
      expect(await fingerprint()).toEqual(before);
    });
  });

  describe('licence types', () => {
    async function licence(name: string): Promise<LicenceRow | undefined> {
      const [row] = await t.sql<LicenceRow>('select id, name, seats, built_in_key from licence_types where lower(name) = lower($1)', [name]);
      return row;
    }
    async function standard(): Promise<LicenceRow> {
      const [row] = await t.sql<LicenceRow>(`select id, name, seats, built_in_key from licence_types where built_in_key = 'standard'`);
      return row;
    }
    /** The licence type form at `page` (new or edit) with the person's name and seats typed in, and its button. */
    async function licenceForm(page: string, fields: { name: string; seats: string }): Promise<{ form: RenderedForm; button: string }> {
      const button = page === '/licences/new' ? 'Create licence type' : 'Save licence type';
      const form = await openForm(admin, page, button);
      return { form: form.fill('Name', fields.name).fill('Seats', fields.seats), button };
    }
    async function submitLicence(page: string, fields: { name: string; seats: string }) {
      const { form, button } = await licenceForm(page, fields);
      return form.submit(button);
    }
    async function createLicence(name: string, seats = ''): Promise<LicenceRow> {
      const res = await submitLicence('/licences/new', { name, seats });
      expect(res.status).toBe(303);
      return (await licence(name))!;
    }
    /** Gives `count` new users (enabled unless told) the licence. */
    async function holders(licenceId: number, prefix: string, count: number, enabled = true): Promise<void> {
      for (let i = 1; i <= count; i++) {
        const user = await createUser(t, { username: `${prefix}-${i}`, enabled });
        await t.sql('update users set licence_id = $1 where id = $2', [licenceId, user.id]);
      }
    }

    it('creates a licence type with seats, and one with unlimited seats, and audits them', async () => {
      const form = await admin.get('/licences/new');
      expect(form.status).toBe(200);
      expect(form.text).toContain('<label for="field-seats">Seats</label>');
      expect(form.text).toContain('Leave it empty for unlimited seats.');

      const res = await submitLicence('/licences/new', { name: 'Gold', seats: ' 5 ' });
      expect(res.status).toBe(303);
      const gold = (await licence('Gold'))!;
      expect(res.headers.location).toBe(`/licences/${gold.id}`);
      expect(gold).toEqual({ id: gold.id, name: 'Gold', seats: 5, built_in_key: null });
      const page = await admin.get(res.headers.location);
      expect(page.text).toContain('Licence type Gold created.');
      expect(textOf(page.text)).toContain('Usage 0 of 5 seats used');
      expect((await audit('licence.created', gold.id)).map((a) => [a.actor_name, a.object_label, a.changes])).toEqual([
        ['admin', 'Gold', { name: { from: null, to: 'Gold' }, seats: { from: null, to: 5 } }],
      ]);

      const bronze = await createLicence('Bronze');
      expect(bronze.seats).toBeNull();
      expect((await audit('licence.created', bronze.id))[0].changes).toEqual({ name: { from: null, to: 'Bronze' } });
      const zero = await createLicence('Frozen', '0');
      expect(zero.seats).toBe(0);
    });

    it('shows usage as "used of seats" counting enabled users only', async () => {
      const gold = (await licence('Gold'))!;
      await holders(gold.id, 'gold', 3);
      await holders(gold.id, 'gold-off', 2, false);
      const list = await admin.get('/licences');
      expect(list.status).toBe(200);
      expect(list.text).toContain('<h1>Licence types</h1>');
      const rows = dataTable(list.text).rows;
      expect(rows).toContainEqual(['Gold', '5', '3 of 5 seats used']);
      expect(rows).toContainEqual(['Bronze', 'Unlimited', '0 used (unlimited)']);
      expect(rows).toContainEqual(['Frozen', '0', '0 of 0 seats used (full)']);
      // Every user of this file so far has the built-in Standard licence unless moved to Gold.
      const [{ count }] = await t.sql<{ count: number }>(
        `select count(*)::int as count from users where enabled and licence_id = (select id from licence_types where built_in_key = 'standard')`,
      );
      expect(rows).toContainEqual(['Standard (built-in) (default for new users)', 'Unlimited', `${count} used (unlimited)`]);

      const show = await admin.get(`/licences/${gold.id}`);
      expect(show.status).toBe(200);
      expect(show.text).toContain('<h1>Licence type Gold</h1>');
      expect(textOf(show.text)).toContain('Usage 3 of 5 seats used');
      expect(textOf(show.text)).toContain('Users holding it 5 (3 enabled)');
    });

    it('refuses fewer seats than enabled users already hold, naming the usage', async () => {
      const gold = (await licence('Gold'))!;
      const before = await fingerprint();
      const res = await submitLicence(`/licences/${gold.id}/edit`, { name: 'Gold', seats: '2' });
      expect(res.status).toBe(422);
      expect(res.text).toContain('id="error-seats">Cannot set 2 seats: 3 enabled users already hold Gold.<');
      expect(inputValue(res.text, 'seats')).toBe('2');
      expect(res.text).toContain('Now: 3 of 5 seats used.');
      expect(await fingerprint()).toEqual(before);

      const one = await submitLicence(`/licences/${gold.id}/edit`, { name: 'Gold', seats: '1' });
      expect(one.text).toContain('Cannot set 1 seat: 3 enabled users already hold Gold.');
      expect(await fingerprint()).toEqual(before);
    });

    it('accepts seats equal to the usage, and unlimited, auditing the change', async () => {
      const gold = (await licence('Gold'))!;
      const res = await submitLicence(`/licences/${gold.id}/edit`, { name: 'Gold', seats: '3' });
      expect(res.status).toBe(303);
      const show = await admin.get(res.headers.location);
      expect(show.text).toContain('Licence type Gold saved.');
      expect(textOf(show.text)).toContain('Usage 3 of 3 seats used (full)');
      const unlimited = await submitLicence(`/licences/${gold.id}/edit`, { name: 'Gold', seats: '' });
      expect(unlimited.status).toBe(303);
      expect((await licence('Gold'))!.seats).toBeNull();
      expect(textOf((await admin.get(`/licences/${gold.id}`)).text)).toContain('Usage 3 used (unlimited)');
      expect((await audit('licence.updated', gold.id)).map((a) => a.changes)).toEqual([{ seats: { from: 5, to: 3 } }, { seats: { from: 3, to: null } }]);
      // From unlimited back to fewer seats than the usage: refused too.
      const below = await submitLicence(`/licences/${gold.id}/edit`, { name: 'Gold', seats: '0' });
      expect(below.status).toBe(422);
      expect(below.text).toContain('Cannot set 0 seats: 3 enabled users already hold Gold.');
    });

    it('renames a licence type whose usage is above its seats without touching the seats', async () => {
      const frozen = (await licence('Frozen'))!;
      await holders(frozen.id, 'frozen', 1);
      const res = await submitLicence(`/licences/${frozen.id}/edit`, { name: 'Frozen solid', seats: '0' });
      expect(res.status).toBe(303);
      expect(await licence('Frozen solid')).toEqual({ ...frozen, name: 'Frozen solid' });
    });

    it.each([
      [{ name: 'Silver', seats: '-1' }, 'seats'],
      [{ name: 'Silver', seats: 'ten' }, 'seats'],
      [{ name: 'Silver', seats: '1.5' }, 'seats'],
      [{ name: 'Silver', seats: '99999999999' }, 'seats'],
      [{ name: '', seats: '3' }, 'name'],
      [{ name: 'gold', seats: '3' }, 'name'],
      [{ name: 'STANDARD', seats: '' }, 'name'],
    ])('refuses %j with 422, keeping the typed values', async (fields, field) => {
      const before = await fingerprint();
      const res = await submitLicence('/licences/new', fields);
      expect(res.status).toBe(422);
      const messages: Record<string, string[]> = {
        seats: ['Enter the number of seats as a whole number (0 or more), or leave it empty for unlimited.'],
        name: ['Enter a name.', 'Another licence type already has this name.'],
      };
      const shown = /id="error-(\w+)">([^<]*)</.exec(res.text);
      expect(shown?.[1]).toBe(field);
      expect(messages[field]).toContain(shown?.[2]);
      expect(inputValue(res.text, 'name')).toBe(fields.name);
      expect(inputValue(res.text, 'seats')).toBe(fields.seats);
      expect(await fingerprint()).toEqual(before);
    });

    it('waits for a seat assignment in progress before checking the usage', async () => {
      // A transaction holding the licence row (as a seat assignment does) makes the update wait;
      // the usage it then counts includes the users that transaction gave the licence.
      const row = await createLicence('Platinum', '10');
      const user = await createUser(t, { username: 'platinum-late' });
      await holders(row.id, 'platinum', 1);
      // The person has the edit form open before the seat assignment starts.
      const edit = await licenceForm(`/licences/${row.id}/edit`, { name: 'Platinum', seats: '1' });
      const other = new Client({ connectionString: t.db.url });
      await other.connect();
      try {
        await other.query('begin');
        await other.query('select id from licence_types where id = $1 for update', [row.id]);
        await other.query('update users set licence_id = $1 where id = $2', [row.id, user.id]);
        const pending = edit.form.submit(edit.button);
        await waitForLockWait(t);
        await other.query('commit');
        const res = await pending;
        expect(res.status).toBe(422);
        expect(res.text).toContain('Cannot set 1 seat: 2 enabled users already hold Platinum.');
        expect((await licence('Platinum'))!.seats).toBe(10);
      } finally {
        await other.end();
      }
    });

    it('refuses to delete the built-in licence type', async () => {
      const row = await standard();
      const before = await fingerprint();
      const res = await postForm(admin, `/licences/${row.id}/delete`, {}, '/licences/new');
      expect(res.status).toBe(409);
      expect(res.text).toContain('Standard is a built-in licence type and cannot be deleted.');
      expect(await fingerprint()).toEqual(before);
    });

    it('refuses to delete a licence type users hold (disabled users too), saying how many', async () => {
      const gold = (await licence('Gold'))!;
      const show = await admin.get(`/licences/${gold.id}`);
      expect(textOf(show.text)).toContain('Gold can be deleted once no user holds it (5 users hold it now).');
      expect(show.text).not.toContain(`action="/licences/${gold.id}/delete"`);
      const before = await fingerprint();
      const res = await postForm(admin, `/licences/${gold.id}/delete`, {}, '/licences/new');
      expect(res.status).toBe(409);
      expect(res.text).toContain('Cannot delete Gold: 5 users hold this licence. Give them another licence first.');
      expect(await fingerprint()).toEqual(before);
    });

    it('deletes an unused licence type with an audit event', async () => {
      const bronze = (await licence('Bronze'))!;
      const show = await admin.get(`/licences/${bronze.id}`);
      const res = await formOf(admin, show.text, 'Delete licence type Bronze', `/licences/${bronze.id}`).submit('Delete licence type Bronze');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/licences');
      const list = await admin.get('/licences');
      expect(list.text).toContain('Licence type Bronze deleted.');
      expect(await licence('Bronze')).toBeUndefined();
      expect((await audit('licence.deleted', bronze.id)).map((a) => [a.object_label, a.changes, a.detail])).toEqual([
        ['Bronze', { name: { from: 'Bronze', to: null } }, null],
      ]);
    });

    it('deletes the default licence of the client settings and says so', async () => {
      const row = await createLicence('Starter', '100');
      await t.sql('update client_settings set default_licence_id = $1', [row.id]);
      const show = await admin.get(`/licences/${row.id}`);
      expect(show.text).toContain('is the default licence for new users');
      const res = await formOf(admin, show.text, 'Delete licence type Starter', `/licences/${row.id}`).submit('Delete licence type Starter');
      expect(res.status).toBe(303);
      expect((await admin.get('/licences')).text).toContain(
        'Licence type Starter deleted. It was the default licence for new users: new users get no licence until you choose another default in the client settings.',
      );
      expect(await t.sql('select default_licence_id from client_settings')).toEqual([{ default_licence_id: null }]);
      expect((await audit('licence.deleted', row.id))[0].detail).toBe('was the default licence of the client settings (now none)');
    });

    it('answers 404 for unknown or malformed ids', async () => {
      for (const path of ['/licences/999999', '/licences/999999/edit', '/licences/abc', '/licences/abc/edit', '/licences/0']) {
        expect({ path, status: (await admin.get(path)).status }).toEqual({ path, status: 404 });
      }
      const before = await fingerprint();
      for (const path of ['/licences/999999', '/licences/999999/delete', '/licences/abc', '/licences/abc/delete']) {
        const res = await postForm(admin, path, { name: 'Ghost', seats: '1' }, '/licences/new');
        expect({ path, status: res.status }).toEqual({ path, status: 404 });
      }
      expect(await fingerprint()).toEqual(before);
    });
  });

  describe('access', () => {
    let profileId: number;
    let licenceId: number;

    beforeAll(async () => {
      [{ id: profileId }] = await t.sql<{ id: number }>(`insert into user_profiles (name) values ('Access profile') returning id`);
      [{ id: licenceId }] = await t.sql<{ id: number }>(`insert into licence_types (name, seats) values ('Access licence', 10) returning id`);
      await t.sql(`insert into roles (name, permissions) values ('Settings managers', '{manage_settings}')`);
    });

    function routes() {
      return {
        get: [
          '/profiles',
          '/profiles/new',
          `/profiles/${profileId}`,
          `/profiles/${profileId}/edit`,
          '/licences',
          '/licences/new',
          `/licences/${licenceId}`,
          `/licences/${licenceId}/edit`,
        ],
        post: [
          ['/profiles', { name: 'Intruder profile', startPage: 'administrator' }],
          [`/profiles/${profileId}`, { name: 'Hijacked profile', startPage: 'administrator' }],
          [`/profiles/${profileId}/delete`, {}],
          ['/licences', { name: 'Intruder licence', seats: '' }],
          [`/licences/${licenceId}`, { name: 'Hijacked licence', seats: '' }],
          [`/licences/${licenceId}/delete`, {}],
        ] as [string, Record<string, string>][],
      };
    }

    async function expectForbiddenEverywhere(agent: Agent) {
      const before = await fingerprint();
      for (const path of routes().get) {
        const res = await agent.get(path);
        expect({ path, status: res.status }).toEqual({ path, status: 403 });
      }
      for (const [path, fields] of routes().post) {
        const res = await postForm(agent, path, fields, '/account');
        expect({ path, status: res.status }).toEqual({ path, status: 403 });
      }
      expect(await fingerprint()).toEqual(before);
    }

    it('refuses a self-service user on every route (403) and changes nothing', async () => {
      await createUser(t, { username: 'access-self' });
      await expectForbiddenEverywhere(await login(t.http, 'access-self', 'Secret-pass-1'));
    });

    it('refuses an organization administrator holding manage_settings while logged in to a sub-organization', async () => {
      const branch = await createOrganization(t, 'Branch');
      await createUser(t, { username: 'access-branch', roles: ['Settings managers'], profile: 'administrator', memberships: [{ org: branch, isAdmin: true }] });
      const agent = await login(t.http, 'access-branch', 'Secret-pass-1');
      expect((await agent.get('/')).text).toContain('Organization: <strong>Branch</strong>');
      await expectForbiddenEverywhere(agent);
    });

    it('lets a holder of manage_settings logged in to Global in', async () => {
      await createUser(t, { username: 'access-manager', roles: ['Settings managers'], profile: 'administrator' });
      const agent = await login(t.http, 'access-manager', 'Secret-pass-1');
      for (const path of routes().get) expect({ path, status: (await agent.get(path)).status }).toEqual({ path, status: 200 });
    });

    it('sends anonymous visitors to the login page', async () => {
      for (const path of routes().get) {
        const res = await request(t.http).get(path);
        expect(res.status).toBe(303);
        expect(res.headers.location).toBe(`/login?next=${encodeURIComponent(path)}`);
      }
      const before = await fingerprint();
      const visitor = request.agent(t.http);
      const token = csrfFrom((await visitor.get('/login')).text);
      for (const [path, fields] of routes().post) {
        const res = await visitor.post(path).type('form').send({ _csrf: token, ...fields });
        expect({ path, status: res.status, location: res.headers.location }).toEqual({ path, status: 303, location: '/login' });
      }
      expect(await fingerprint()).toEqual(before);
    });
  });
});
