import request from 'supertest';
import { createTestApp, TestApp } from '../support/app';
import { createUser } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { openForm } from '../support/forms';
import { Agent, login, submitLogin } from '../support/http';

/** Every audit row as text, to search for secrets. */
async function auditText(t: TestApp): Promise<string[]> {
  return (await t.sql<{ row: string }>('select row_to_json(a)::text as row from audit_events a')).map((r) => r.row);
}

/** The person types into the Change password form of their account page and presses its button. */
async function changePassword(agent: Agent, fields: { currentPassword: string; newPassword: string; confirmPassword: string }) {
  const form = await openForm(agent, '/account', 'Change password');
  return form
    .fill('Current password', fields.currentPassword)
    .fill('New password', fields.newPassword)
    .fill('Repeat the new password', fields.confirmPassword)
    .submit('Change password');
}

describe('own account and password (SPEC §4 Accounts)', () => {
  let t: TestApp;

  beforeAll(async () => {
    // First start without ADMIN_PASSWORD: the admin password is generated and must be changed.
    t = await createTestApp({ adminPassword: null });
  });
  afterAll(async () => {
    await t.close();
  });

  async function userRow(username: string) {
    const [row] = await t.sql<{ id: number; password_hash: string; must_change_password: boolean; session_version: number; password_changed_at: Date | null }>(
      'select id, password_hash, must_change_password, session_version, password_changed_at from users where username = $1',
      [username],
    );
    return row;
  }

  describe('forced password change at first login', () => {
    it('sends the admin with a generated password to /account until the password is changed', async () => {
      const generated = t.prepared.generatedAdminPassword;
      expect(generated).toEqual(expect.any(String));
      expect((await userRow('admin')).must_change_password).toBe(true);

      const agent = await login(t.http, 'admin', generated!);
      for (const path of ['/', '/audit', '/audit?action=login.success']) {
        const res = await agent.get(path);
        expect(res.status).toBe(303);
        expect(res.headers.location).toBe('/account');
      }

      const account = await agent.get('/account');
      expect(account.status).toBe(200);
      expect(account.text).toContain('You must choose a new password before you continue.');
      expect(account.text).toContain('action="/account/password"');

      // A refused change keeps the obligation.
      const refused = await changePassword(agent, { currentPassword: generated!, newPassword: 'short1', confirmPassword: 'short1' });
      expect(refused.status).toBe(422);
      expect(refused.text).toContain('You must choose a new password before you continue.');
      expect(refused.text).not.toContain(generated!);
      expect((await agent.get('/')).headers.location).toBe('/account');

      const changed = await changePassword(agent, {
        currentPassword: generated!,
        newPassword: 'Admin-chosen-7',
        confirmPassword: 'Admin-chosen-7',
      });
      expect(changed.status).toBe(303);
      expect(changed.headers.location).toBe('/');

      const home = await agent.get('/');
      expect(home.status).toBe(200);
      expect(home.text).toContain('<h1>Startboard</h1>');
      expect(home.text).toContain('Your password has been changed.');
      expect((await agent.get('/audit')).status).toBe(200);
      const accountAfter = await agent.get('/account');
      expect(accountAfter.text).not.toContain('You must choose a new password');

      const admin = await userRow('admin');
      expect(admin.must_change_password).toBe(false);
      expect(admin.password_changed_at).not.toBeNull();

      // The generated password is used up; the chosen one works.
      expect((await submitLogin(request.agent(t.http), 'admin', generated!)).status).toBe(422);
      const again = await login(t.http, 'admin', 'Admin-chosen-7');
      expect((await again.get('/')).status).toBe(200);
      for (const row of await auditText(t)) expect(row).not.toContain(generated!);
    });
  });

  describe('POST /account/password', () => {
    const password = 'Paula-pass-1';
    let paulaId: number;

    beforeAll(async () => {
      paulaId = (await createUser(t, { username: 'paula', password })).id;
    });

    it('shows the password form with the policy hint', async () => {
      const agent = await login(t.http, 'paula', password);
      const page = await agent.get('/account');
      expect(page.status).toBe(200);
      expect(page.text).toContain('<h1>My account</h1>');
      expect(page.text).toContain('Use 8 to 32 characters, a letter and a digit.');
      expect(page.text).not.toContain('You must choose a new password');
    });

    it('refuses a wrong current password, next to the field, and changes nothing', async () => {
      const agent = await login(t.http, 'paula', password);
      const before = await databaseFingerprint(t);
      const hashBefore = (await userRow('paula')).password_hash;
      const res = await changePassword(agent, {
        currentPassword: 'Not-Paulas-pass-4',
        newPassword: 'Paula-next-pass-5',
        confirmPassword: 'Paula-next-pass-5',
      });
      expect(res.status).toBe(422);
      expect(res.text).toMatch(/id="error-currentPassword">Your current password is not correct\.</);
      expect(res.text).not.toContain('Not-Paulas-pass-4');
      expect(res.text).not.toContain('Paula-next-pass-5');
      expect(res.text).not.toContain(password);
      expect(res.text).toMatch(/name="currentPassword" type="password"\s+value=""/);
      expect((await userRow('paula')).password_hash).toBe(hashBefore);
      expect(await databaseFingerprint(t)).toEqual(before);
      expect(await t.sql(`select 1 from audit_events where action = 'password.changed' and object_id = $1`, [String(paulaId)])).toHaveLength(0);
    });

    it.each([
      ['short1', 'The password needs at least 8 characters.'],
      ['onlyletters', 'The password needs a digit.'],
      ['1234567890', 'The password needs a letter.'],
      ['Way-too-long-password-1234567890-x', 'The password needs at most 32 characters.'],
    ])('refuses the new password %s with the policy message', async (newPassword, message) => {
      const agent = await login(t.http, 'paula', password);
      const before = await databaseFingerprint(t);
      const res = await changePassword(agent, { currentPassword: password, newPassword, confirmPassword: newPassword });
      expect(res.status).toBe(422);
      expect(res.text).toContain(`id="error-newPassword">${message}<`);
      expect(res.text).not.toContain(newPassword);
      expect(res.text).not.toContain(password);
      expect(await databaseFingerprint(t)).toEqual(before);
    });

    it('refuses a confirmation that does not match', async () => {
      const agent = await login(t.http, 'paula', password);
      const before = await databaseFingerprint(t);
      const res = await changePassword(agent, {
        currentPassword: password,
        newPassword: 'Paula-next-pass-6',
        confirmPassword: 'Paula-next-pass-7',
      });
      expect(res.status).toBe(422);
      expect(res.text).toContain('id="error-confirmPassword">The two new passwords do not match.<');
      for (const typed of [password, 'Paula-next-pass-6', 'Paula-next-pass-7']) expect(res.text).not.toContain(typed);
      expect(await databaseFingerprint(t)).toEqual(before);
    });

    it('refuses empty fields and a new password equal to the current one', async () => {
      const agent = await login(t.http, 'paula', password);
      const before = await databaseFingerprint(t);
      const empty = await changePassword(agent, { currentPassword: '', newPassword: '', confirmPassword: '' });
      expect(empty.status).toBe(422);
      expect(empty.text).toContain('id="error-currentPassword">Enter your current password.<');
      expect(empty.text).toContain('id="error-newPassword">Enter a new password.<');

      const same = await changePassword(agent, { currentPassword: password, newPassword: password, confirmPassword: password });
      expect(same.status).toBe(422);
      expect(same.text).toContain('id="error-newPassword">Choose a password different from your current one.<');
      expect(same.text).not.toContain(password);
      expect(await databaseFingerprint(t)).toEqual(before);
    });

    it('changes the password: flash, old password refused, new one accepted, other sessions ended, this one kept, audited', async () => {
      const newPassword = 'Paula-fresh-pass-8';
      const other = await login(t.http, 'paula', password);
      expect((await other.get('/account')).status).toBe(200);
      const agent = await login(t.http, 'paula', password);
      const versionBefore = (await userRow('paula')).session_version;

      const res = await changePassword(agent, { currentPassword: password, newPassword, confirmPassword: newPassword });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/account');

      const page = await agent.get('/account');
      expect(page.status).toBe(200);
      expect(page.text).toContain('Your password has been changed. Other sessions of your account have been signed out.');
      // Flash is shown once; the session stays signed in.
      const next = await agent.get('/account');
      expect(next.status).toBe(200);
      expect(next.text).not.toContain('Your password has been changed.');

      expect((await userRow('paula')).session_version).toBe(versionBefore + 1);
      const ended = await other.get('/account');
      expect(ended.status).toBe(303);
      expect(ended.headers.location).toBe('/login?next=%2Faccount&reason=ended');

      const oldLogin = await submitLogin(request.agent(t.http), 'paula', password);
      expect(oldLogin.status).toBe(422);
      expect(oldLogin.text).toContain('The username or password is incorrect.');
      const newLogin = await login(t.http, 'paula', newPassword);
      expect((await newLogin.get('/account')).status).toBe(200);

      const audit = await t.sql<{ actor_id: number; actor_name: string; object_id: string; detail: string; changes: unknown }>(
        `select actor_id, actor_name, object_id, detail, changes from audit_events where action = 'password.changed' and object_id = $1`,
        [String(paulaId)],
      );
      expect(audit).toEqual([{ actor_id: paulaId, actor_name: 'paula', object_id: String(paulaId), detail: 'own password', changes: null }]);
      const rows = await auditText(t);
      for (const row of rows) {
        expect(row).not.toContain('$argon2');
        for (const typed of [password, newPassword, 'Admin-chosen-7']) expect(row).not.toContain(typed);
      }
    });

    it('requires a signed-in session and the CSRF token', async () => {
      const agent = await login(t.http, 'paula', 'Paula-fresh-pass-8');
      const before = await databaseFingerprint(t);
      const anonymous = await request(t.http).post('/account/password').type('form').send({ currentPassword: 'x', newPassword: 'y', confirmPassword: 'y' });
      expect(anonymous.status).toBe(403); // no session, hence no CSRF secret: refused before anything else

      const noToken = await agent
        .post('/account/password')
        .type('form')
        .send({ currentPassword: 'Paula-fresh-pass-8', newPassword: 'Paula-other-pass-9', confirmPassword: 'Paula-other-pass-9' });
      expect(noToken.status).toBe(403);
      expect(await databaseFingerprint(t)).toEqual(before);
    });
  });
});
