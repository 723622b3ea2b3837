import request from 'supertest';
import { formatInZone } from '../../src/credentials/credential-mail';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { credentialParts, credentialsIn, jobOf, sendColumns, setEmail } from '../support/credentials-factories';
import { createOrganization, createUser } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { openForm } from '../support/forms';
import { Agent, login, postForm, submitLogin } from '../support/http';
import { SmtpSink } from '../support/smtp-sink';

const MINUTE = 60_000;
jest.setTimeout(60_000);

/** Credential e-mails through a real SMTP server (SPEC §4 "Change username/password", "Credential e-mails"). */
describe('credential e-mails over SMTP', () => {
  let sink: SmtpSink;
  let t: TestApp;
  let admin: Agent;
  let parts: ReturnType<typeof credentialParts>;

  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await createTestApp({ env: { SMTP_URL: sink.url, SCHEDULER: 'off' } });
    parts = credentialParts(t);
    await setEmail(t, 'admin', 'admin@example.org');
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await sink.stop();
  });

  const BUTTONS = { user: 'Email new password to user', self: 'Email new password to myself' } as const;
  /** Presses the button of Change username/password. */
  const send = async (agent: Agent, userId: number, recipient: 'user' | 'self') =>
    (await openForm(agent, `/users/${userId}/credentials`, BUTTONS[recipient])).submit(BUTTONS[recipient]);
  /** The request of a button the page shows disabled: only a forged form can make it. */
  const forgedSend = (agent: Agent, userId: number, recipient: 'user' | 'self') =>
    postForm(agent, `/users/${userId}/credentials/email`, { recipient }, `/users/${userId}/credentials`);
  /** The bulk form of the users list with these users ticked and the send date typed (if given). */
  const bulkForm = async (usernames: string[], sendAt?: string) => {
    const form = await openForm(admin, '/users', 'Set password send date for selected users');
    for (const username of usernames) form.check(`Select ${username}`);
    if (sendAt !== undefined) form.fill('Password send date', sendAt);
    return form;
  };
  const everything = async () => JSON.stringify(await t.sql('select * from audit_events')) + JSON.stringify(await t.sql('select * from mail_messages')) + JSON.stringify(await t.sql('select * from credential_jobs'));

  it('e-mails a new password to the user: it signs in, must be changed, the old one stops working, and nothing stores it', async () => {
    const ann = await createUser(t, { username: 'ann', email: 'ann@example.org', fullName: 'Ann Lee' });
    const page = await admin.get(`/users/${ann.id}/credentials`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Email new password to user');
    expect(page.text).toContain('Email new password to myself');
    expect(page.text).not.toMatch(/type="password"/);

    const res = await send(admin, ann.id, 'user');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/users/${ann.id}/credentials`);
    await parts.dispatcher.whenIdle();

    const mails = sink.to('ann@example.org');
    expect(mails).toHaveLength(1);
    const { username, password } = credentialsIn(mails[0]);
    expect(username).toBe('ann');
    expect(password).toHaveLength(16);
    expect(mails[0].text).toContain('http://localhost:3000/login');
    expect(mails[0].text).toContain('choose a new password when you first sign in');
    expect(mails[0].html).toContain(password);
    expect(mails[0].subject).toBe('Your login credentials for Tessera');

    expect((await submitLogin(request.agent(t.http), 'ann', ann.password!)).status).toBe(422);
    const agent = request.agent(t.http);
    expect((await submitLogin(agent, 'ann', password)).status).toBe(303);
    const home = await agent.get('/');
    expect(home.status).toBe(303);
    expect(home.headers.location).toBe('/account');

    expect(await sendColumns(t, ann.id)).toMatchObject({ password_send_status: 'sent', password_send_error: null });
    const [user] = await t.sql<{ must_change_password: boolean; password_expires_at: Date }>('select must_change_password, password_expires_at from users where id = $1', [ann.id]);
    expect(user.must_change_password).toBe(true);
    expect(user.password_expires_at.getTime()).toBeGreaterThan(Date.now() + 6 * 24 * 60 * MINUTE);
    const actions = (await t.sql<{ action: string }>(`select action from audit_events where object_id = $1 and action like 'credentials.%' order by id`, [String(ann.id)])).map((r) => r.action);
    expect(actions).toEqual(['credentials.send_requested', 'credentials.sent']);
    expect(await everything()).not.toContain(password);

    const mailPage = await admin.get('/mail');
    expect(mailPage.text).toContain('ann@example.org');
    expect(mailPage.text).toContain('Your login credentials for Tessera');
    expect(mailPage.text).not.toContain(password);
  });

  it('"Email new password to myself" sends the user\'s new credentials to the acting administrator', async () => {
    const bob = await createUser(t, { username: 'bob', email: 'bob@example.org' });
    const before = sink.messages.length;
    expect((await send(admin, bob.id, 'self')).status).toBe(303);
    await parts.dispatcher.whenIdle();
    expect(sink.messages).toHaveLength(before + 1);
    expect(sink.to('bob@example.org')).toHaveLength(0);
    const [mail] = sink.to('admin@example.org');
    const { username, password } = credentialsIn(mail);
    expect(username).toBe('bob');
    expect(mail.text).toContain('This copy was sent to admin');
    expect((await submitLogin(request.agent(t.http), 'bob', password)).status).toBe(303);
  });

  it('keeps the old password while the SMTP server refuses, retries after 1, 5 and 30 minutes, then marks the send failed', async () => {
    const cleo = await createUser(t, { username: 'cleo', email: 'cleo@example.org' });
    sink.rejectWith = '451 Mailbox temporarily unavailable';
    try {
      expect((await send(admin, cleo.id, 'user')).status).toBe(303);
      await parts.dispatcher.whenIdle();
      expect(await jobOf(t, cleo.id)).toMatchObject({ status: 'pending', attempts: 1 });
      expect(await sendColumns(t, cleo.id)).toMatchObject({ password_send_status: 'pending' });
      expect((await sendColumns(t, cleo.id)).password_send_error).toContain('Mailbox temporarily unavailable');

      // Not yet due again: nothing happens.
      parts.clock.advance(30_000);
      await parts.dispatcher.dispatchDue();
      expect((await jobOf(t, cleo.id)).attempts).toBe(1);

      for (const [wait, attempts] of [[MINUTE, 2], [5 * MINUTE, 3]] as const) {
        parts.clock.advance(wait);
        await parts.dispatcher.dispatchDue();
        expect(await jobOf(t, cleo.id)).toMatchObject({ status: 'pending', attempts });
      }
      parts.clock.advance(30 * MINUTE);
      await parts.dispatcher.dispatchDue();
      expect(await jobOf(t, cleo.id)).toMatchObject({ status: 'failed', attempts: 4 });
      expect(await sendColumns(t, cleo.id)).toMatchObject({ password_send_status: 'failed' });

      parts.clock.advance(60 * MINUTE);
      await parts.dispatcher.dispatchDue();
      expect((await jobOf(t, cleo.id)).attempts).toBe(4);
    } finally {
      sink.rejectWith = null;
    }
    expect(sink.to('cleo@example.org')).toHaveLength(0);
    expect((await submitLogin(request.agent(t.http), 'cleo', cleo.password!)).status).toBe(303);

    const mailPage = await admin.get('/mail?status=failed');
    expect(mailPage.text).toContain('cleo@example.org');
    expect(mailPage.text).toContain('Mailbox temporarily unavailable');
    const userPage = await admin.get(`/users/${cleo.id}/credentials`);
    expect(userPage.text).toContain('failed');
    expect(userPage.text).toContain('Mailbox temporarily unavailable');
    const failures = await t.sql<{ action: string }>(`select action from audit_events where object_id = $1 and action in ('credentials.send_retry', 'credentials.send_failed') order by id`, [String(cleo.id)]);
    expect(failures.map((r) => r.action)).toEqual(['credentials.send_retry', 'credentials.send_retry', 'credentials.send_retry', 'credentials.send_failed']);
  });

  it('keeps the old password when the SMTP server is down, and sends once it is back', async () => {
    const dan = await createUser(t, { username: 'dan', email: 'dan@example.org' });
    await sink.down();
    try {
      expect((await send(admin, dan.id, 'user')).status).toBe(303);
      await parts.dispatcher.whenIdle();
      expect(await jobOf(t, dan.id)).toMatchObject({ status: 'pending', attempts: 1 });
      expect((await submitLogin(request.agent(t.http), 'dan', dan.password!)).status).toBe(303);
    } finally {
      await sink.up();
    }
    parts.clock.advance(MINUTE);
    await parts.dispatcher.dispatchDue();
    expect(await jobOf(t, dan.id)).toMatchObject({ status: 'sent', attempts: 2 });
    const { password } = credentialsIn(sink.to('dan@example.org')[0]);
    expect((await submitLogin(request.agent(t.http), 'dan', dan.password!)).status).toBe(422);
    expect((await submitLogin(request.agent(t.http), 'dan', password)).status).toBe(303);
  });

  it('schedules a password send date for the selected users, skipping SSO users and users without e-mail with reasons', async () => {
    await t.sql(`update client_settings set time_zone = 'Europe/Berlin'`);
    const eli = await createUser(t, { username: 'eli', email: 'eli@example.org' });
    // The message names a configured provider by its label.
    await t.sql(`insert into identity_providers (key, label, kind) values ('azure', 'Microsoft', 'oidc')`);
    const sso = await createUser(t, { username: 'sso.user', email: 'sso@example.org', provider: 'azure', password: null });
    const nomail = await createUser(t, { username: 'nomail' });
    const due = new Date(parts.clock.now().getTime() + 60 * MINUTE);
    const sendAt = formatInZone(due, 'Europe/Berlin').replace(' ', 'T');

    const res = await (await bulkForm(['eli', 'sso.user', 'nomail'], sendAt)).submit('Set password send date for selected users');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/users');
    const flashPage = await admin.get(`/users/${eli.id}/credentials`);
    expect(flashPage.text).toContain('Password send date set to');
    expect(flashPage.text).toContain('for 1 user: eli');
    expect(flashPage.text).toContain('Skipped 2 users');
    expect(flashPage.text).toContain('sso.user signs in with Microsoft (single sign-on)');
    expect(flashPage.text).toContain('nomail has no e-mail address');

    const columns = await sendColumns(t, eli.id);
    expect(columns.password_send_status).toBe('pending');
    expect(Math.abs(columns.password_send_at!.getTime() - due.getTime())).toBeLessThan(MINUTE);
    expect(await sendColumns(t, sso.id)).toMatchObject({ password_send_status: null });
    expect(await sendColumns(t, nomail.id)).toMatchObject({ password_send_status: null });

    const before = sink.messages.length;
    await parts.dispatcher.dispatchDue();
    expect(sink.messages).toHaveLength(before);

    parts.clock.advance(61 * MINUTE);
    await parts.dispatcher.dispatchDue();
    await parts.dispatcher.dispatchDue();
    expect(sink.messages).toHaveLength(before + 1);
    expect(sink.to('eli@example.org')).toHaveLength(1);
    expect(await sendColumns(t, eli.id)).toMatchObject({ password_send_status: 'sent' });
    const audited = await t.sql<{ changes: { sendDate: { from: unknown; to: string } } }>(
      `select changes from audit_events where action = 'credentials.scheduled' and object_id = $1`,
      [String(eli.id)],
    );
    expect(audited).toHaveLength(1);
    expect(audited[0].changes.sendDate.from).toBeNull();
    expect(Math.abs(new Date(audited[0].changes.sendDate.to).getTime() - due.getTime())).toBeLessThan(MINUTE);
  });

  it('clears the password send date and cancels the pending e-mail', async () => {
    const fay = await createUser(t, { username: 'fay', email: 'fay@example.org' });
    const sendAt = formatInZone(new Date(parts.clock.now().getTime() + 24 * 60 * MINUTE), 'Europe/Berlin').replace(' ', 'T');
    expect((await (await bulkForm(['fay'], sendAt)).submit('Set password send date for selected users')).status).toBe(303);
    expect(await jobOf(t, fay.id)).toMatchObject({ status: 'pending' });
    expect((await (await bulkForm(['fay'])).submit('Clear password send date')).status).toBe(303);
    expect(await jobOf(t, fay.id)).toMatchObject({ status: 'cancelled' });
    expect(await sendColumns(t, fay.id)).toEqual({ password_send_at: null, password_send_status: null, password_send_error: null });
    expect(await t.sql('select 1 from mail_messages where user_id = $1', [fay.id])).toHaveLength(0);
    parts.clock.advance(25 * 60 * MINUTE);
    await parts.dispatcher.dispatchDue();
    expect(sink.to('fay@example.org')).toHaveLength(0);
  });

  it('answers an invalid send date with a message and changes nothing', async () => {
    const gus = await createUser(t, { username: 'gus', email: 'gus@example.org' });
    const before = await databaseFingerprint(t, { includeAudit: true });
    // A date-and-time field of a browser cannot hold such text: the typed value is forged.
    const res = await (await bulkForm(['gus'])).forge('sendAt', 'next tuesday').submit('Set password send date for selected users');
    expect(res.status).toBe(422);
    expect(res.text).toContain('Enter the password send date as a date and time');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('refuses SSO users, users without e-mail and disabled users with a clear message, changing nothing', async () => {
    // A provider key no configured provider has is named as it is.
    const sso = await createUser(t, { username: 'sso2', email: 'sso2@example.org', provider: 'okta', password: null });
    const nomail = await createUser(t, { username: 'nomail2' });
    const off = await createUser(t, { username: 'off', email: 'off@example.org', enabled: false });
    for (const [user, recipient, message] of [
      [sso, 'user', 'sso2 signs in with okta (single sign-on)'],
      [sso, 'self', 'sso2 signs in with okta (single sign-on)'],
      [nomail, 'user', 'has no e-mail address'],
      [off, 'user', 'is disabled'],
    ] as const) {
      const page = await admin.get(`/users/${user.id}/credentials`);
      expect(page.text).toContain(message);
      const form = await openForm(admin, `/users/${user.id}/credentials`, BUTTONS[recipient]);
      expect(form.submitButtons().find((b) => b.text === BUTTONS[recipient])?.disabled).toBe(true);
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await forgedSend(admin, user.id, recipient);
      expect(res.status).toBe(409);
      expect(res.text).toContain(message);
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    }
  });

  it('refuses to e-mail a new password for the acting account itself (now or scheduled)', async () => {
    const [me] = await t.sql<{ id: number }>(`select id from users where username = 'admin'`);
    expect((await admin.get(`/users/${me.id}/credentials`)).text).toContain('This is your own account');
    const before = await databaseFingerprint(t, { includeAudit: true });
    // Both buttons are disabled on one's own page: only a forged form can press one.
    expect((await openForm(admin, `/users/${me.id}/credentials`, BUTTONS.self)).submitButtons().every((b) => b.disabled)).toBe(true);
    expect((await forgedSend(admin, me.id, 'self')).status).toBe(409);
    const res = await (await bulkForm(['admin'], '2099-01-01T10:00')).submit('Set password send date for selected users');
    expect(res.status).toBe(303);
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    expect((await admin.get('/account')).text).toContain('This is your own account');
  });

  it('refuses to log in with an expired initial password, saying so', async () => {
    const hal = await createUser(t, { username: 'hal', email: 'hal@example.org' });
    await t.sql(`update users set password_expires_at = now() - interval '1 hour', must_change_password = true where id = $1`, [hal.id]);
    const res = await submitLogin(request.agent(t.http), 'hal', hal.password!);
    expect(res.status).toBe(422);
    expect(res.text).toContain('Your initial password has expired');
  });

  it('changes the username: validated, unique without regard to case, audited', async () => {
    const ida = await createUser(t, { username: 'ida', email: 'ida@example.org' });
    const post = async (username: string) => (await openForm(admin, `/users/${ida.id}/credentials`, 'Change username')).fill('Username', username).submit('Change username');
    let res = await post('ADMIN');
    expect(res.status).toBe(422);
    expect(res.text).toContain('This username is already taken');
    expect(res.text).toContain('value="ADMIN"');
    res = await post('ida lee');
    expect(res.status).toBe(422);
    expect(res.text).toContain('may contain only');
    res = await post('ida.lee@corp');
    expect(res.status).toBe(303);
    expect((await t.sql<{ username: string }>('select username from users where id = $1', [ida.id]))[0].username).toBe('ida.lee@corp');
    const [event] = await t.sql<{ changes: unknown }>(`select changes from audit_events where action = 'user.username_changed' and object_id = $1`, [String(ida.id)]);
    expect(event.changes).toEqual({ username: { from: 'ida', to: 'ida.lee@corp' } });
  });

  it('lets an organization administrator with "send credentials" send for users of their subtree, never for an Administrator', async () => {
    const A = await createOrganization(t, 'Sales');
    await createUser(t, { username: 'manager', roles: ['user_manager'], memberships: [{ org: A, isAdmin: true }], email: 'manager@example.org' });
    const noSend = await createUser(t, { username: 'orgadmin', roles: ['member'], memberships: [{ org: A, isAdmin: true }] });
    const jon = await createUser(t, { username: 'jon', email: 'jon@example.org', memberships: [{ org: A }] });
    const boss = await createUser(t, { username: 'boss', email: 'boss@example.org', roles: ['administrator'], memberships: [{ org: A }] });
    const manager = await login(t.http, 'manager', 'Secret-pass-1');
    expect((await send(manager, jon.id, 'user')).status).toBe(303);
    await parts.dispatcher.whenIdle();
    expect(sink.to('jon@example.org')).toHaveLength(1);
    expect((await manager.get(`/users/${boss.id}/credentials`)).status).toBe(403);
    const before = await databaseFingerprint(t, { includeAudit: true });
    expect((await postForm(manager, `/users/${boss.id}/credentials/email`, { recipient: 'self' })).status).toBe(403);
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);

    const other = await login(t.http, 'orgadmin', 'Secret-pass-1');
    expect(noSend.id).toBeGreaterThan(0);
    expect((await other.get(`/users/${jon.id}/credentials`)).status).toBe(403);
    expect((await other.get('/mail')).status).toBe(403);

    // The manager's /mail shows only messages about users of their subtree.
    const mailPage = await manager.get('/mail');
    expect(mailPage.status).toBe(200);
    expect(mailPage.text).toContain('jon@example.org');
    expect(mailPage.text).not.toContain('ann@example.org');
    expect(mailPage.text).not.toContain('Download .eml');
  });

  it('uses the password requirements of the settings for generated passwords', async () => {
    await t.sql('update client_settings set password_min_length = 20, password_max_length = 40, password_require_symbol = true, must_change_at_first_login = false');
    const kim = await createUser(t, { username: 'kim', email: 'kim@example.org' });
    expect((await send(admin, kim.id, 'user')).status).toBe(303);
    await parts.dispatcher.whenIdle();
    const [mail] = sink.to('kim@example.org');
    const { password } = credentialsIn(mail);
    expect(password).toHaveLength(20);
    expect(password).toMatch(/[^A-Za-z0-9]/);
    expect(mail.text).not.toContain('choose a new password');
    expect((await submitLogin(request.agent(t.http), 'kim', password)).status).toBe(303);
    const [row] = await t.sql<{ must_change_password: boolean }>('select must_change_password from users where id = $1', [kim.id]);
    expect(row.must_change_password).toBe(false);
    await t.sql('update client_settings set password_min_length = 8, password_max_length = 32, password_require_symbol = false, must_change_at_first_login = true');
  });
});
