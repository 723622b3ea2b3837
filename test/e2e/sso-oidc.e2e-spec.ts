import request from 'supertest';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createOrganization, createUser } from '../support/factories';
import { openForm } from '../support/forms';
import { textOf } from '../support/html';
import { Agent, login } from '../support/http';
import { startIdp, TestIdp } from '../support/oidc-idp';
import { addOidcProvider, lastAuditId, signInAtIdp, signInAudit } from '../support/sso';

/**
 * OpenID Connect sign-in against a real provider (oidc-provider, test/support/oidc-idp.mjs):
 * the user of an identity provider signs in through it and lands on their start page; every
 * refusal (tampered state, replayed callback, wrong nonce, wrong audience, expired code, unknown
 * identity with just-in-time creation off) answers with a clear message and an audit entry;
 * just-in-time creation makes the user; an e-mail or username never adopts a local account.
 */
const CALLBACK = 'http://localhost:3000/sso/testidp/callback';

describe('OpenID Connect sign-in', () => {
  let t: TestApp;
  let idp: TestIdp;
  let admin: Agent;

  beforeAll(async () => {
    idp = await startIdp({
      clients: [{ client_id: 'tessera', client_secret: 'idp-client-secret', redirect_uris: [CALLBACK], post_logout_redirect_uris: ['http://localhost:3000/login?signedOut=1'] }],
      accounts: [
        { sub: 'ann-sub', password: 'ann-idp-pw', claims: { email: 'ann@example.org', given_name: 'Ann', family_name: 'Lee', preferred_username: 'ann.lee' } },
        { sub: 'bob-sub', password: 'bob-idp-pw', claims: { email: 'bob@example.org', given_name: 'Bob', family_name: 'Stone' } },
        // Same e-mail and username as a local account: must never become that account.
        { sub: 'mallory-sub', password: 'mallory-pw', claims: { email: 'local@example.org', preferred_username: 'localuser' } },
        { sub: 'new-sub', password: 'new-pw', claims: { email: 'newbie@example.org', given_name: 'Nora', family_name: 'New', preferred_username: 'nora.new' } },
        { sub: 'eng-sub', password: 'eng-pw', claims: { email: 'eng@example.org', given_name: 'Eve', family_name: 'Engineer', department: 'Engineering' } },
      ],
    });
    t = await createTestApp();
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    await addOidcProvider(admin, idp, { key: 'testidp', label: 'Test IdP', clientId: 'tessera', clientSecret: 'idp-client-secret' });
    // The Administrator start page (Startboard), so that landing there shows.
    const ann = await createUser(t, { username: 'ann', password: null, provider: 'testidp', email: 'ann@example.org', profile: 'administrator' });
    await t.sql("update users set external_id = 'ann-sub' where id = $1", [ann.id]);
    await createUser(t, { username: 'localuser', email: 'local@example.org' });
  });
  afterAll(async () => {
    await t?.close();
    await idp?.close();
  });

  it('signs the user in and lands on the start page; sign-out offers the provider logout', async () => {
    const before = await lastAuditId(t);
    const app = request.agent(t.http);
    const callback = await signInAtIdp(app, idp, 'Test IdP', { username: 'ann-sub', password: 'ann-idp-pw' });
    const landed = await app.get(callback);
    expect(landed.status).toBe(303);
    expect(landed.headers.location).toBe('/');
    const home = await app.get('/');
    expect([home.status, home.headers.location]).toEqual([200, undefined]);
    expect(textOf(home.text)).toContain('Startboard');
    expect(await signInAudit(t, before)).toEqual([{ action: 'login.success', actor_name: 'ann', object_label: 'ann', detail: 'single sign-on with testidp' }]);

    // Change username/password: there is none for an SSO user, and the page says why.
    const account = await app.get('/account');
    expect(textOf(account.text)).toContain('You sign in with Test IdP (single sign-on), so Tessera has no password for your account');

    const signOut = await openForm(app, '/account', 'Sign out').then((f) => f.submit('Sign out'));
    expect(signOut.headers.location).toBe('/sso/signed-out');
    const out = await app.get('/sso/signed-out');
    expect(out.status).toBe(200);
    const link = /href="([^"]*session\/end[^"]*)"/.exec(out.text)?.[1];
    expect(link).toBeDefined();
    expect(textOf(out.text)).toContain('Also sign out of Test IdP');
    expect((await app.get('/')).status).toBe(303);
  });

  it('refuses a callback whose state was tampered with', async () => {
    const before = await lastAuditId(t);
    const app = request.agent(t.http);
    const callback = await signInAtIdp(app, idp, 'Test IdP', { username: 'ann-sub', password: 'ann-idp-pw' });
    const refused = await app.get(callback.replace(/state=[^&]+/, 'state=forged-state'));
    expect(refused.headers.location).toBe('/login');
    expect(textOf((await app.get('/login')).text)).toContain('This sign-in answer does not belong to the sign-in started in this browser.');
    expect((await app.get('/')).status).toBe(303);
    expect(await signInAudit(t, before)).toEqual([expect.objectContaining({ action: 'login.failure', detail: expect.stringContaining('state of the answer does not match') })]);
  });

  it('accepts a callback once: a replay is refused', async () => {
    const app = request.agent(t.http);
    const callback = await signInAtIdp(app, idp, 'Test IdP', { username: 'ann-sub', password: 'ann-idp-pw' });
    expect((await app.get(callback)).headers.location).toBe('/');
    const before = await lastAuditId(t);
    // The same answer again, from another browser (a stolen URL) and from the same one.
    for (const agent of [request.agent(t.http), app]) {
      const replay = await agent.get(callback);
      expect(replay.headers.location).toBe('/login');
    }
    const audit = await signInAudit(t, before);
    expect(audit).toHaveLength(2);
    for (const row of audit) expect(row).toMatchObject({ action: 'login.failure', detail: expect.stringContaining('without a sign-in in progress') });
  });

  it('refuses an ID token with a wrong nonce', async () => {
    const before = await lastAuditId(t);
    const app = request.agent(t.http);
    const callback = await signInAtIdp(app, idp, 'Test IdP', { username: 'ann-sub', password: 'ann-idp-pw' });
    await idp.control({ tamper: { nonce: 'a-nonce-of-another-sign-in' } });
    expect((await app.get(callback)).headers.location).toBe('/login');
    expect(textOf((await app.get('/login')).text)).toContain('The answer of Test IdP does not belong to this sign-in.');
    expect(await signInAudit(t, before)).toEqual([expect.objectContaining({ action: 'login.failure', detail: expect.stringContaining('nonce does not match') })]);
  });

  it('refuses an ID token issued to another application (wrong audience)', async () => {
    const before = await lastAuditId(t);
    const app = request.agent(t.http);
    const callback = await signInAtIdp(app, idp, 'Test IdP', { username: 'ann-sub', password: 'ann-idp-pw' });
    await idp.control({ tamper: { aud: 'another-application' } });
    expect((await app.get(callback)).headers.location).toBe('/login');
    expect(textOf((await app.get('/login')).text)).toContain('Test IdP issued this sign-in to another application.');
    expect(await signInAudit(t, before)).toEqual([expect.objectContaining({ action: 'login.failure', detail: expect.stringContaining('another audience') })]);
  });

  it('refuses an expired authorization code', async () => {
    await idp.control({ codeTtl: 1 });
    const app = request.agent(t.http);
    let callback: string;
    try {
      callback = await signInAtIdp(app, idp, 'Test IdP', { username: 'ann-sub', password: 'ann-idp-pw' });
    } finally {
      await idp.control({ codeTtl: 60 });
    }
    // The code lived one second; wait well past it (no assertion on timing, only on the outcome).
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const before = await lastAuditId(t);
    expect((await app.get(callback)).headers.location).toBe('/login');
    expect(textOf((await app.get('/login')).text)).toContain('Test IdP no longer accepts this sign-in (it expired or was already used).');
    expect(await signInAudit(t, before)).toEqual([expect.objectContaining({ action: 'login.failure', detail: expect.stringContaining('invalid_grant') })]);
  });

  it('refuses an unknown identity when just-in-time creation is off, and never adopts a local account by e-mail or username', async () => {
    for (const [username, password] of [
      ['bob-sub', 'bob-idp-pw'],
      ['mallory-sub', 'mallory-pw'],
    ]) {
      const before = await lastAuditId(t);
      const app = request.agent(t.http);
      const callback = await signInAtIdp(app, idp, 'Test IdP', { username, password });
      expect((await app.get(callback)).headers.location).toBe('/login');
      expect(textOf((await app.get('/login')).text)).toContain('Test IdP signed you in, but no Tessera account is linked to that identity.');
      expect((await app.get('/')).status).toBe(303);
      expect(await signInAudit(t, before)).toEqual([expect.objectContaining({ action: 'login.failure', detail: expect.stringContaining(`unknown identity "${username}"`) })]);
    }
    expect(await t.sql("select username, provider, external_id from users where username = 'localuser'")).toEqual([{ username: 'localuser', provider: 'local', external_id: null }]);
  });

  it('applies the account rules: a disabled SSO user is refused after the provider vouched', async () => {
    await t.sql("update users set enabled = false where username = 'ann'");
    try {
      const before = await lastAuditId(t);
      const app = request.agent(t.http);
      const callback = await signInAtIdp(app, idp, 'Test IdP', { username: 'ann-sub', password: 'ann-idp-pw' });
      expect((await app.get(callback)).headers.location).toBe('/login');
      expect(textOf((await app.get('/login')).text)).toContain('This account is disabled.');
      expect(await signInAudit(t, before)).toEqual([expect.objectContaining({ action: 'login.refused', object_label: 'ann', detail: 'single sign-on with testidp: account disabled' })]);
    } finally {
      await t.sql("update users set enabled = true where username = 'ann'");
    }
  });

  it('creates an unknown identity just in time when the provider allows it', async () => {
    const sales = await createOrganization(t, 'Sales');
    const [{ id }] = await t.sql<{ id: number }>("select id from identity_providers where key = 'testidp'");
    const edit = await openForm(admin, `/settings/identity-providers/${id}/edit`, 'Save identity provider');
    expect((await edit.check('Create unknown users at their first sign-in').select('Organization', 'Sales').submit('Save identity provider')).status).toBe(303);

    const app = request.agent(t.http);
    const callback = await signInAtIdp(app, idp, 'Test IdP', { username: 'new-sub', password: 'new-pw' });
    expect((await app.get(callback)).headers.location).toBe('/');
    // A Self-service user (the default profile): the start page is the account page.
    expect((await app.get('/')).headers.location).toBe('/account');
    expect((await app.get('/account')).status).toBe(200);
    const [user] = await t.sql<Record<string, unknown>>(
      `select u.username, u.provider, u.external_id, u.password_hash, c.first_name, c.last_name, c.email, o.name as organization,
              (select array_agg(r.name order by r.name) from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = u.id) as roles,
              p.name as profile, l.name as licence
         from users u join contacts c on c.id = u.contact_id join memberships m on m.user_id = u.id join organizations o on o.id = m.organization_id
         left join user_profiles p on p.id = u.profile_id left join licence_types l on l.id = u.licence_id
        where u.external_id = 'new-sub'`,
    );
    expect(user).toMatchObject({ username: 'nora.new', provider: 'testidp', external_id: 'new-sub', password_hash: null, first_name: 'Nora', last_name: 'New', email: 'newbie@example.org', organization: sales.name, roles: ['Member'], profile: 'Self-service' });
    expect(user.licence).not.toBeNull();
    const created = await t.sql<{ actor_name: string; object_label: string }>("select actor_name, object_label from audit_events where action = 'user.created' and object_label = 'nora.new'");
    expect(created).toEqual([{ actor_name: 'testidp (identity provider)', object_label: 'nora.new' }]);

    // The second sign-in finds the same user (no second account).
    const again = request.agent(t.http);
    expect((await again.get(await signInAtIdp(again, idp, 'Test IdP', { username: 'new-sub', password: 'new-pw' }))).headers.location).toBe('/');
    expect(await t.sql("select count(*)::int as n from users where external_id = 'new-sub'")).toEqual([{ n: 1 }]);

    // Just in time never takes over a local account's e-mail: refused, audited.
    const before = await lastAuditId(t);
    const mallory = request.agent(t.http);
    expect((await mallory.get(await signInAtIdp(mallory, idp, 'Test IdP', { username: 'mallory-sub', password: 'mallory-pw' }))).headers.location).toBe('/login');
    expect(textOf((await mallory.get('/login')).text)).toContain('already uses the e-mail address local@example.org');
    expect(await signInAudit(t, before)).toEqual([expect.objectContaining({ action: 'login.failure', detail: expect.stringContaining('belongs to another user') })]);
  });

  it('maps a claim value to the home organization, and updates name and e-mail at sign-in when asked', async () => {
    const engineering = await createOrganization(t, 'Engineering');
    const [{ id }] = await t.sql<{ id: number }>("select id from identity_providers where key = 'testidp'");
    const edit = await openForm(admin, `/settings/identity-providers/${id}/edit`, 'Save identity provider');
    const saved = await edit
      .check('Chosen by a claim (e.g. department or group); the organization below when no line matches')
      .fill('Organization claim', 'department')
      .fill('Claim value → organization', 'Engineering = Engineering')
      .check('Update name and e-mail from the provider at each sign-in')
      .submit('Save identity provider');
    expect(saved.status).toBe(303);

    const eve = request.agent(t.http);
    expect((await eve.get(await signInAtIdp(eve, idp, 'Test IdP', { username: 'eng-sub', password: 'eng-pw' }))).headers.location).toBe('/');
    expect(await t.sql("select o.name from users u join memberships m on m.user_id = u.id join organizations o on o.id = m.organization_id where u.external_id = 'eng-sub'")).toEqual([
      { name: engineering.name },
    ]);

    // ann's contact has no first or last name yet: the provider's given_name and family_name arrive.
    const ann = request.agent(t.http);
    expect((await ann.get(await signInAtIdp(ann, idp, 'Test IdP', { username: 'ann-sub', password: 'ann-idp-pw' }))).headers.location).toBe('/');
    expect(await t.sql("select c.first_name, c.last_name, c.email from users u join contacts c on c.id = u.contact_id where u.username = 'ann'")).toEqual([
      { first_name: 'Ann', last_name: 'Lee', email: 'ann@example.org' },
    ]);
    const [audit] = await t.sql<{ detail: string }>("select detail from audit_events where action = 'contact.updated' order by id desc limit 1");
    expect(audit.detail).toBe('attributes from testidp at sign-in');
  });
});
