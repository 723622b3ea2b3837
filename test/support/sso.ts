import request from 'supertest';
import type { TestApp } from './app';
import { formOf, openForm } from './forms';
import { linkHref } from './html';
import type { Agent } from './http';
import type { TestIdp } from './oidc-idp';

/** Adds an OpenID Connect provider through the pages, as an Administrator does. */
export async function addOidcProvider(
  admin: Agent,
  idp: TestIdp,
  options: { key: string; label: string; clientId: string; clientSecret: string; jit?: { organization: string } },
): Promise<number> {
  let form = (await openForm(admin, '/settings/identity-providers/new?kind=oidc', 'Add identity provider'))
    .fill('Provider key', options.key)
    .fill('Button label', options.label)
    .fill('Issuer URL', idp.issuer)
    .fill('Client id', options.clientId)
    .fill('Client secret', options.clientSecret);
  if (options.jit) form = form.check('Create unknown users at their first sign-in').select('Organization', options.jit.organization);
  const res = await form.submit('Add identity provider');
  if (res.status !== 303) throw new Error(`Adding ${options.key} answered ${res.status}:\n${res.text.slice(0, 1500)}`);
  return Number(/\/settings\/identity-providers\/(\d+)\/edit/.exec(res.headers.location)![1]);
}

/**
 * Clicks "Sign in with <label>" on the login page of `app` (an agent of the app), follows the
 * redirects at the IdP with a browser-like agent of its own, signs in on the IdP's rendered
 * login form and returns the path of the callback the IdP sends the browser back to (not yet
 * visited).
 */
export async function signInAtIdp(app: Agent, idp: TestIdp, label: string, login: { username: string; password: string }, start = '/login'): Promise<string> {
  const page = await app.get(start);
  const started = await app.get(linkHref(page.text, `Sign in with ${label}`));
  if (started.status !== 303) throw new Error(`"Sign in with ${label}" answered ${started.status}:\n${started.text.slice(0, 800)}`);
  const browser = request.agent(idp.issuer);
  let location: string = started.headers.location;
  for (let hop = 0; hop < 10; hop++) {
    const url = new URL(location, idp.issuer);
    if (url.origin !== new URL(idp.issuer).origin) return url.pathname + url.search;
    const page = await browser.get(url.pathname + url.search);
    if (page.status === 200) {
      const signedIn = await formOf(browser, page.text, 'Sign in at the IdP', url.pathname).fill('Username', login.username).fill('Password', login.password).submit('Sign in at the IdP');
      if (signedIn.status >= 400) throw new Error(`The IdP refused the sign-in of ${login.username}: ${signedIn.status}`);
      location = signedIn.headers.location;
    } else if (page.status >= 300 && page.status < 400) {
      location = page.headers.location;
    } else {
      throw new Error(`The IdP answered ${page.status} at ${url.pathname}:\n${page.text.slice(0, 800)}`);
    }
  }
  throw new Error('Too many redirects at the IdP');
}

export interface AuditRow {
  action: string;
  actor_name: string | null;
  object_label: string | null;
  detail: string | null;
}

/** The audit entries of sign-ins since id `after`, oldest first. */
export function signInAudit(t: TestApp, after = 0): Promise<AuditRow[]> {
  return t.sql<AuditRow>("select action, actor_name, object_label, detail from audit_events where action like 'login.%' and id > $1 order by id", [after]);
}

export async function lastAuditId(t: TestApp): Promise<number> {
  const [row] = await t.sql<{ id: string | null }>('select max(id)::text as id from audit_events');
  return Number(row.id ?? 0);
}

/**
 * Identity providers with these keys, inserted directly: for tests whose imports name a
 * `Provider` (the import refuses a key no configured provider has).
 */
export async function configureProviders(t: TestApp, keys: string[]): Promise<void> {
  for (const key of keys) {
    await t.sql(`insert into identity_providers (key, label, kind, settings) values ($1, $1, 'oidc', '{}') on conflict (key) do nothing`, [key]);
  }
}
