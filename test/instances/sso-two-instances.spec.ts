import { Client } from 'pg';
import { createTestDatabase, TestDatabase } from '../support/database';
import { formIn } from '../support/forms';
import { linkHref } from '../support/html';
import { startIdp, TestIdp } from '../support/oidc-idp';
import { Browser, freePort, Instance, spawnInstance } from './instance';

jest.setTimeout(180_000);

const ADMIN_PASSWORD = 'Admin-pass-2026';
// Both processes stand behind one address, as behind a load balancer: the provider's redirect
// URI is the same whichever instance started the sign-in.
const PUBLIC_URL = 'http://tessera.example';

/**
 * Single sign-on across instances (issue #16): the sign-in starts on one process and the
 * provider's callback lands on the other. The state, nonce and PKCE verifier live in the
 * PostgreSQL session, so the second process completes it. Runs the compiled app, which also
 * proves that the CommonJS build loads the ESM-only openid-client.
 */
describe('OpenID Connect sign-in across two app processes', () => {
  let db: TestDatabase;
  let pg: Client;
  let idp: TestIdp;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    db = await createTestDatabase();
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    idp = await startIdp({
      clients: [{ client_id: 'tessera', client_secret: 'corp-secret', redirect_uris: [`${PUBLIC_URL}/sso/corp/callback`] }],
      accounts: [{ sub: 'emp-42', password: 'emp-pw', claims: { email: 'emp@example.org' } }],
    });
    const portA = await freePort();
    let portB = await freePort();
    while (portB === portA) portB = await freePort();
    const env = { DATABASE_URL: db.url, SESSION_SECRET: 'instances-session-secret-0123456789abcdef', ADMIN_PASSWORD, SCHEDULER: 'off', PUBLIC_URL };
    const starting = [spawnInstance('a', portA, env), spawnInstance('b', portB, env)];
    [a, b] = starting;
    await Promise.all(starting.map((i) => i.ready()));
  });

  afterAll(async () => {
    await Promise.all([a, b].filter((i) => i && !i.exited).map((i) => i.stop(10_000)));
    await pg?.end();
    await idp?.close();
    await db?.drop();
  });

  const expectStatus = (page: { status: number; location: string | null; text: string }, status: number, what: string) => {
    if (page.status !== status) {
      throw new Error(`${what}: expected ${status}, got ${page.status} (location ${page.location ?? '-'})\n${page.text.slice(0, 800)}\n--- a ---\n${a.output()}\n--- b ---\n${b.output()}`);
    }
  };

  it('starts on one instance and completes on the other', async () => {
    // The Administrator adds the provider through the pages of instance a.
    const admin = new Browser();
    const login = await admin.get(`${a.base}/login`);
    const signIn = formIn(login.text, 'Sign in').fill('Username', 'admin').fill('Password', ADMIN_PASSWORD);
    expectStatus(await admin.post(`${a.base}/login`, signIn.values('Sign in')), 303, 'admin sign-in on a');
    const page = await admin.get(`${a.base}/settings/identity-providers/new?kind=oidc`);
    expectStatus(page, 200, 'the add form on a');
    const add = formIn(page.text, 'Add identity provider')
      .fill('Provider key', 'corp')
      .fill('Button label', 'Corp')
      .fill('Issuer URL', idp.issuer)
      .fill('Client id', 'tessera')
      .fill('Client secret', 'corp-secret');
    expectStatus(await admin.post(`${a.base}/settings/identity-providers`, add.values('Add identity provider')), 303, 'adding the provider on a');

    // An SSO user as an import makes one: provider corp, external id emp-42, no password.
    await pg.query(
      `with c as (insert into contacts (kind, full_name, email, organization_id) select 'person', 'Emp Loyee', 'emp@example.org', id from organizations where parent_id is null returning id, organization_id),
            u as (insert into users (contact_id, username, provider, external_id, profile_id, licence_id)
                  select c.id, 'employee', 'corp', 'emp-42', (select id from user_profiles where built_in_key = 'administrator'), (select id from licence_types where built_in_key = 'standard') from c returning id),
            r as (insert into user_roles (user_id, role_id) select u.id, (select id from roles where built_in_key = 'member') from u)
       insert into memberships (user_id, organization_id) select u.id, c.organization_id from u, c`,
    );

    // The person clicks "Sign in with Corp" on instance a...
    const person = new Browser();
    const loginPage = await person.get(`${a.base}/login`);
    const start = await person.get(`${a.base}${linkHref(loginPage.text, 'Sign in with Corp')}`);
    expectStatus(start, 303, 'Sign in with Corp on a');
    // ...signs in on the provider's page (a browser of its own: another site's cookies)...
    const atIdp = new Browser();
    let location = start.location!;
    for (let hop = 0; hop < 10 && location.startsWith(idp.issuer); hop++) {
      const res = await atIdp.get(location);
      if (res.status === 200) {
        const form = formIn(res.text, 'Sign in at the IdP', { url: new URL(location).pathname }).fill('Username', 'emp-42').fill('Password', 'emp-pw');
        const submitted = await atIdp.post(new URL(form.action, idp.issuer).href, form.values('Sign in at the IdP'));
        location = new URL(submitted.location!, idp.issuer).href;
      } else {
        location = new URL(res.location!, idp.issuer).href;
      }
    }
    expect(location.startsWith(`${PUBLIC_URL}/sso/corp/callback?`)).toBe(true);
    // ...and the load balancer sends the callback to instance b.
    const callback = new URL(location);
    const landed = await person.get(`${b.base}${callback.pathname}${callback.search}`);
    expectStatus(landed, 303, 'the callback on b');
    expect(landed.location).toBe('/');
    const startboard = await person.get(`${b.base}/`);
    expectStatus(startboard, 200, 'the start page on b');
    expect(startboard.text).toContain('Startboard');
    // The session is one: instance a knows the person too.
    expectStatus(await person.get(`${a.base}/`), 200, 'the start page on a');

    const { rows } = await pg.query("select action, actor_name, detail from audit_events where action like 'login.%' and actor_name = 'employee'");
    expect(rows).toEqual([{ action: 'login.success', actor_name: 'employee', detail: 'single sign-on with corp' }]);
  });
});
