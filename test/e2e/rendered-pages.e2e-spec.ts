import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'node-html-parser';
import request from 'supertest';
import { projectRoot } from '../../src/common/project-root';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createContact } from '../support/contacts-factories';
import { createOrganization, createUser, OrgRow } from '../support/factories';
import { formIn, openForm } from '../support/forms';
import { linkHref } from '../support/html';
import { Agent, login } from '../support/http';
import { SamlIdp } from '../support/saml-idp';
import { loginTo } from '../support/sessions';
import { importFile } from '../support/imports-factories';
import { userRow, workbook } from '../support/imports-files';
import { createLicence, createProperty, setPropertyValues } from '../support/users-factories';

/**
 * Every page as the application renders it from real data: no `<option>` without text, no
 * `{{…}}` left in the output, and every template of views/ rendered at least once. The user
 * forms are then submitted unchanged, as a person pressing Save would, and must change nothing.
 */
const viewsDir = join(projectRoot(), 'views');

/** Templates rendered as pages (layouts and partials are part of every page; the mail templates are compiled strictly by the mailer). */
function pageTemplates(dir = viewsDir): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? pageTemplates(join(dir, e.name)) : e.name.endsWith('.hbs') ? [relative(viewsDir, join(dir, e.name)).replace(/\.hbs$/, '')] : []))
    .filter((name) => !/^(layouts|partials)\//.test(name) && !/^mail\/credentials\./.test(name));
}

/** What is wrong with a rendered page, in words. */
function defectsOf(html: string): string[] {
  const found: string[] = [];
  const root = parse(html);
  for (const option of root.querySelectorAll('option')) {
    if (option.text.trim() === '') found.push(`an <option> without text in <select name="${option.closest('select')?.getAttribute('name')}">`);
  }
  for (const m of html.matchAll(/\{\{[^]{0,60}|[^]{0,60}\}\}/g)) found.push(`unresolved Handlebars: …${m[0]}…`);
  if (html.includes('[object Object]')) found.push('"[object Object]" in the page');
  return [...new Set(found)];
}

