import request from 'supertest';
import { createSecondInstance, createTestApp, TestApp } from '../support/app';
import { createOrganization, createUser, globalOrganization } from '../support/factories';
import { formIn, formOf, openForm } from '../support/forms';
import { Agent, login, postForm } from '../support/http';
import { decodeEntities, linkHref, textOf } from '../support/html';
import { SamlIdp } from '../support/saml-idp';
import { recordSamlAssertion } from '../../src/sso/saml/saml.queries';

const PUBLIC_URL = 'http://tessera.example.test';

/**
 * SAML 2.0 sign-in against a real IdP in-process (samlify, signed assertions): an Administrator
 * configures the provider through the pages, an imported user with that provider signs in on
 * the IdP's page and lands on the startboard; unsigned, foreign-signed, expired, replayed,
 * mis-addressed and unsolicited responses are refused with a message and an audit entry, and
 * the response may land on another instance than the one that sent the request.
 */
describe('single sign-on with SAML 2.0', () => {
  let t: TestApp;
  let idp: SamlIdp;
  let admin: Agent;

  beforeAll(async () => {
    idp = await SamlIdp.start();
    idp.addUser({ login: 'ann', password: 'idp-pass', nameId: 'emp-1001', attributes: { email: 'ann@uni.example', givenName: 'Ann', surname: 'Smith' } });
    idp.addUser({ login: 'nobody', password: 'idp-pass', nameId: 'emp-9999', attributes: { email: 'nobody@uni.example' } });
    t = await createTestApp({ env: { PUBLIC_URL } });
    admin = await login(t.http, 'admin', 'Admin-pass-2026');
    const ann = await createUser(t, { username: 'ann.smith', password: null, provider: 'uni', email: 'ann@uni.example' });
    await t.sql(`update users set external_id = 'emp-1001' where id = $1`, [ann.id]);
  });
  afterAll(async () => {
    await t.close();
    await idp.stop();
  });
  beforeEach(() => {
    idp.faults = {};
  });

  /** The provider form, reached by clicking from the identity providers list. */
  async function newSamlForm() {
    const list = await admin.get('/settings/identity-providers');
    expect(list.status).toBe(200);
    const chooser = await admin.get(linkHref(list.text, 'Add an identity provider'));
    const path = linkHref(chooser.text, 'SAML 2.0');
    return openForm(admin, path, 'Add identity provider');
  }

  async function auditRows(action: string) {
    return t.sql<{ detail: string | null; object_label: string | null }>(`select detail, object_label from audit_events where action = $1 order by id`, [action]);
  }

  /** A person clicks "Sign in with …", signs in at the IdP and is shown its "Continue" form. */
  async function atIdp(agent: Agent, who = 'ann') {
    const toIdp = await agent.get(linkHref((await agent.get('/login')).text, 'Sign in with University login'));
    expect(toIdp.status).toBe(303);
    const idpUrl = new URL(toIdp.headers.location);
    expect(idpUrl.origin).toBe(idp.url);
    const idpAgent = request.agent(idp.url);
    const loginPage = await idpAgent.get(idpUrl.pathname + idpUrl.search);
    const continued = await formOf(idpAgent, loginPage.text, 'Sign in', idpUrl.pathname).fill('Login', who).fill('Password', 'idp-pass').submit('Sign in');
    expect(continued.status).toBe(200);
    return formIn(continued.text, 'Continue');
  }

  /** The browser submits the IdP's "Continue" form to Tessera's ACS URL (the form's action). */
  function post(agent: Agent, form: ReturnType<typeof formIn>) {
    const acs = acsOf(form);
    return agent.post(acs.pathname).type('form').send(new URLSearchParams(form.entries('Continue')).toString());
  }

  /** The absolute URL the IdP's form posts to: Tessera's ACS URL, built from PUBLIC_URL. */
  function acsOf(form: ReturnType<typeof formIn>): URL {
    const acs = new URL(decodeEntities(/<form[^>]*\saction="([^"]+)"/.exec(form.html)![1]));
    expect(acs.origin).toBe(PUBLIC_URL);
    return acs;
  }

  /** Follows the redirects from the start page to the page a person lands on (a self-service user's start page is their account). */
  async function landing(agent: Agent, cookie?: string): Promise<{ path: string; text: string }> {
    let path = '/';
    for (let hops = 0; hops < 5; hops++) {
      const res = cookie ? await request(t.http).get(path).set('Cookie', cookie) : await agent.get(path);
      if (res.status === 200) return { path, text: res.text };
      expect(res.status).toBe(303);
      expect(res.headers.location).not.toMatch(/^\/login/);
      path = res.headers.location;
    }
    throw new Error('Too many redirects');
  }

  async function refusalAfter(agent: Agent, res: request.Response): Promise<string> {
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login');
    const page = await agent.get('/login');
    return textOf(/<div class="flash[^"]*"[^>]*>[\s\S]*?<\/div>/.exec(page.text)?.[0] ?? '');
  }

  it('an Administrator adds the provider from pasted metadata; the page shows what the IdP needs', async () => {
    const bad = await (await newSamlForm()).fill('Provider key', 'uni').fill('Button label', 'University login').fill('Identity provider metadata (XML)', '<EntityDescriptor/>').submit('Add identity provider');
    expect(bad.status).toBe(422);
    expect(textOf(bad.text)).toContain('The metadata has no identity provider');
    expect(await t.sql('select 1 from identity_providers')).toHaveLength(0);

    const saved = await formOf(admin, bad.text, 'Add identity provider', '/settings/identity-providers').fill('Identity provider metadata (XML)', idp.metadata).submit('Add identity provider');
    expect(saved.status).toBe(303);
    const edit = await admin.get(saved.headers.location);
    expect(textOf(edit.text)).toContain(`${PUBLIC_URL}/sso/uni/saml/acs`);
    expect(textOf(edit.text)).toContain(`${PUBLIC_URL}/sso/uni/saml/metadata`);

    const metadata = await request(t.http).get(linkHref(edit.text, "Download Tessera's SP metadata"));
    expect(metadata.status).toBe(200);
    expect(metadata.headers['content-type']).toMatch(/samlmetadata\+xml/);
    expect(metadata.text).toContain(`entityID="${PUBLIC_URL}/sso/uni/saml/metadata"`);
    expect(metadata.text).toContain(`Location="${PUBLIC_URL}/sso/uni/saml/acs"`);
    expect(metadata.text).toContain('WantAssertionsSigned="true"');
  });

  it('a metadata URL is fetched when saved; one that cannot be reached is named on its field', async () => {
    const unreachable = await (await newSamlForm())
      .fill('Provider key', 'lab')
      .fill('Button label', 'Lab login')
      .fill('Metadata URL', 'http://127.0.0.1:9/metadata')
      .submit('Add identity provider');
    expect(unreachable.status).toBe(422);
    expect(textOf(unreachable.text)).toContain('Tessera could not fetch the metadata');

    const fetched = await formOf(admin, unreachable.text, 'Add identity provider', '/settings/identity-providers').fill('Metadata URL', `${idp.url}/metadata`).submit('Add identity provider');
    expect(fetched.status).toBe(303);
    const [row] = await t.sql<{ settings: { metadataXml: string } }>(`select settings from identity_providers where key = 'lab'`);
    expect(row.settings.metadataXml).toContain(idp.entityId);
    await t.sql(`delete from identity_providers where key = 'lab'`);
  });

  it('the user signs in at the IdP and lands on the startboard, audited', async () => {
    const agent = request.agent(t.http);
    const res = await post(agent, await atIdp(agent));
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
    const home = await landing(agent);
    expect(home.path).toBe('/account');
    expect(textOf(home.text)).toContain('ann.smith');
    const [success] = (await auditRows('login.success')).filter((r) => r.object_label === 'ann.smith');
    expect(success.detail).toBe('single sign-on with uni');
  });

  it.each([
    ['an unsigned assertion', { unsigned: true }, 'signature is missing or does not verify', /SAML: .*signature/i],
    ['an assertion signed with another key', { foreignKey: true }, 'signature is missing or does not verify', /SAML: .*signature/i],
    ['an expired assertion', { expiredMinutesAgo: 30 }, 'the response has expired', /SAML: /],
    ['an assertion for another audience', { audience: 'https://other.example/sp' }, 'meant for another service', /SAML: .*audience/i],
    ['a response to a request Tessera never sent', { inResponseTo: '_not-a-request-of-ours' }, 'does not answer a sign-in started in this browser', /SAML: .*InResponseTo/],
  ])('%s is refused with a message and an audit entry; nobody is signed in', async (_what, faults, message, detail) => {
    const agent = request.agent(t.http);
    const before = (await auditRows('login.failure')).length;
    idp.faults = faults;
    const bad = await atIdp(agent);
    const res = await post(agent, bad);
    expect(await refusalAfter(agent, res)).toContain(message);
    const failures = (await auditRows('login.failure')).slice(before);
    expect(failures.map((f) => f.detail)).toEqual([expect.stringMatching(detail)]);
    expect((await agent.get('/')).status).toBe(303);
  });

  it('a post to the ACS URL without a SAML response (the route takes no CSRF token) signs nobody in', async () => {
    const agent = request.agent(t.http);
    await agent.get('/login');
    const before = (await auditRows('login.failure')).length;
    const res = await agent.post('/sso/uni/saml/acs').type('form').send({ RelayState: '/users' });
    expect(await refusalAfter(agent, res)).toContain('the identity provider sent no SAML response');
    expect((await auditRows('login.failure')).slice(before).map((r) => r.detail)).toEqual(['single sign-on with uni: SAML: no SAMLResponse in the POST']);
    expect((await agent.get('/users')).status).toBe(303);
  });

  it('a response is accepted once: replayed, it is refused', async () => {
    const agent = request.agent(t.http);
    const form = await atIdp(agent);
    expect((await post(agent, form)).headers.location).toBe('/');
    const signedOut = await (await openForm(agent, '/account', 'Sign out')).submit('Sign out');
    expect(signedOut.status).toBeLessThan(400);
    // The same browser again, and another browser that got hold of the response.
    expect(await refusalAfter(agent, await post(agent, form))).toContain('already used');
    const other = request.agent(t.http);
    expect(await refusalAfter(other, await post(other, form))).toContain('Signing in with University login did not work');
    expect(await t.sql(`select 1 from audit_events where action = 'login.success' and object_label = 'ann.smith'`)).toHaveLength(2);
  });

  it('the replay store accepts an assertion id once, even when two instances record it at the same moment', async () => {
    const [provider] = await t.sql<{ id: number }>(`select id from identity_providers where key = 'uni'`);
    const expires = new Date(Date.now() + 60_000);
    const results = await Promise.all([1, 2, 3].map(() => recordSamlAssertion(t.em(), provider.id, '_same-assertion', expires)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('a response posted by another browser than the one that started is refused (no sign-in forced on a victim)', async () => {
    const starter = request.agent(t.http);
    const form = await atIdp(starter);
    const victim = request.agent(t.http);
    expect(await refusalAfter(victim, await post(victim, form))).toContain('does not answer a sign-in started in this browser');
    // The starter can still finish: the victim's attempt did not use the request up.
    expect((await post(starter, form)).headers.location).toBe('/');
  });

  it('an identity without a Tessera user is refused (just-in-time creation off), audited with the external id', async () => {
    const agent = request.agent(t.http);
    const message = await refusalAfter(agent, await post(agent, await atIdp(agent, 'nobody')));
    expect(message).toContain('no Tessera account is linked to that identity');
    const [last] = (await auditRows('login.failure')).slice(-1);
    expect(last.detail).toContain('"emp-9999"');
  });

  it('never adopts a local account with the same e-mail or username', async () => {
    const local = await createUser(t, { username: 'emp-9999', email: 'nobody@uni.example' });
    const agent = request.agent(t.http);
    expect(await refusalAfter(agent, await post(agent, await atIdp(agent, 'nobody')))).toContain('no Tessera account is linked');
    const [row] = await t.sql<{ provider: string; external_id: string | null }>('select provider, external_id from users where id = $1', [local.id]);
    expect(row).toEqual({ provider: 'local', external_id: null });
  });

  it('an organization administrator cannot reach or forge the provider pages, and nothing changes', async () => {
    const a = await createOrganization(t, 'Faculty A', await globalOrganization(t));
    // The strongest one: the Administrator role, in an organization below Global.
    await createUser(t, { username: 'orgadmin', roles: ['administrator'], profile: 'administrator', memberships: [{ org: a, isAdmin: true }] });
    const orgAdmin = await login(t.http, 'orgadmin', 'Secret-pass-1');
    const before = await t.sql('select id, key, settings from identity_providers order by id');
    expect([403, 404]).toContain((await orgAdmin.get('/settings/identity-providers/new?kind=saml')).status);
    const res = await postForm(orgAdmin, '/settings/identity-providers', { kind: 'saml', key: 'evil', label: 'Evil', metadataXml: idp.metadata, externalIdAttribute: 'NameID' });
    expect([403, 404]).toContain(res.status);
    const [provider] = await t.sql<{ id: number }>(`select id from identity_providers where key = 'uni'`);
    const edit = await postForm(orgAdmin, `/settings/identity-providers/${provider.id}`, { key: 'uni', label: 'Evil', metadataXml: idp.metadata, externalIdAttribute: 'email' });
    expect([403, 404]).toContain(edit.status);
    expect(await t.sql('select id, key, settings from identity_providers order by id')).toEqual(before);
  });
  // Last: passport's strategies are process-wide, so after a second instance has closed, password
  // sign-ins of the first would reach the second one's closed pool.
  it('the response may land on another instance than the one that sent the request', async () => {
    const second = await createSecondInstance(t);
    try {
      const first = request.agent(t.http);
      const form = await atIdp(first);
      const cookies = (first as unknown as { jar: { getCookies(o: unknown): { toValueString(): string }[] } }).jar
        .getCookies({ domain: '127.0.0.1', path: '/sso/', secure: false, script: false })
        .map((c) => c.toValueString())
        .join('; ');
      const acs = acsOf(form);
      const landed = await request(second.http).post(acs.pathname).set('Cookie', cookies).type('form').send(new URLSearchParams(form.entries('Continue')).toString());
      expect(landed.status).toBe(303);
      expect(landed.headers.location).toBe('/');
      const session = (landed.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ');
      const home = await landing(first, session);
      expect(textOf(home.text)).toContain('ann.smith');
    } finally {
      await second.close();
    }
  });
});
