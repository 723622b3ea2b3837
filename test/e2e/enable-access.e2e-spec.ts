import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createContact, userOfContact } from '../support/contacts-factories';
import { createUser, OrgRow } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { textOf } from '../support/html';
import { openForm } from '../support/forms';
import { Agent, login, postForm } from '../support/http';
import { loginTo } from '../support/sessions';
import { buildWorld } from '../support/world';

/** Enable Access (SPEC §4 "Enable Access"): a user from a contact, single and bulk. */
describe('Enable Access', () => {
  let t: TestApp;
  let admin: Agent;
  let orgAdmin: Agent;
  let A: OrgRow, A1: OrgRow, A11: OrgRow, B: OrgRow;

  beforeAll(async () => {
    t = await createTestApp();
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    ({ A, A1, A11, B } = (await buildWorld(t, { admins: { A1: { username: 'oa_manager', roles: ['user_manager'] } } })).org);
    orgAdmin = await loginTo(t, 'oa_manager', 'Secret-pass-1', A1);
  });
  afterAll(async () => {
    await t.close();
  });

  /** Presses Enable Access on the contact's page. */
  const enableAccess = async (agent: Agent, contactId: number) => (await openForm(agent, `/contacts/${contactId}`, 'Enable Access')).submit('Enable Access');
  const BULK = 'Enable Access for selected contacts';

  /** The text of the flash messages the next rendered page shows. */
  async function flashText(agent: Agent): Promise<string> {
    const page = await agent.get('/contacts');
    return [...page.text.matchAll(/<div class="flash[^"]*"[^>]*>([\s\S]*?)<\/div>/g)].map((m) => textOf(m[1])).join(' | ');
  }

  it('creates the user with the default roles, profile and licence, a membership in the home organization and no password', async () => {
    const [roles] = await t.sql<{ member: number; manager: number }>(
      `select (select id from roles where built_in_key = 'member') as member, (select id from roles where built_in_key = 'user_manager') as manager`,
    );
    const [{ id: licenceId }] = await t.sql<{ id: number }>(`insert into licence_types (name, seats) values ('Partner', 10) returning id`);
    const [{ id: profileId }] = await t.sql<{ id: number }>(`select id from user_profiles where built_in_key = 'self_service'`);
    await t.sql('update client_settings set username_format = $1, default_profile_id = $2, default_licence_id = $3', ['{f}{lastname}', profileId, licenceId]);
    await t.sql('delete from client_settings_default_roles');
    await t.sql('insert into client_settings_default_roles (settings_id, role_id) values (1, $1), (1, $2)', [roles.member, roles.manager]);

    const contact = await createContact(t, { first: 'John', last: 'Smith', email: 'john.smith@example.org', org: A11 });
    const page = await orgAdmin.get(`/contacts/${contact.id}`);
    expect(page.text).toContain(`<form method="post" action="/contacts/${contact.id}/enable-access"`);
    expect(page.text).toContain('>Enable Access</button>');

    const res = await enableAccess(orgAdmin, contact.id);
    expect(res.status).toBe(303);
    const user = await userOfContact(t, contact.id);
    expect(user?.username).toBe('jsmith');
    expect(res.headers.location).toBe(`/users/${user!.id}`);
    expect(await flashText(orgAdmin)).toContain('Access enabled: username jsmith. Send the login credentials from the user page.');

    const [row] = await t.sql<Record<string, unknown>>(
      `select u.password_hash, u.enabled, u.email, u.profile_id, u.licence_id, u.provider,
              array(select ur.role_id from user_roles ur where ur.user_id = u.id order by ur.role_id) as roles,
              array(select m.organization_id from memberships m where m.user_id = u.id) as organizations
         from users u where u.id = $1`,
      [user!.id],
    );
    expect(row).toEqual({
      password_hash: null,
      enabled: true,
      email: 'john.smith@example.org',
      profile_id: profileId,
      licence_id: licenceId,
      provider: 'local',
      roles: [roles.member, roles.manager].sort((a, b) => a - b),
      organizations: [A11.id],
    });
    const audit = await t.sql(`select actor_name from audit_events where action = 'user.created' and object_id = $1`, [String(user!.id)]);
    expect(audit).toEqual([{ actor_name: 'oa_manager' }]);

    // The contact page now offers Open User instead.
    const after = await orgAdmin.get(`/contacts/${contact.id}`);
    expect(after.text).toContain(`<a class="button" href="/users/${user!.id}">Open User</a>`);
    expect(after.text).not.toContain('>Enable Access</button>');

    await t.sql('delete from client_settings_default_roles where role_id = $1', [roles.manager]);
  });

  it('refuses a contact that already has a user, and changes nothing', async () => {
    const existing = await createUser(t, { username: 'already', fullName: 'Al Ready', memberships: [{ org: A11 }] });
    const [{ contact_id }] = await t.sql<{ contact_id: number }>('select contact_id from users where id = $1', [existing.id]);
    // Its page offers Open User, not Enable Access: a stale page or a forged form.
    expect((await orgAdmin.get(`/contacts/${contact_id}`)).text).not.toContain('>Enable Access</button>');
    const before = await databaseFingerprint(t, { includeAudit: true });
    const res = await postForm(orgAdmin, `/contacts/${contact_id}/enable-access`, {});
    expect(res.status).toBe(409);
    expect(textOf(res.text)).toContain('Al Ready already has a user account (already).');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('refuses when the default licence has no free seat: a clear message and nothing created', async () => {
    const [{ id: tiny }] = await t.sql<{ id: number }>(`insert into licence_types (name, seats) values ('Tiny', 1) returning id`);
    const holder = await createUser(t, { username: 'seat_holder', memberships: [{ org: A11 }] });
    await t.sql('update users set licence_id = $1 where id = $2', [tiny, holder.id]);
    const [{ default_licence_id }] = await t.sql<{ default_licence_id: number }>('select default_licence_id from client_settings');
    await t.sql('update client_settings set default_licence_id = $1', [tiny]);
    try {
      const contact = await createContact(t, { first: 'No', last: 'Seat', org: A11 });
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await enableAccess(orgAdmin, contact.id);
      expect(res.status).toBe(409);
      expect(textOf(res.text)).toContain('Licence "Tiny" is full: 1 of 1 seat used.');
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    } finally {
      await t.sql('update client_settings set default_licence_id = $1', [default_licence_id]);
    }
  });

  it('answers 404 for a contact outside the scope, and changes nothing', async () => {
    const outside = await createContact(t, { first: 'Out', last: 'Side', org: B });
    const above = await createContact(t, { first: 'Up', last: 'Above', org: A });
    const before = await databaseFingerprint(t, { includeAudit: true });
    expect((await postForm(orgAdmin, `/contacts/${outside.id}/enable-access`, {})).status).toBe(404);
    expect((await postForm(orgAdmin, `/contacts/${above.id}/enable-access`, {})).status).toBe(404);
    expect((await postForm(orgAdmin, '/contacts/999999/enable-access', {})).status).toBe(404);
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('bulk: creates what it can and names every skipped contact with its reason', async () => {
    const first = await createContact(t, { first: 'Bulk', last: 'First', org: A11 });
    const second = await createContact(t, { first: 'Bulk', last: 'Second', org: A1 });
    const linkedUser = await createUser(t, { username: 'bulk_linked', fullName: 'Bulk Linked', memberships: [{ org: A1 }] });
    const [{ contact_id: linked }] = await t.sql<{ contact_id: number }>('select contact_id from users where id = $1', [linkedUser.id]);
    const outside = await createContact(t, { first: 'Bulk', last: 'Outside', org: B });
    const nameless = await createContact(t, { kind: 'organization', full: '東京商事', org: A11 });

    const list = await orgAdmin.get('/contacts?q=Bulk');
    expect(list.text).toContain('<form method="post" action="/contacts/enable-access">');
    expect(list.text).toContain(`name="ids" value="${first.id}"`);
    expect(list.text).not.toContain(`name="ids" value="${linked}"`);

    const form = await openForm(orgAdmin, '/contacts?q=Bulk', BULK);
    form.check('Select Bulk First').check('Select Bulk Second');
    expect(form.values(BULK).ids).toEqual([first.id, second.id].map(String));
    // The linked contact, one outside the scope and one this search does not list are not offered
    // here: a stale page or a forged form adds them.
    const res = await form.forge('ids', [first.id, second.id, linked, outside.id, nameless.id].map(String)).submit(BULK);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/contacts?q=Bulk');
    expect((await userOfContact(t, first.id))?.username).toBe('bfirst');
    expect((await userOfContact(t, second.id))?.username).toBe('bsecond');
    expect(await userOfContact(t, outside.id)).toBeUndefined();
    expect(await userOfContact(t, nameless.id)).toBeUndefined();

    const flash = await flashText(orgAdmin);
    expect(flash).toContain('Access enabled for 2 contacts: bfirst, bsecond.');
    expect(flash).toContain('Skipped 3 contacts:');
    expect(flash).toContain('Bulk Linked: already has a user (bulk_linked).');
    expect(flash).toContain(`Contact #${outside.id}: not found.`);
    expect(flash).not.toContain('Bulk Outside');
    expect(flash).toContain('東京商事: empty username.');
  });

  it('bulk: a session that may not manage users is refused (403) and nothing changes; an empty selection says so', async () => {
    await t.sql(`insert into roles (name, permissions) values ('Contacts only', '{manage_contacts}')`);
    await createUser(t, { username: 'contacts_only', roles: ['Contacts only'], memberships: [{ org: A1, isAdmin: true }] });
    const contactsOnly = await loginTo(t, 'contacts_only', 'Secret-pass-1', A1);
    const contact = await createContact(t, { first: 'Not', last: 'Allowed', org: A11 });
    const before = await databaseFingerprint(t, { includeAudit: true });
    expect((await postForm(contactsOnly, '/contacts/enable-access', { ids: [String(contact.id)] })).status).toBe(403);
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);

    const empty = await (await openForm(orgAdmin, '/contacts', BULK)).submit(BULK);
    expect(empty.status).toBe(303);
    expect(await flashText(orgAdmin)).toContain('Select at least one contact.');
  });

  it('two simultaneous requests for two contacts with the same name get two distinct usernames', async () => {
    const one = await createContact(t, { first: 'Kim', last: 'Lee', org: A11 });
    const two = await createContact(t, { first: 'Kim', last: 'Lee', org: A11 });
    const forms = [await openForm(admin, `/contacts/${one.id}`, 'Enable Access'), await openForm(orgAdmin, `/contacts/${two.id}`, 'Enable Access')];
    const [r1, r2] = await Promise.all(forms.map((form) => form.submit('Enable Access')));
    expect([r1.status, r2.status]).toEqual([303, 303]);
    const names = [(await userOfContact(t, one.id))?.username, (await userOfContact(t, two.id))?.username].sort();
    expect(names).toEqual(['klee', 'klee2']);
  });
});
