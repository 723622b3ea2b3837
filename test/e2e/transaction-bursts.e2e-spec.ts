import request from 'supertest';
import type { Response } from 'supertest';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { ContactRow, createContact, userOfContact } from '../support/contacts-factories';
import { createOrganization, createUser, OrgRow, UserRow } from '../support/factories';
import { formIn } from '../support/forms';
import { textOf } from '../support/html';
import { Agent, login } from '../support/http';

type FormFields = Record<string, string | string[]>;

/** Parallel posts of one burst. */
const BURST = 20;
/**
 * Longer than the pool's 60 s acquire timeout, so that a frozen pool shows as the 500s and the
 * failed /health it causes rather than as a test timeout.
 */
const BURST_TIMEOUT = 150_000;

/**
 * Bursts of parallel posts on the transactional routes, on an app whose pool has ONE connection.
 *
 * Why one: a transaction that sends a statement to another pool connection waits for a second
 * connection while holding the first. With a single connection that wait can never end, so every
 * such request hangs until the pool's acquire timeout (KnexTimeoutError "pool is probably full",
 * after 60 s) and answers 500, and /health hangs with it — on every run, whatever the timing.
 * With N connections it takes N such transactions at the same moment, which is why bursts on a
 * larger pool froze the app only sometimes. When every statement of a transaction runs on its
 * own connection, the one connection simply serves the requests one after the other.
 *
 * Each burst submits the form the page rendered, checks that nobody got a 500, that the
 * database holds exactly what one winner (or every writer, where all may win) leaves, that the
 * losers got a clear answer, that /health answered 200 while the burst ran, and that no statement
 * strayed from its transaction's connection.
 */
