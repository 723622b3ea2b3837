import { formatInZone } from '../../src/credentials/credential-mail';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { credentialParts, jobOf, sendColumns, setEmail } from '../support/credentials-factories';
import { createUser, OrgRow } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { formIn } from '../support/forms';
import { decodeEntities } from '../support/html';
import { Agent, csrfToken, login, postForm } from '../support/http';
import { loginTo } from '../support/sessions';
import { SmtpSink } from '../support/smtp-sink';
import { download, openWorkbook } from '../support/imports-factories';
import { createProperty, setPropertyValues } from '../support/users-factories';
import { buildWorld } from '../support/world';

/** What a browser would send for the page's form with this action: the start of a forged request. */
const renderedForm = (html: string, action: string) => formIn(html, { action }).values();

const PASSWORD = 'Secret-pass-1';
const MINUTE = 60_000;
jest.setTimeout(60_000);

/**
 * The privilege escalations and scope leaks of the attack run (SPEC §3): an organization
 * administrator must not reach an Administrator through a contact, hand out roles beyond their
 * own permissions, or read what lies outside their subtree through the export, /mail, a user's
 * audit trail or the page of a member added from another branch.
 */
describe('escalations and scope leaks', () => {
  let sink: SmtpSink;
  let t: TestApp;
  let parts: ReturnType<typeof credentialParts>;
  let admin: Agent;
  let oa: Agent;
  let global: OrgRow, A1: OrgRow, A11: OrgRow, B: OrgRow;

  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await createTestApp({ env: { SMTP_URL: sink.url, SCHEDULER: 'off' } });
    parts = credentialParts(t);
    ({ global, A1, A11, B } = (await buildWorld(t, { admins: { A1: { username: 'oa_manager', email: 'oa@example.org', roles: ['user_manager'] } } })).org);
    await setEmail(t, 'admin', 'admin@example.org');
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    oa = await loginTo(t, 'oa_manager', PASSWORD, A1);
  });
  afterAll(async () => {
    await t.close();
    await sink.stop();
  });

  const contactOf = async (userId: number) => (await t.sql<{ id: number; email: string | null }>('select c.id, c.email from contacts c join users u on u.contact_id = c.id where u.id = $1', [userId]))[0];
  const page = async (agent: Agent, path: string) => {
    const res = await agent.get(path);
    expect(res.status).toBe(200);
    return res.text;
  };

  // ----- 1. the contact of a user ------------------------------------------------------------

  describe('the contact of a user', () => {
    const personFields = (email: string, organizationId: number) => ({
      kind: 'person',
      firstName: 'Taken',
      lastName: 'Over',
      fullName: '',
      email,
      mobile: '',
      department: '',
      jobTitle: '',
      employerId: '',
      organizationId: String(organizationId),
    });

    it('an organization administrator cannot change the contact of an Administrator whose contact lives in their organization', async () => {
      const boss = await createUser(t, { username: 'boss', email: 'boss@example.org', roles: ['administrator'], memberships: [{ org: global }] });
      const contact = await contactOf(boss.id);
      await t.sql('update contacts set organization_id = $1 where id = $2', [A1.id, contact.id]);

      // The contact is in scope (its home is A1), so it is listed and shown, but not offered for change.
      const shown = await page(oa, `/contacts/${contact.id}`);
      expect(shown).not.toContain(`/contacts/${contact.id}/edit`);
      expect((await oa.get(`/contacts/${contact.id}/edit`)).status).toBe(403);

      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await postForm(oa, `/contacts/${contact.id}`, personFields('attacker@evil.example', A1.id));
      expect(res.status).toBe(403);
      expect(decodeEntities(res.text)).toContain('it belongs to the user boss, whom you may not manage');
      expect((await postForm(oa, `/contacts/${contact.id}/delete`, {})).status).toBe(403);
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
      expect((await t.sql<{ email: string }>('select email from users where id = $1', [boss.id]))[0].email).toBe('boss@example.org');
    });

    it('nor the contact of a user with a membership outside the subtree, nor of one outside it altogether', async () => {
      const mixed = await createUser(t, { username: 'contact_mixed', email: 'mixed@example.org', memberships: [{ org: A11 }, { org: B }] });
      const away = await createUser(t, { username: 'contact_away', email: 'away@example.org', memberships: [{ org: B }] });
      const awayContact = await contactOf(away.id);
      await t.sql('update contacts set organization_id = $1 where id = $2', [A11.id, awayContact.id]);
      const before = await databaseFingerprint(t, { includeAudit: true });
      for (const user of [mixed, away]) {
        const contact = await contactOf(user.id);
        expect((await oa.get(`/contacts/${contact.id}/edit`)).status).toBe(403);
        expect((await postForm(oa, `/contacts/${contact.id}`, personFields('attacker@evil.example', A11.id))).status).toBe(403);
      }
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it('still changes the contact of a user fully inside the subtree, through the rendered form', async () => {
      const inner = await createUser(t, { username: 'contact_inner', email: 'inner@example.org', memberships: [{ org: A11 }] });
      const contact = await contactOf(inner.id);
      const form = renderedForm(await page(oa, `/contacts/${contact.id}/edit`), `/contacts/${contact.id}`);
      const res = await oa.post(`/contacts/${contact.id}`).type('form').send({ ...form, email: 'inner.new@example.org' });
      expect(res.status).toBe(303);
      expect((await t.sql<{ email: string }>('select email from users where id = $1', [inner.id]))[0].email).toBe('inner.new@example.org');
    });

    it('a scheduled send whose recipient address changed afterwards mails nobody and fails with the reason on /mail and the users list', async () => {
      const sam = await createUser(t, { username: 'sam', email: 'sam@example.org', memberships: [{ org: A11 }] });
      const settings = (await t.sql<{ time_zone: string }>('select time_zone from client_settings'))[0];
      const sendAt = formatInZone(new Date(parts.clock.now().getTime() + 60 * MINUTE), settings.time_zone).replace(' ', 'T');
      const token = await csrfToken(oa, '/users');
      expect((await oa.post('/users/password-send-date').type('form').send({ _csrf: token, ids: String(sam.id), sendAt })).status).toBe(303);
      expect(await sendColumns(t, sam.id)).toMatchObject({ password_send_status: 'pending' });

      // Between the request and the send date the address changes (by whatever way).
      await setEmail(t, 'sam', 'sam.elsewhere@evil.example');
      const hashBefore = (await t.sql<{ password_hash: string }>('select password_hash from users where id = $1', [sam.id]))[0].password_hash;
      parts.clock.advance(61 * MINUTE);
      const before = sink.messages.length;
      await parts.dispatcher.dispatchDue();

      expect(sink.messages).toHaveLength(before);
      expect(await jobOf(t, sam.id)).toMatchObject({ status: 'failed' });
      expect((await jobOf(t, sam.id)).last_error).toContain('changed after the credentials were requested');
      expect((await t.sql<{ password_hash: string }>('select password_hash from users where id = $1', [sam.id]))[0].password_hash).toBe(hashBefore);
      const reason = 'The e-mail address of sam changed after the credentials were requested: nothing was sent.';
      expect(await sendColumns(t, sam.id)).toMatchObject({ password_send_status: 'failed', password_send_error: expect.stringContaining(reason) });
      expect(decodeEntities(await page(admin, '/mail?status=failed'))).toContain(reason);
      expect(decodeEntities(await page(admin, '/users?q=sam'))).toContain(reason);
    });

    it('"Email new password to user" still mails the address it was requested for', async () => {
      const una = await createUser(t, { username: 'una', email: 'una@example.org', memberships: [{ org: A11 }] });
      const form = renderedForm(await page(oa, `/users/${una.id}/credentials`), `/users/${una.id}/credentials/email`);
      expect((await oa.post(`/users/${una.id}/credentials/email`).type('form').send({ ...form, recipient: 'user' })).status).toBe(303);
      await parts.dispatcher.whenIdle();
      expect(sink.to('una@example.org')).toHaveLength(1);
      expect(await jobOf(t, una.id)).toMatchObject({ status: 'sent' });
    });
  });

  // ----- 2. roles beyond one's own permissions ------------------------------------------------

  describe('roles beyond one\'s own permissions', () => {
    let limited: Agent;
    let limitedId: number;
    let usersOnly: number, sender: number, member: number;

    beforeAll(async () => {
      const role = async (name: string, permissions: string[]) =>
        (await t.sql<{ id: number }>('insert into roles (name, permissions) values ($1, $2) returning id', [name, permissions]))[0].id;
      usersOnly = await role('Users only', ['manage_users']);
      sender = await role('Sender', ['manage_users', 'send_credentials', 'import_export_users']);
      member = (await t.sql<{ id: number }>(`select id from roles where built_in_key = 'member'`))[0].id;
      limitedId = (await createUser(t, { username: 'oa_limited', email: 'limited@example.org', roles: ['Users only'], memberships: [{ org: A1, isAdmin: true }] })).id;
      limited = await loginTo(t, 'oa_limited', PASSWORD, A1);
    });

    const rolesOf = async (userId: number) =>
      (await t.sql<{ name: string }>('select r.name from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = $1 order by r.name', [userId])).map((r) => r.name);
    // The factory's users have no first/last name or e-mail, which the edit form requires: typed in.
    const typedIn = (userId: number) => ({ firstName: 'Fern', lastName: `No${userId}`, email: `fern${userId}@example.org` });
    const editFields = async (userId: number, agent = limited) => ({ ...renderedForm(await page(agent, `/users/${userId}/edit`), `/users/${userId}`), ...typedIn(userId) });
    const roleIdsOf = (fields: Record<string, string | string[]>) => ([] as string[]).concat(fields.roleIds ?? []);

    it('the edit form offers only the roles the session may give, and keeps the others as they are', async () => {
      const target = await createUser(t, { username: 'holds_sender', roles: ['member', 'Sender'], memberships: [{ org: A11 }] });
      const html = await page(limited, `/users/${target.id}/edit`);
      expect(html).toMatch(new RegExp(`id="role-${sender}" name="roleIds" value="${sender}" checked disabled`));
      expect(html).toMatch(new RegExp(`id="role-${usersOnly}" name="roleIds" value="${usersOnly}" \\s*>`));
      const fields = await editFields(target.id);
      expect(roleIdsOf(fields).sort()).toEqual([String(member), String(sender)].sort());
      const res = await limited.post(`/users/${target.id}`).type('form').send({ ...fields, roleIds: [...roleIdsOf(fields), String(usersOnly)], jobTitle: 'Clerk' });
      expect(res.status).toBe(303);
      expect(await rolesOf(target.id)).toEqual(['Member', 'Sender', 'Users only']);
    });

    it('refuses to give a role with permissions the session lacks (422, nothing changed)', async () => {
      const target = await createUser(t, { username: 'gets_sender', memberships: [{ org: A11 }] });
      const fields = await editFields(target.id);
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await limited.post(`/users/${target.id}`).type('form').send({ ...fields, roleIds: [...roleIdsOf(fields), String(sender)] });
      expect(res.status).toBe(422);
      expect(decodeEntities(res.text)).toContain('You may not give or take away the role Sender: it has permissions you do not have (Import/export users, Send credentials).');
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it('refuses to take such a role away (422, nothing changed)', async () => {
      const target = await createUser(t, { username: 'loses_sender', roles: ['member', 'Sender'], memberships: [{ org: A11 }] });
      const fields = await editFields(target.id);
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await limited.post(`/users/${target.id}`).type('form').send({ ...fields, roleIds: [String(member)] });
      expect(res.status).toBe(422);
      expect(decodeEntities(res.text)).toContain('You may not give or take away the role Sender');
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it('refuses a change of one\'s own roles, even to a role one could give others', async () => {
      const html = await page(limited, `/users/${limitedId}/edit`);
      expect(html).toContain('you cannot change your own roles');
      const fields = await editFields(limitedId);
      expect(roleIdsOf(fields)).toEqual([String(usersOnly)]);
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await limited.post(`/users/${limitedId}`).type('form').send({ ...fields, roleIds: [String(usersOnly), String(member)] });
      expect(res.status).toBe(422);
      expect(decodeEntities(res.text)).toContain('You cannot change your own roles: ask an Administrator.');
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
      // The form as rendered still saves the other fields.
      expect((await limited.post(`/users/${limitedId}`).type('form').send({ ...fields, jobTitle: 'Lead' })).status).toBe(303);
      expect(await rolesOf(limitedId)).toEqual(['Users only']);
    });

    it('Create User offers only grantable roles and refuses a forged one (422, nothing created)', async () => {
      const html = await page(limited, `/users/new?org=${A11.id}`);
      expect(html).toMatch(new RegExp(`id="role-${sender}" name="roleIds" value="${sender}" \\s*disabled`));
      const fields = renderedForm(html, '/users');
      const typed = { ...fields, username: 'forged_new', firstName: 'Forged', lastName: 'New', email: 'forged.new@example.org', password: 'Passw0rd-new1', passwordConfirmation: 'Passw0rd-new1' };
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await limited.post('/users').type('form').send({ ...typed, roleIds: [String(sender)] });
      expect(res.status).toBe(422);
      expect(decodeEntities(res.text)).toContain('You may not give or take away the role Sender');
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
      const ok = await limited.post('/users').type('form').send({ ...typed, roleIds: [String(usersOnly)] });
      expect(ok.status).toBe(303);
    });

    it('a settings manager who is not an Administrator cannot add permissions they lack to a role they hold', async () => {
      const keeperRole = (await t.sql<{ id: number }>(`insert into roles (name, permissions) values ('Settings keeper', '{manage_settings}') returning id`))[0].id;
      await createUser(t, { username: 'keeper', roles: ['Settings keeper'], memberships: [{ org: global }] });
      const keeper = await login(t.http, 'keeper', PASSWORD);
      const own = renderedForm(await page(keeper, `/roles/${keeperRole}/edit`), `/roles/${keeperRole}`);
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await keeper.post(`/roles/${keeperRole}`).type('form').send({ ...own, permissions: ['manage_settings', 'manage_users', 'view_audit_log'] });
      expect(res.status).toBe(422);
      expect(decodeEntities(res.text)).toContain(
        'You hold the role Settings keeper yourself: only an Administrator can add permissions you do not have to it (Manage users, View audit log).',
      );
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
      // Roles they do not hold they still define (giving them to users is the role rule above).
      const ok = await keeper.post(`/roles/${sender}`).type('form').send({ ...renderedForm(await page(keeper, `/roles/${sender}/edit`), `/roles/${sender}`), permissions: ['manage_users'] });
      expect(ok.status).toBe(303);
      await t.sql(`update roles set permissions = '{manage_users,send_credentials,import_export_users}' where id = $1`, [sender]);
    });

    it('an Administrator gives and takes away any role', async () => {
      const target = await createUser(t, { username: 'admin_target', roles: ['member', 'Sender'], memberships: [{ org: A11 }] });
      const fields = await editFields(target.id, admin);
      expect((await admin.post(`/users/${target.id}`).type('form').send({ ...fields, roleIds: [String(usersOnly)] })).status).toBe(303);
      expect(await rolesOf(target.id)).toEqual(['Users only']);
    });
  });

  // ----- 3. scope leaks -----------------------------------------------------------------------

  describe('scope leaks', () => {
    it('/users/export with an organization outside the scope answers 404 like /users does', async () => {
      await createUser(t, { username: 'export_mixed', memberships: [{ org: A11 }, { org: B }] });
      expect((await oa.get(`/users?org=${B.id}`)).status).toBe(404);
      const res = await oa.get(`/users/export?org=${B.id}`);
      expect(res.status).toBe(404);
      expect(res.headers['content-disposition']).toBeUndefined();
      expect((await oa.get(`/users/export?org=${A11.id}`)).status).toBe(200);
    });

    it("the address of an Administrator's own copy shows neither on /mail, nor on the credentials page, nor in the user's trail", async () => {
      const vic = await createUser(t, { username: 'vic', email: 'vic@example.org', memberships: [{ org: A11 }] });
      const form = renderedForm(await page(admin, `/users/${vic.id}/credentials`), `/users/${vic.id}/credentials/email`);
      expect((await admin.post(`/users/${vic.id}/credentials/email`).type('form').send({ ...form, recipient: 'self' })).status).toBe(303);
      await parts.dispatcher.whenIdle();
      expect(sink.to('admin@example.org').length).toBeGreaterThan(0);

      expect(await page(admin, '/mail')).toContain('admin@example.org');
      for (const path of ['/mail', `/users/${vic.id}/credentials`, `/users/${vic.id}`]) {
        const html = decodeEntities(await page(oa, path));
        expect(html).toContain('vic');
        expect(html).not.toContain('admin@example.org');
      }
      expect(decodeEntities(await page(oa, '/mail'))).toContain('address hidden');
      expect(decodeEntities(await page(oa, `/users/${vic.id}`))).toContain('credentials.sent');
    });

    it('a user of another branch added as a member (visibility not limited) shows only who they are, not their whole page', async () => {
      await t.sql('update client_settings set limit_member_visibility = false');
      const far = await createUser(t, { username: 'far_away', fullName: 'Farah Away', email: 'far@example.org', memberships: [{ org: B }] });
      const badge = await createProperty(t, 'Badge number');
      await setPropertyValues(t, far.id, badge, ['B-4711']);
      await t.sql('update contacts set mobile = $1 where id = (select contact_id from users where id = $2)', ['+49 170 5550101', far.id]);
      const fields = renderedForm(await page(oa, `/organizations/${A11.id}/members/add?q=far_away`), `/organizations/${A11.id}/members`);
      const res = await oa.post(`/organizations/${A11.id}/members`).type('form').send({ ...fields, userIds: String(far.id) });
      expect(res.status).toBe(303);

      const html = decodeEntities(await page(oa, `/users/${far.id}`));
      expect(html).toContain('far_away');
      expect(html).toContain('Farah Away');
      expect(html).toContain('far@example.org');
      expect(html).toContain('A11');
      for (const hidden of ['B-4711', 'Badge number', '+49 170 5550101', 'Audit trail', 'membership.added', 'User licences']) expect(html).not.toContain(hidden);
      expect((await oa.get(`/users/${far.id}/edit`)).status).toBe(403);
      // The Administrator still sees everything.
      expect(decodeEntities(await page(admin, `/users/${far.id}`))).toContain('B-4711');

      // The export lists the user as the users list does, with no more than the page shows.
      const row = async (agent: Agent) => {
        const res = await download(agent, '/users/export?q=far_away');
        expect(res.status).toBe(200);
        const ws = (await openWorkbook(res.body)).worksheets[0];
        const header = (ws.getRow(1).values as unknown[]).slice(1).map(String);
        return Object.fromEntries(header.map((h, i) => [h, String(ws.getRow(2).getCell(i + 1).value ?? '')]));
      };
      expect(await row(oa)).toMatchObject({ UserName: 'far_away', Email: 'far@example.org', Organizations: 'A/A1/A11', Mobile: '', Licence: '', Profile: '', 'Badge number': '' });
      expect(await row(admin)).toMatchObject({ UserName: 'far_away', Mobile: '+49 170 5550101', Licence: 'Standard', 'Badge number': 'B-4711' });
    });
  });
});
