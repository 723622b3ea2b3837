import { X509Certificate } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
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
  async function atIdp(agent: Agent, who = 'ann', button = 'Sign in with University login') {
    const toIdp = await agent.get(linkHref((await agent.get('/login')).text, button));
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
    // Single logout: Tessera's signing certificate (made with the provider) and its logout endpoint.
    const [keys] = await t.sql<{ sp_certificate: string; sp_key_sealed: string }>(`select sp_certificate, sp_key_sealed from identity_providers where key = 'uni'`);
    const certificate = keys.sp_certificate.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '');
    expect(metadata.text).toContain(`<ds:X509Certificate>${certificate}</ds:X509Certificate>`);
    expect(metadata.text).toContain(`<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${PUBLIC_URL}/sso/uni/saml/slo"/>`);
    expect(keys.sp_key_sealed).toMatch(/^v1:/);
    expect(keys.sp_key_sealed).not.toContain('PRIVATE KEY');
    expect(textOf(edit.text)).toContain(`Single logout service URL (HTTP-Redirect) ${PUBLIC_URL}/sso/uni/saml/slo`);
    expect(textOf(edit.text)).toContain(`SHA-256 ${new X509Certificate(keys.sp_certificate).fingerprint256}`);
    // The IdP's administrator imports Tessera's metadata (its logout endpoint and certificate).
    idp.registerServiceProvider(metadata.text);
  });

  it('a provider saved before single logout gets its key when first needed, and keeps it', async () => {
    await t.sql(`insert into identity_providers (key, label, kind, settings) values ('old', 'Old login', 'saml', $1)`, [JSON.stringify({ metadataXml: idp.metadata })]);
    const first = await request(t.http).get('/sso/old/saml/metadata');
    expect(first.status).toBe(200);
    const [row] = await t.sql<{ sp_certificate: string }>(`select sp_certificate from identity_providers where key = 'old'`);
    expect(first.text).toContain(row.sp_certificate.split('\n')[1]);
    expect((await request(t.http).get('/sso/old/saml/metadata')).text).toBe(first.text);
    await t.sql(`delete from identity_providers where key = 'old'`);
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

  const signedOutText = (res: request.Response) => textOf(/<main[\s\S]*<\/main>/.exec(res.text)?.[0] ?? res.text);

  /** Signs in at the IdP and lands on Tessera (the IdP keeps a session). */
  async function signedIn(agent: Agent = request.agent(t.http)): Promise<Agent> {
    const res = await post(agent, await atIdp(agent));
    expect(res.headers.location).toBe('/');
    return agent;
  }

  /**
   * Signs out with the header's button (Tessera's session ends), then follows the signed-out page's
   * "Also sign out of University login" to the IdP's logout endpoint.
   */
  async function signOut(agent: Agent): Promise<URL> {
    const res = await (await openForm(agent, '/account', 'Sign out')).submit('Sign out');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/sso/signed-out');
    const page = await agent.get('/sso/signed-out');
    expect(page.status).toBe(200);
    expect(signedOutText(page)).toContain('You signed in with University login. You may still be signed in there');
    const link = linkHref(page.text, 'Also sign out of University login');
    expect(link).toBe('/sso/uni/saml/logout');
    expect((await agent.get('/account')).status).toBe(303);
    const onward = await agent.get(link);
    expect(onward.status).toBe(303);
    const toIdp = new URL(onward.headers.location);
    expect(`${toIdp.origin}${toIdp.pathname}`).toBe(`${idp.url}/logout`);
    return toIdp;
  }

  /** The IdP handles the LogoutRequest and sends the browser back to Tessera's logout endpoint (the LogoutResponse). */
  async function idpAnswer(toIdp: URL): Promise<URL> {
    const res = await request(idp.url).get(toIdp.pathname + toIdp.search);
    expect(res.status).toBe(302);
    const back = new URL(res.headers.location);
    expect(`${back.origin}${back.pathname}`).toBe(`${PUBLIC_URL}/sso/uni/saml/slo`);
    return back;
  }

  /** A SAML redirect message with its XML changed and its signature kept (a forgery). */
  function tampered(url: URL, param: 'SAMLRequest' | 'SAMLResponse', change: (xml: string) => string): URL {
    const forged = new URL(url);
    const xml = inflateRawSync(Buffer.from(url.searchParams.get(param)!, 'base64')).toString('utf8');
    const changed = change(xml);
    expect(changed).not.toBe(xml);
    forged.searchParams.set(param, deflateRawSync(Buffer.from(changed, 'utf8')).toString('base64'));
    return forged;
  }

  it('after signing out, "Also sign out of University login" sends the IdP a signed LogoutRequest for the session; its answer lands on the signed-out page, audited', async () => {
    const agent = await signedIn();
    const session = idp.sessions.at(-1)!;
    const back = await idpAnswer(await signOut(agent));
    // The link acts once.
    expect((await agent.get('/sso/uni/saml/logout')).headers.location).toBe('/login?signedOut=1');
    // The IdP checked Tessera's signature with the certificate of the metadata, and was named the subject and session of the assertion.
    expect(idp.logoutRequests.at(-1)).toEqual({ issuer: `${PUBLIC_URL}/sso/uni/saml/metadata`, nameId: 'emp-1001', sessionIndex: session.sessionIndex });
    expect(idp.sessions).not.toContainEqual(session);
    const page = await agent.get(back.pathname + back.search);
    expect(page.status).toBe(200);
    expect(signedOutText(page)).toContain('You have signed out of Tessera');
    expect(signedOutText(page)).toContain('University login ended its session too');
    expect((await agent.get('/account')).status).toBe(303);
    const [logout] = await t.sql<{ actor_name: string }>(`select actor_name from audit_events where action = 'logout' order by id desc limit 1`);
    expect(logout.actor_name).toBe('ann.smith');
    const [confirmed] = await t.sql<{ actor_name: string; detail: string }>(`select actor_name, detail from audit_events where action = 'logout.provider' order by id desc limit 1`);
    expect(confirmed).toEqual({ actor_name: 'ann.smith', detail: 'single logout with uni: the identity provider ended its session too' });

    // Replayed, in the same browser or another, the answer is refused (it was used up).
    for (const browser of [agent, request.agent(t.http)]) {
      const again = await browser.get(back.pathname + back.search);
      expect(again.status).toBe(400);
      expect(signedOutText(again)).toContain("University login's sign-out message was not accepted: it does not answer a sign-out started in this browser, or it was already used.");
    }
    // And in a later sign-out of the same browser, whose own request is still unanswered.
    await signedIn(agent);
    const later = await signOut(agent);
    const replayed = await agent.get(back.pathname + back.search);
    expect(replayed.status).toBe(400);
    expect(signedOutText(replayed)).toContain('it does not answer a sign-out started in this browser, or it was already used');
    const [failure] = await t.sql<{ detail: string }>(`select detail from audit_events where action = 'logout.failure' order by id desc limit 1`);
    expect(failure.detail).toMatch(/^single logout with uni: SAML: InResponseTo is not valid/);
    // The genuine answer still counts.
    const genuine = await idpAnswer(later);
    expect(signedOutText(await agent.get(genuine.pathname + genuine.search))).toContain('University login ended its session too');
  });

  it.each([
    ['unsigned', { logoutUnsigned: true }, 'its signature is missing or not accepted', 'the message is not signed'],
    ['signed with another key', { logoutForeignKey: true }, 'its signature does not verify', 'invalid query signature'],
  ])('a LogoutResponse %s is refused with a message; the person is signed out of Tessera all the same', async (_what, faults, message, detail) => {
    const agent = await signedIn();
    const toIdp = await signOut(agent);
    idp.faults = faults;
    const back = await idpAnswer(toIdp);
    const page = await agent.get(back.pathname + back.search);
    expect(page.status).toBe(400);
    expect(signedOutText(page)).toContain('You have signed out of Tessera');
    expect(signedOutText(page)).toContain(`University login's sign-out message was not accepted: ${message}.`);
    expect(signedOutText(page)).toContain('you may still be signed in at University login');
    expect((await agent.get('/account')).status).toBe(303);
    const [failure] = await t.sql<{ detail: string; actor_name: string }>(`select detail, actor_name from audit_events where action = 'logout.failure' order by id desc limit 1`);
    expect(failure.detail).toContain(`single logout with uni: SAML: ${detail}`);
    expect(failure.actor_name).toBe('ann.smith');
  });

  it('a tampered LogoutResponse (its XML changed under the signature) is refused', async () => {
    const agent = await signedIn();
    const back = await idpAnswer(await signOut(agent));
    const forged = tampered(back, 'SAMLResponse', (xml) => xml.replace(/ID="([^"]+)"/, 'ID="$1x"'));
    const page = await agent.get(forged.pathname + forged.search);
    expect(page.status).toBe(400);
    expect(signedOutText(page)).toContain('its signature does not verify');
    // The genuine answer is still accepted afterwards: a forgery cannot cancel it.
    expect(signedOutText(await agent.get(back.pathname + back.search))).toContain('University login ended its session too');
  });

  it("a LogoutResponse for one provider sent to another provider's logout endpoint is refused", async () => {
    const second = await (await newSamlForm()).fill('Provider key', 'uni2').fill('Button label', 'Second login').fill('Identity provider metadata (XML)', idp.metadata).submit('Add identity provider');
    expect(second.status).toBe(303);
    const agent = await signedIn();
    const back = await idpAnswer(await signOut(agent));
    const page = await agent.get(`/sso/uni2/saml/slo${back.search}`);
    expect(page.status).toBe(400);
    expect(signedOutText(page)).toContain("Second login's sign-out message was not accepted");
    const [failure] = await t.sql<{ detail: string }>(`select detail from audit_events where action = 'logout.failure' order by id desc limit 1`);
    expect(failure.detail).toMatch(/^single logout with uni2: SAML: .*(Destination|without a single logout in progress)/);
    expect((await request(t.http).get('/sso/nope/saml/slo').query({ SAMLResponse: 'x' })).status).toBe(404);
    expect(signedOutText(await agent.get(back.pathname + back.search))).toContain('University login ended its session too');
    await t.sql(`delete from identity_providers where key = 'uni2'`);
  });

  it('an IdP whose metadata has no logout endpoint gets no LogoutRequest: the signed-out page says to sign out there', async () => {
    const withoutSlo = idp.metadata.replace(/<(?:\w+:)?SingleLogoutService\b[^>]*(?:\/>|>\s*<\/(?:\w+:)?SingleLogoutService>)/g, '');
    expect(withoutSlo).not.toContain('SingleLogoutService');
    const saved = await (await newSamlForm()).fill('Provider key', 'noslo').fill('Button label', 'Lab login').fill('Identity provider metadata (XML)', withoutSlo).submit('Add identity provider');
    expect(saved.status).toBe(303);
    idp.addUser({ login: 'bea', password: 'idp-pass', nameId: 'emp-2002' });
    const bea = await createUser(t, { username: 'bea', password: null, provider: 'noslo' });
    await t.sql(`update users set external_id = 'emp-2002' where id = $1`, [bea.id]);
    const agent = request.agent(t.http);
    expect((await post(agent, await atIdp(agent, 'bea', 'Sign in with Lab login'))).headers.location).toBe('/');
    expect((await (await openForm(agent, '/account', 'Sign out')).submit('Sign out')).headers.location).toBe('/sso/signed-out');
    const page = await agent.get('/sso/signed-out');
    expect(page.status).toBe(200);
    expect(signedOutText(page)).toContain("Lab login offers no sign-out link to Tessera: close the browser, or sign out on Lab login's own pages.");
    expect(page.text).not.toContain('/saml/logout');
    expect((await agent.get('/sso/noslo/saml/logout')).headers.location).toBe('/login?signedOut=1');
  });

  it("the IdP's own LogoutRequest ends the Tessera sessions it names and is answered with a signed LogoutResponse", async () => {
    const laptop = await signedIn();
    const phone = await signedIn();
    const other = await login(t.http, 'admin', 'Admin-pass-2026');
    // The IdP ends the phone's session (its session index): the IdP sends the phone's browser to Tessera.
    const toTessera = new URL(idp.logoutRequestUrl('ann'));
    expect(`${toTessera.origin}${toTessera.pathname}`).toBe(`${PUBLIC_URL}/sso/uni/saml/slo`);
    const answer = await phone.get(toTessera.pathname + toTessera.search);
    expect(answer.status).toBe(303);
    const toIdp = new URL(answer.headers.location);
    expect(`${toIdp.origin}${toIdp.pathname}`).toBe(`${idp.url}/logout`);
    const done = await request(idp.url).get(toIdp.pathname + toIdp.search);
    expect(done.status).toBe(200);
    expect(done.text).toContain('The service provider ended its session.');
    expect((await phone.get('/account')).status).toBe(303);
    expect((await laptop.get('/account')).status).toBe(200);
    const [ended] = await t.sql<{ actor_name: string; detail: string }>(`select actor_name, detail from audit_events where action = 'logout' order by id desc limit 1`);
    expect(ended).toEqual({ actor_name: 'ann.smith', detail: 'single logout requested by uni (1 session ended)' });

    // Without a session index it names every session of the subject (a third party's browser carries it here).
    const all = new URL(idp.logoutRequestUrl('ann', { sessionIndex: null }));
    expect((await request(t.http).get(all.pathname + all.search)).status).toBe(303);
    expect((await laptop.get('/account')).status).toBe(303);
    expect((await other.get('/account')).status).toBe(200);
  });

  it("an IdP LogoutRequest that is unsigned or tampered ends nothing, says why and is audited", async () => {
    const agent = await signedIn();
    const genuine = new URL(idp.logoutRequestUrl('ann'));
    const unsigned = new URL(genuine);
    unsigned.searchParams.delete('Signature');
    unsigned.searchParams.delete('SigAlg');
    const forged = tampered(genuine, 'SAMLRequest', (xml) => xml.replace('emp-1001', 'emp-1001 '));
    for (const [url, message] of [[unsigned, 'its signature is missing or not accepted'], [forged, 'its signature does not verify']] as const) {
      const res = await agent.get(url.pathname + url.search);
      expect(res.status).toBe(400);
      expect(signedOutText(res)).toContain('Sign-out not accepted');
      expect(signedOutText(res)).toContain(`University login's sign-out message was not accepted: ${message}.`);
      expect((await agent.get('/account')).status).toBe(200);
    }
    const failures = await t.sql<{ detail: string }>(`select detail from audit_events where action = 'logout.failure' order by id desc limit 2`);
    expect(failures.map((f) => f.detail)).toEqual([expect.stringContaining('invalid query signature on the LogoutRequest'), expect.stringContaining('the message is not signed')]);
    // Nothing to read at all.
    expect((await agent.get('/sso/uni/saml/slo')).status).toBe(400);
    expect((await agent.get('/account')).status).toBe(200);
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
    const successes = async () => (await t.sql(`select 1 from audit_events where action = 'login.success' and object_label = 'ann.smith'`)).length;
    const before = await successes();
    const agent = request.agent(t.http);
    const form = await atIdp(agent);
    expect((await post(agent, form)).headers.location).toBe('/');
    const signedOut = await (await openForm(agent, '/account', 'Sign out')).submit('Sign out');
    expect(signedOut.status).toBeLessThan(400);
    // The same browser again, and another browser that got hold of the response.
    expect(await refusalAfter(agent, await post(agent, form))).toContain('already used');
    const other = request.agent(t.http);
    expect(await refusalAfter(other, await post(other, form))).toContain('Signing in with University login did not work');
    expect(await successes()).toBe(before + 1);
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
  it('the response may land on another instance than the one that sent the request; so may a single logout', async () => {
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
      // Single logout too: the IdP's LogoutRequest at the second instance ends that session for the first.
      const toTessera = new URL(idp.logoutRequestUrl('ann'));
      const answered = await request(second.http).get(toTessera.pathname + toTessera.search);
      expect(answered.status).toBe(303);
      expect(answered.headers.location).toMatch(new RegExp(`^${idp.url}/logout\\?SAMLResponse=`));
      expect((await request(t.http).get('/account').set('Cookie', session)).status).toBe(303);
    } finally {
      await second.close();
    }
  });
});
