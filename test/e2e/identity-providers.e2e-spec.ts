import request from 'supertest';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createOrganization, createUser, globalOrganization } from '../support/factories';
import { openForm } from '../support/forms';
import { textOf } from '../support/html';
import { Agent, login } from '../support/http';
import { loginTo } from '../support/sessions';

/**
 * Settings → Authentication → Identity providers (issue #16): add an OpenID Connect provider,
 * edit it with a write-only client secret (stored sealed, never shown again), disable, delete;
 * bad input re-renders with 422 and changes nothing; the login page shows "Sign in with …" for
 * each enabled provider; only an Administrator signed in to Global may use the pages.
 */
describe('identity provider pages', () => {
  let t: TestApp;
  let admin: Agent;

  beforeAll(async () => {
    t = await createTestApp();
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
  });
  afterAll(() => t.close());

  async function addProvider(key: string, label: string, secret = 'the-client-secret-1') {
    const chooser = await admin.get('/settings/identity-providers/new');
    expect(chooser.status).toBe(200);
    const form = await openForm(admin, '/settings/identity-providers/new?kind=oidc', 'Add identity provider');
    return form
      .fill('Provider key', key)
      .fill('Button label', label)
      .fill('Issuer URL', 'https://login.example.org/tenant/v2.0')
      .fill('Client id', 'tessera-app')
      .fill('Client secret', secret)
      .submit('Add identity provider');
  }

  it('adds a provider whose secret is stored sealed and never shown again', async () => {
    const res = await addProvider('azure', 'Microsoft');
    expect(res.status).toBe(303);
    const [row] = await t.sql<{ id: number; key: string; kind: string; enabled: boolean; jit_enabled: boolean; secret_sealed: string; settings: Record<string, string> }>(
      "select * from identity_providers where key = 'azure'",
    );
    expect(row).toMatchObject({ kind: 'oidc', enabled: true, jit_enabled: false });
    expect(row.settings).toMatchObject({ issuerUrl: 'https://login.example.org/tenant/v2.0', clientId: 'tessera-app', externalIdClaim: 'sub', scopes: 'openid profile email' });
    expect(row.secret_sealed).toMatch(/^v1:/);
    expect(row.secret_sealed).not.toContain('the-client-secret-1');

    const edit = await admin.get(res.headers.location);
    expect(edit.status).toBe(200);
    expect(edit.text).not.toContain('the-client-secret-1');
    expect(textOf(edit.text)).toContain('/sso/azure/callback');
    const audit = await t.sql<{ changes: unknown }>("select changes from audit_events where action = 'identity_provider.created'");
    expect(JSON.stringify(audit)).not.toContain('the-client-secret-1');

    // Saving with the secret left empty keeps the stored one.
    const saved = await (await openForm(admin, res.headers.location, 'Save identity provider')).fill('Button label', 'Microsoft Entra ID').submit('Save identity provider');
    expect(saved.status).toBe(303);
    const [after] = await t.sql<{ label: string; secret_sealed: string }>("select label, secret_sealed from identity_providers where key = 'azure'");
    expect(after).toEqual({ label: 'Microsoft Entra ID', secret_sealed: row.secret_sealed });
  });

  it('answers bad input with 422, every message at once, and writes nothing', async () => {
    const form = await openForm(admin, '/settings/identity-providers/new?kind=oidc', 'Add identity provider');
    const res = await form.fill('Provider key', 'local').fill('Issuer URL', 'not a url').fill('Scopes', 'profile').submit('Add identity provider');
    expect(res.status).toBe(422);
    const page = textOf(res.text);
    expect(page).toContain('"local" is Tessera\'s own passwords');
    expect(page).toContain('The issuer URL must be an https://');
    expect(page).toContain('Enter the client id');
    expect(page).toContain('The scopes must include "openid"');
    expect(page).toContain('Enter the client secret');
    expect(await t.sql("select 1 from identity_providers where key = 'local'")).toEqual([]);

    const taken = await addProvider('azure', 'Another');
    expect(taken.status).toBe(422);
    expect(textOf(taken.text)).toContain('Another identity provider already has this key.');

    const jit = await (await openForm(admin, '/settings/identity-providers/new?kind=oidc', 'Add identity provider'))
      .fill('Provider key', 'okta')
      .fill('Button label', 'Okta')
      .fill('Issuer URL', 'https://okta.example.org')
      .fill('Client id', 'x')
      .fill('Client secret', 'y')
      .check('Create unknown users at their first sign-in')
      .submit('Add identity provider');
    expect(jit.status).toBe(422);
    expect(textOf(jit.text)).toContain('Choose the home organization of users created at their first sign-in.');
  });

  it('shows "Sign in with …" on the login page for enabled providers only', async () => {
    const page = await request(t.http).get('/login');
    expect(textOf(page.text)).toContain('Sign in with Microsoft Entra ID');

    const list = await openForm(admin, '/settings/identity-providers', 'Disable Microsoft Entra ID');
    expect((await list.submit('Disable Microsoft Entra ID')).status).toBe(303);
    expect(textOf((await request(t.http).get('/login')).text)).not.toContain('Sign in with');

    const again = await openForm(admin, '/settings/identity-providers', 'Enable Microsoft Entra ID');
    expect((await again.submit('Enable Microsoft Entra ID')).status).toBe(303);
    expect(textOf((await request(t.http).get('/login')).text)).toContain('Sign in with Microsoft Entra ID');
  });

  it('deletes a provider only while no user signs in with it', async () => {
    const [{ id }] = await t.sql<{ id: number }>("select id from identity_providers where key = 'azure'");
    const sso = await createUser(t, { username: 'sso-ann', password: null, provider: 'azure' });
    const refused = await (await openForm(admin, `/settings/identity-providers/${id}/delete`, 'Delete identity provider')).submit('Delete identity provider');
    expect(refused.status).toBe(409);
    expect(textOf(refused.text)).toContain('1 user signs in with it');
    await t.sql('delete from users where id = $1', [sso.id]);
    const deleted = await (await openForm(admin, `/settings/identity-providers/${id}/delete`, 'Delete identity provider')).submit('Delete identity provider');
    expect(deleted.status).toBe(303);
    expect(await t.sql("select 1 from identity_providers where key = 'azure'")).toEqual([]);
  });

  it('refuses every session but an Administrator in Global, and changes nothing', async () => {
    await addProvider('google', 'Google');
    const [{ id }] = await t.sql<{ id: number }>("select id from identity_providers where key = 'google'");
    const global = await globalOrganization(t);
    const a = await createOrganization(t, 'A');
    // An Administrator signed in to a sub-organization, and an organization administrator.
    await createUser(t, { username: 'boss', roles: ['administrator'], profile: 'administrator', memberships: [{ org: global }, { org: a, isAdmin: true }] });
    await createUser(t, { username: 'orgadmin', roles: ['user_manager'], profile: 'administrator', memberships: [{ org: a, isAdmin: true }] });
    for (const agent of [await loginTo(t, 'boss', 'Secret-pass-1', a), await loginTo(t, 'orgadmin', 'Secret-pass-1', a)]) {
      for (const path of ['/settings/identity-providers', '/settings/identity-providers/new?kind=oidc', `/settings/identity-providers/${id}/edit`]) {
        expect([403, 404]).toContain((await agent.get(path)).status);
      }
      const token = /name="_csrf" value="([^"]+)"/.exec((await agent.get('/account')).text)![1];
      for (const path of [`/settings/identity-providers/${id}`, `/settings/identity-providers/${id}/disable`, `/settings/identity-providers/${id}/delete`, '/settings/identity-providers']) {
        const res = await agent.post(path).type('form').send({ _csrf: token, kind: 'oidc', key: 'evil', label: 'Evil', issuerUrl: 'https://evil.example', clientId: 'x', secret: 'y' });
        expect([403, 404]).toContain(res.status);
      }
    }
    expect(await t.sql('select key, label, enabled from identity_providers order by key')).toEqual([{ key: 'google', label: 'Google', enabled: true }]);
  });
});