describe('Bursts of parallel posts on a pool of one connection', () => {
  let t: TestApp;
  let admin: Agent;
  let A: OrgRow;

  beforeAll(async () => {
    t = await createTestApp({ poolMax: 1 });
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    A = await createOrganization(t, 'A');
    await t.transactions();
  });
  afterAll(async () => {
    await t.close();
  });

  /** The form of `page` with `action`, as rendered for the agent. */
  async function formOn(agent: Agent, page: string, action: string): Promise<FormFields> {
    const res = await agent.get(page);
    if (res.status !== 200) throw new Error(`GET ${page} answered ${res.status}`);
    return formIn(res.text, { action }, { url: page }).values();
  }

  /**
   * Fires `BURST` posts at once (fields per post), asks /health as they start and again when the
   * first of them has answered, and returns the answers once all are in.
   */
  async function burst(agent: Agent, action: string, fields: (i: number) => FormFields): Promise<Response[]> {
    const posts = Array.from({ length: BURST }, (_v, i) => agent.post(action).type('form').send(fields(i)).then((r) => r));
    const health = [request(t.http).get('/health').then((r) => r.status), Promise.race(posts).then(async () => (await request(t.http).get('/health')).status)];
    const answers = await Promise.all(posts);
    const statuses = answers.map((r) => r.status);
    expect({ health: await Promise.all(health), serverErrors: statuses.filter((s) => s >= 500) }).toEqual({ health: [200, 200], serverErrors: [] });
    const report = await t.transactions();
    expect(report.strays).toEqual([]);
    expect(report.transactions).toBeGreaterThanOrEqual(1);
    return answers;
  }

  function errorText(res: Response): string {
    return textOf(/<main\b[^>]*>([\s\S]*?)<\/main>/.exec(res.text)?.[1] ?? res.text);
  }

  it('Enable Access for one contact: one user, every other post told the contact already has one', async () => {
    const contact = await createContact(t, { first: 'Burst', last: 'Single', email: 'burst.single@example.org', org: A });
    const form = await formOn(admin, `/contacts/${contact.id}`, `/contacts/${contact.id}/enable-access`);
    const answers = await burst(admin, `/contacts/${contact.id}/enable-access`, () => form);

    const user = await userOfContact(t, contact.id);
    expect(user).toBeDefined();
    const [{ n }] = await t.sql<{ n: number }>('select count(*)::int as n from users u join contacts c on c.id = u.contact_id where c.id = $1', [contact.id]);
    expect(n).toBe(1);
    expect(answers.filter((r) => r.status === 303).map((r) => r.headers.location)).toEqual([`/users/${user!.id}`]);
    const refused = answers.filter((r) => r.status !== 303);
    expect(refused.map((r) => r.status)).toEqual(Array(BURST - 1).fill(409));
    for (const r of refused) expect(errorText(r)).toContain(`Burst Single already has a user account (${user!.username}).`);
    const audit = await t.sql(`select 1 from audit_events where action = 'user.created' and object_id = $1`, [String(user!.id)]);
    expect(audit).toHaveLength(1);
  }, BURST_TIMEOUT);

  it('bulk Enable Access for three contacts: one user each, every post answered', async () => {
    const contacts: ContactRow[] = [];
    for (const last of ['One', 'Two', 'Three']) contacts.push(await createContact(t, { first: 'Bulk', last, org: A }));
    const form = await formOn(admin, '/contacts', '/contacts/enable-access');
    const answers = await burst(admin, '/contacts/enable-access', () => ({ ...form, ids: contacts.map((c) => String(c.id)) }));

    expect(answers.map((r) => r.status)).toEqual(Array(BURST).fill(303));
    const [{ users, contactsWithUser }] = await t.sql<{ users: number; contactsWithUser: number }>(
      'select count(*)::int as users, count(distinct contact_id)::int as "contactsWithUser" from users where contact_id = any($1::int[])',
      [contacts.map((c) => c.id)],
    );
    expect({ users, contactsWithUser }).toEqual({ users: 3, contactsWithUser: 3 });
  }, BURST_TIMEOUT);

  it('editing one contact: every save applied in turn, each with its audit entry', async () => {
    const contact = await createContact(t, { first: 'Edit', last: 'Burst', org: A });
    const form = await formOn(admin, `/contacts/${contact.id}/edit`, `/contacts/${contact.id}`);
    const answers = await burst(admin, `/contacts/${contact.id}`, (i) => ({ ...form, jobTitle: `Title ${i}` }));

    expect(answers.map((r) => r.status)).toEqual(Array(BURST).fill(303));
    const [row] = await t.sql<{ job_title: string }>('select job_title from contacts where id = $1', [contact.id]);
    expect(row.job_title).toMatch(/^Title \d+$/);
    const audit = await t.sql(`select 1 from audit_events where action = 'contact.updated' and object_id = $1`, [String(contact.id)]);
    expect(audit).toHaveLength(BURST);
  }, BURST_TIMEOUT);

  it('creating the same sub-organization: one created, the others told the name is taken', async () => {
    const form = await formOn(admin, `/organizations/new?parent=${A.id}`, '/organizations');
    const answers = await burst(admin, '/organizations', () => ({ ...form, name: 'Burst Division' }));

    expect(answers.filter((r) => r.status === 303)).toHaveLength(1);
    expect(answers.filter((r) => r.status === 422)).toHaveLength(BURST - 1);
    for (const r of answers.filter((x) => x.status === 422)) expect(errorText(r)).toMatch(/already/i);
    const rows = await t.sql('select 1 from organizations where parent_id = $1 and name = $2', [A.id, 'Burst Division']);
    expect(rows).toHaveLength(1);
  }, BURST_TIMEOUT);

  it('adding the same member: one membership, every post answered', async () => {
    const B = await createOrganization(t, 'B');
    const someone: UserRow = await createUser(t, { username: 'burst_member', memberships: [{ org: A }] });
    const form = await formOn(admin, `/organizations/${B.id}/members/add`, `/organizations/${B.id}/members`);
    const answers = await burst(admin, `/organizations/${B.id}/members`, () => ({ ...form, userIds: String(someone.id) }));

    expect(answers.map((r) => r.status)).toEqual(Array(BURST).fill(303));
    const rows = await t.sql('select 1 from memberships where organization_id = $1 and user_id = $2', [B.id, someone.id]);
    expect(rows).toHaveLength(1);
  }, BURST_TIMEOUT);

  it('creating the same department: one created, the others told the name is taken', async () => {
    const form = await formOn(admin, '/settings/departments', '/settings/departments');
    const answers = await burst(admin, '/settings/departments', () => ({ ...form, name: 'Burst Logistics' }));

    expect(answers.filter((r) => r.status === 303)).toHaveLength(1);
    expect(answers.filter((r) => r.status === 422)).toHaveLength(BURST - 1);
    const rows = await t.sql('select 1 from departments where name = $1', ['Burst Logistics']);
    expect(rows).toHaveLength(1);
  }, BURST_TIMEOUT);

  it('saving Settings → Interface: every save applied, the default roles never doubled or lost', async () => {
    const form = await formOn(admin, '/settings/interface', '/settings/interface');
    const answers = await burst(admin, '/settings/interface', (i) => ({ ...form, usernameFormat: i % 2 ? '{f}{lastname}' : '{firstname}.{lastname}' }));

    expect(answers.map((r) => r.status)).toEqual(Array(BURST).fill(303));
    const roles = await t.sql<{ role_id: number }>('select role_id from client_settings_default_roles order by role_id');
    const submitted = ([] as string[]).concat(form.defaultRoleIds ?? []).map(Number).sort((a, b) => a - b);
    expect(roles.map((r) => r.role_id)).toEqual(submitted);
  }, BURST_TIMEOUT);

  it('Create User with one username: one user, the others told the username is taken', async () => {
    const form = await formOn(admin, `/users/new?org=${A.id}`, '/users');
    const password = 'Burst-pass-2026';
    const answers = await burst(admin, '/users', (i) => ({
      ...form,
      username: 'burst.user',
      firstName: 'Burst',
      lastName: 'User',
      email: `burst.user.${i}@example.org`,
      password,
      passwordConfirmation: password,
    }));

    expect(answers.filter((r) => r.status === 303)).toHaveLength(1);
    expect(answers.filter((r) => r.status === 422)).toHaveLength(BURST - 1);
    for (const r of answers.filter((x) => x.status === 422)) expect(errorText(r)).toMatch(/burst\.user is already taken|already/i);
    const rows = await t.sql<{ n: number }>(`select count(*)::int as n from users where lower(username) = 'burst.user'`);
    expect(rows[0].n).toBe(1);
    const orphans = await t.sql(`select 1 from contacts c where c.first_name = 'Burst' and c.last_name = 'User' and not exists (select 1 from users u where u.contact_id = c.id)`);
    expect(orphans).toEqual([]);
  }, BURST_TIMEOUT);

  it('editing one user: every save applied in turn', async () => {
    const someone = await createUser(t, { username: 'burst_edit', memberships: [{ org: A }] });
    const form = await formOn(admin, `/users/${someone.id}/edit`, `/users/${someone.id}`);
    // The factory's user has no name or e-mail yet, which the form requires.
    const answers = await burst(admin, `/users/${someone.id}`, (i) => ({ ...form, firstName: 'Burst', lastName: 'Edit', email: 'burst.edit@example.org', jobTitle: `Job ${i}` }));

    expect(answers.map((r) => r.status)).toEqual(Array(BURST).fill(303));
    const audit = await t.sql(`select 1 from audit_events where action = 'user.updated' and object_id = $1`, [String(someone.id)]);
    expect(audit).toHaveLength(BURST);
  }, BURST_TIMEOUT);
});