describe('rendered pages', () => {
  let t: TestApp;
  let admin: Agent;
  let A: OrgRow;
  let gender: number, languages: number, nickname: number, hobbies: number;
  let idp: SamlIdp;
  const rendered = new Set<string>();

  beforeAll(async () => {
    idp = await SamlIdp.start();
    idp.addUser({ login: 'sam', password: 'idp-pass', nameId: 'sam-1' });
    t = await createTestApp();
    // Which templates a request rendered, whichever controller did it.
    const express = t.app.getHttpAdapter().getInstance() as { render: (name: string, ...rest: unknown[]) => void };
    const render = express.render.bind(express);
    express.render = (name: string, ...rest: unknown[]) => {
      rendered.add(name);
      render(name, ...rest);
    };
    A = await createOrganization(t, 'Rendered A');
    const A1 = await createOrganization(t, 'Rendered A1', A);
    await t.sql(`insert into departments (name) values ('Sales'), ('Research')`);
    gender = await createProperty(t, 'Gender', { allowedValues: ['Female', 'Male', 'Diverse'], description: 'As stated by the person.' });
    languages = await createProperty(t, 'Languages', { allowedValues: ['German', 'English', 'French'], multiValued: true });
    nickname = await createProperty(t, 'Nickname');
    hobbies = await createProperty(t, 'Hobbies', { multiValued: true });
    await createLicence(t, 'Gold', 5);
    await t.sql(`insert into roles (name, description) values ('Reviewers', 'Reads everything')`);
    const ann = await createUser(t, { username: 'ann', fullName: 'Ann Example', email: 'ann@example.org', memberships: [{ org: A1, isAdmin: true }, { org: A }] });
    await t.sql(`update contacts set first_name = 'Ann', last_name = 'Example', department = 'Sales' where id = (select contact_id from users where id = $1)`, [ann.id]);
    await setPropertyValues(t, ann.id, gender, ['Female']);
    await setPropertyValues(t, ann.id, languages, ['German', 'French']);
    await setPropertyValues(t, ann.id, nickname, ['Annie']);
    await setPropertyValues(t, ann.id, hobbies, ['chess', 'rowing']);
    await createContact(t, { first: 'Carl', last: 'Contact', email: 'carl@example.org', org: A1 });
    await createContact(t, { kind: 'organization', full: 'Acme Ltd', org: A });
    // An identity provider (its pages, the Delete confirmation) and a user who signs in through it.
    await t.sql(`insert into identity_providers (key, label, kind, settings) values ('uni', 'University', 'saml', $1)`, [
      JSON.stringify({ metadataXml: idp.metadata, externalIdAttribute: 'NameID' }),
    ]);
    const sam = await createUser(t, { username: 'sam', password: null, provider: 'uni' });
    await t.sql(`update users set external_id = 'sam-1' where id = $1`, [sam.id]);
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    // An import with a refused row, so that the import page lists errors.
    await importFile(t, admin, await workbook([userRow(1), userRow(2, { Email: 'not an address' })]));
  });
  afterAll(async () => {
    await t?.close();
    await idp?.stop();
  });

  it('renders the Edit form of a user with every custom property showing its options and current values', async () => {
    const [ann] = await t.sql<{ id: number }>(`select id from users where username = 'ann'`);
    const form = await openForm(admin, `/users/${ann.id}/edit`, 'Save user');
    expect(form.optionsOf('Gender')).toEqual(['(none)', 'Female', 'Male', 'Diverse']);
    expect(form.valueOf('Gender')).toBe('Female');
    expect(form.optionsOf('Languages')).toEqual(['German', 'English', 'French']);
    expect(form.valueOf('Languages')).toEqual(['German', 'French']);
    expect(form.valueOf('Nickname')).toBe('Annie');
    expect(form.valueOf('Hobbies')).toBe('chess\nrowing');
    const create = await openForm(admin, '/users/new', 'Create User');
    expect(create.optionsOf('Gender')).toEqual(['(none)', 'Female', 'Male', 'Diverse']);
    expect(create.optionsOf('Languages')).toEqual(['German', 'English', 'French']);
  });

  it('saving the Edit form unchanged keeps every custom property and records no change', async () => {
    const [ann] = await t.sql<{ id: number }>(`select id from users where username = 'ann'`);
    const values = () => t.sql('select property_id, value from user_property_values where user_id = $1 order by property_id, value', [ann.id]);
    const before = await values();
    expect(before).toHaveLength(6);
    const form = await openForm(admin, `/users/${ann.id}/edit`, 'Save user');
    const res = await form.submit('Save user');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/users/${ann.id}`);
    expect(await values()).toEqual(before);
    expect(await t.sql(`select changes from audit_events where action = 'user.updated' and object_id = $1`, [String(ann.id)])).toEqual([]);
    // A change picked by option text is saved and is the only change recorded.
    const edit = await openForm(admin, `/users/${ann.id}/edit`, 'Save user');
    expect((await edit.select('Gender', 'Diverse').submit('Save user')).status).toBe(303);
    const [audit] = await t.sql<{ changes: Record<string, unknown> }>(`select changes from audit_events where action = 'user.updated' and object_id = $1`, [String(ann.id)]);
    expect(audit.changes).toEqual({ 'property: Gender': { from: 'Female', to: 'Diverse' } });
  });

  it('every page reachable from the start page renders without empty options or unresolved fields, and every template is rendered', async () => {
    const problems: string[] = [];
    const check = (url: string, status: number, type: string | undefined, html: string) => {
      if (status >= 500) problems.push(`${url}: status ${status}`);
      if (type?.startsWith('text/html')) for (const d of defectsOf(html)) problems.push(`${url}: ${d}`);
    };
    /** Follows every link (and redirect) from the start page, a few pages per route. */
    const crawl = async (agent: Agent, who: string) => {
      const visited = new Set<string>();
      const perRoute = new Map<string, number>();
      const queue = ['/'];
      while (queue.length > 0 && visited.size < 400) {
        const url = queue.shift()!;
        if (visited.has(url)) continue;
        visited.add(url);
        const res = await agent.get(url);
        check(`${who} ${url}`, res.status, res.headers['content-type'], res.text ?? '');
        if (res.status >= 300 && res.status < 400 && res.headers.location) queue.push(res.headers.location);
        if (!res.headers['content-type']?.startsWith('text/html')) continue;
        for (const a of parse(res.text).querySelectorAll('a[href]')) {
          const target = new URL(a.getAttribute('href')!, `http://tessera.test${url}`);
          if (target.host !== 'tessera.test' || target.pathname.startsWith('/public/')) continue;
          const next = target.pathname + target.search;
          // A few pages per route (ids and query values aside) are enough to see every template.
          const route = `${target.pathname.replace(/\/\d+/g, '/:id')}?${[...target.searchParams.keys()].sort().join('&')}`;
          if (visited.has(next) || (perRoute.get(route) ?? 0) >= 2) continue;
          perRoute.set(route, (perRoute.get(route) ?? 0) + 1);
          queue.push(next);
        }
      }
      return visited.size;
    };
    expect(await crawl(admin, 'Administrator')).toBeGreaterThan(50);
    // An organization administrator sees other variants of the same pages (a disabled Administrator box, scoped lists).
    await createUser(t, { username: 'una', roles: ['user_manager'], memberships: [{ org: A, isAdmin: true }] });
    expect(await crawl(await loginTo(t, 'una', 'Secret-pass-1', A), 'organization administrator')).toBeGreaterThan(10);

    // Pages no link of an Administrator leads to: signing in, choosing an organization, a missing page.
    const anonymous = request.agent(t.http);
    const loginPage = await anonymous.get('/login');
    check('/login', loginPage.status, loginPage.headers['content-type'], loginPage.text);
    const ann = await login(t.http, 'ann', 'Secret-pass-1');
    const chooser = await ann.get('/session/organization');
    check('/session/organization', chooser.status, chooser.headers['content-type'], chooser.text);
    const missing = await admin.get('/no-such-page');
    check('/no-such-page', missing.status, missing.headers['content-type'], missing.text);

    // Pages a button leads to: the confirmation of a bulk action on every matching user, and the
    // question whether a user who already received a password gets another one.
    const allMatching = await (await openForm(admin, '/users?q=ann', 'Disable')).check('Select all 1 user matching this filter').submit('Disable');
    check('POST /users/bulk/disable (all matching)', allMatching.status, allMatching.headers['content-type'], allMatching.text);
    await t.sql(`update users set password_send_status = 'sent', password_send_at = now() - interval '1 day' where username = 'ann'`);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 16);
    const resend = await (await openForm(admin, '/users?q=ann', 'Set password send date for selected users'))
      .check('Select ann')
      .fill('Password send date', tomorrow)
      .submit('Set password send date for selected users');
    check('POST /users/password-send-date (already sent)', resend.status, resend.headers['content-type'], resend.text);

    // The page after signing out of a session that came from an identity provider.
    const samAgent = request.agent(t.http);
    const toIdp = new URL((await samAgent.get(linkHref((await samAgent.get('/login')).text, 'Sign in with University'))).headers.location);
    const idpAgent = request.agent(idp.url);
    const idpLogin = formIn((await idpAgent.get(toIdp.pathname + toIdp.search)).text, 'Sign in', { agent: idpAgent, url: toIdp.pathname });
    const acs = formIn((await idpLogin.fill('Login', 'sam').fill('Password', 'idp-pass').submit('Sign in')).text, 'Continue');
    expect((await samAgent.post(acs.action).type('form').send(new URLSearchParams(acs.entries('Continue')).toString())).status).toBe(303);
    const signedOut = await (await openForm(samAgent, '/account', 'Sign out')).submit('Sign out');
    const signedOutPage = await samAgent.get(signedOut.headers.location);
    check('/sso/signed-out', signedOutPage.status, signedOutPage.headers['content-type'], signedOutPage.text);

    expect(problems).toEqual([]);
    expect(pageTemplates().filter((name) => !rendered.has(name))).toEqual([]);
  });
});
