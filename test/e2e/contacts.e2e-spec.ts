import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createContact, createDepartment } from '../support/contacts-factories';
import { createOrganization, createUser, OrgRow } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { columnValues, currentInTree, dataTable, decodeEntities, nextPageLink, textOf, treeLinkHref, treeLinks, treePanel } from '../support/html';
import { formIn, formOf, openForm } from '../support/forms';
import { Agent, login, postForm } from '../support/http';
import { loginTo } from '../support/sessions';
import { buildWorld } from '../support/world';

/** Contacts (SPEC §2 "Contacts", §3, §4 "Contacts"): CRUD, validation, list, scope, delete rules. */
describe('contacts', () => {
  let t: TestApp;
  let admin: Agent;
  let global: OrgRow, A: OrgRow, A1: OrgRow, A11: OrgRow, B: OrgRow;
  let orgAdmin: Agent;

  beforeAll(async () => {
    t = await createTestApp();
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    ({ global, A, A1, A11, B } = (await buildWorld(t, { admins: { A1: { username: 'oa_manager', roles: ['user_manager'] } } })).org);
    orgAdmin = await loginTo(t, 'oa_manager', 'Secret-pass-1', A1);
  });
  afterAll(async () => {
    await t.close();
  });

  /** A made-up person form, for forged requests only (what the pages do not offer). */
  function personFields(overrides: Record<string, string> = {}): Record<string, string> {
    return {
      kind: 'person',
      firstName: '',
      lastName: '',
      fullName: '',
      email: '',
      mobile: '',
      department: '',
      jobTitle: '',
      employerId: '',
      organizationId: String(A1.id),
      ...overrides,
    };
  }

  const contactRow = async (id: number) =>
    (
      await t.sql<Record<string, unknown>>(
        'select kind, first_name, last_name, full_name, email, mobile, phone, department, job_title, employer_id, organization_id from contacts where id = $1',
        [id],
      )
    )[0];

  it('creates a person with a derived full name, department, employer and home organization, and audits it', async () => {
    await createDepartment(t, 'Purchasing');
    const supplier = await createContact(t, { kind: 'organization', full: 'Acme Supplies', org: A1 });
    const form = await admin.get(`/contacts/new?kind=person&org=${A11.id}`);
    expect(form.status).toBe(200);
    expect(form.text).toContain('<option value="Purchasing"');
    expect(form.text).toContain('>(none)</option>');
    expect(form.text).toMatch(new RegExp(`<option value="${supplier.id}"[^>]*>Acme Supplies</option>`));
    expect(form.text).toMatch(new RegExp(`<option value="${A11.id}" selected>`));

    const res = await formOf(admin, form.text, 'Save', `/contacts/new?kind=person&org=${A11.id}`)
      .fill('First name', 'Jane')
      .fill('Last name', 'Doe')
      .fill('E-mail', 'jane.doe@example.org')
      .fill('Mobile', '+41 79 123 45 67')
      .select('Department', 'Purchasing')
      .fill('Job title', 'Buyer')
      .select('Employer', 'Acme Supplies')
      .submit('Save');
    expect(res.status).toBe(303);
    const [{ id }] = await t.sql<{ id: number }>(`select id from contacts where email = 'jane.doe@example.org'`);
    expect(res.headers.location).toBe(`/contacts/${id}`);
    expect(await contactRow(id)).toEqual({
      kind: 'person',
      first_name: 'Jane',
      last_name: 'Doe',
      full_name: 'Jane Doe',
      email: 'jane.doe@example.org',
      mobile: '+41 79 123 45 67',
      phone: null,
      department: 'Purchasing',
      job_title: 'Buyer',
      employer_id: supplier.id,
      organization_id: A11.id,
    });
    const page = await admin.get(res.headers.location);
    expect(page.text).toContain('Person Jane Doe created.');
    expect(page.text).toContain(`<a href="/contacts/${supplier.id}">Acme Supplies</a>`);
    const [audit] = await t.sql<{ changes: Record<string, { from: unknown; to: unknown }> }>(
      `select changes from audit_events where action = 'contact.created' and object_type = 'contact' and object_id = $1`,
      [String(id)],
    );
    expect(audit.changes.fullName).toEqual({ from: null, to: 'Jane Doe' });
    expect(audit.changes.employer).toEqual({ from: null, to: 'Acme Supplies' });
    expect(audit.changes.organization).toEqual({ from: null, to: 'A11' });
  });

  it('keeps a typed full name and creates an organization contact, which the UI calls "Organization contact"', async () => {
    const typed = await (await openForm(admin, '/contacts/new?kind=person', 'Save'))
      .fill('First name', 'Robert')
      .fill('Last name', 'Miller')
      .fill('Full name', 'Bob Miller')
      .select('Home organization', '— — A1')
      .submit('Save');
    expect(typed.status).toBe(303);
    expect((await t.sql(`select full_name from contacts where first_name = 'Robert'`))[0]).toEqual({ full_name: 'Bob Miller' });

    const form = await admin.get('/contacts/new?kind=organization');
    expect(form.text).toContain('<h1>New organization contact</h1>');
    expect(form.text).not.toContain('name="firstName"');
    const res = await formOf(admin, form.text, 'Save', '/contacts/new?kind=organization')
      .fill('Name', 'Nordwind GmbH')
      .fill('E-mail', 'info@nordwind.example')
      .fill('Phone', '+49 30 1234')
      .select('Home organization', '— — A1')
      .submit('Save');
    expect(res.status).toBe(303);
    const page = await admin.get(res.headers.location);
    expect(page.text).toContain('Organization contact Nordwind GmbH created.');
    expect(page.text).toContain('Organization contact');
  });

  it('refuses invalid forms with 422, field messages and the typed values, changing nothing', async () => {
    const person = await createContact(t, { first: 'Emp', last: 'Loyee', org: A1 });
    const before = await databaseFingerprint(t, { includeAudit: true });
    const personForm = async () => (await openForm(admin, '/contacts/new?kind=person', 'Save')).select('Home organization', '— — A1');
    const blank = await (await personForm()).fill('E-mail', 'not-an-address').fill('Job title', 'kept title').submit('Save');
    expect(blank.status).toBe(422);
    expect(blank.text).toContain('Enter a first name, a last name or a full name.');
    expect(blank.text).toContain('Enter an e-mail address like name@example.org.');
    expect(blank.text).toContain('value="kept title"');
    expect(blank.text).toContain('value="not-an-address"');

    // A department or employer the form does not offer can only be forged.
    const department = await (await personForm()).fill('Last name', 'Smith').forge('department', 'No such department').fill('Mobile', 'call me').submit('Save');
    expect(department.status).toBe(422);
    expect(department.text).toContain('Choose a department from the list.');
    expect(department.text).toContain('Enter a mobile number of digits');

    const nameless = await (await openForm(admin, '/contacts/new?kind=organization', 'Save')).fill('Name', ' ').select('Home organization', '— — A1').submit('Save');
    expect(nameless.status).toBe(422);
    expect(nameless.text).toContain('Enter the name of the organization contact.');

    const notAnOrganization = await (await personForm()).fill('Last name', 'X').forge('employerId', String(person.id)).submit('Save');
    expect(notAnOrganization.status).toBe(422);
    expect(notAnOrganization.text).toContain('Choose an organization contact as the employer.');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('edits a contact: the derived full name follows the names, and the audit holds only the changed fields', async () => {
    const c = await createContact(t, { first: 'Anna', last: 'Berg', email: 'anna@example.org', org: A1 });
    const form = await admin.get(`/contacts/${c.id}/edit`);
    expect(form.status).toBe(200);
    expect(form.text).toMatch(/id="field-fullName" name="fullName" type="text"\s+value=""/);
    const res = await formOf(admin, form.text, 'Save', `/contacts/${c.id}/edit`).fill('First name', 'Anne').submit('Save');
    expect(res.status).toBe(303);
    expect((await contactRow(c.id)).full_name).toBe('Anne Berg');
    const [audit] = await t.sql<{ changes: Record<string, unknown> }>(`select changes from audit_events where action = 'contact.updated' and object_id = $1`, [String(c.id)]);
    expect(audit.changes).toEqual({ firstName: { from: 'Anna', to: 'Anne' }, fullName: { from: 'Anna Berg', to: 'Anne Berg' } });
  });

  it("refuses an e-mail address another user already has, on the contact's form", async () => {
    await createUser(t, { username: 'taken', email: 'taken@example.org', memberships: [{ org: A1 }] });
    const other = await createUser(t, { username: 'other', email: 'other@example.org', fullName: 'Other Person', memberships: [{ org: A1 }] });
    const [{ contact_id }] = await t.sql<{ contact_id: number }>('select contact_id from users where id = $1', [other.id]);
    const before = await databaseFingerprint(t, { includeAudit: true });
    const res = await (await openForm(admin, `/contacts/${contact_id}/edit`, 'Save')).fill('E-mail', 'TAKEN@example.org').submit('Save');
    expect(res.status).toBe(422);
    expect(decodeEntities(res.text)).toContain('The e-mail address TAKEN@example.org is already used by the user taken.');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);

    // The user's copy follows the contact's e-mail.
    const ok = await (await openForm(admin, `/contacts/${contact_id}/edit`, 'Save')).fill('E-mail', 'new-other@example.org').submit('Save');
    expect(ok.status).toBe(303);
    expect((await t.sql('select email from users where id = $1', [other.id]))[0]).toEqual({ email: 'new-other@example.org' });
  });

  describe('the list', () => {
    let L: OrgRow, L1: OrgRow;
    beforeAll(async () => {
      L = await createOrganization(t, 'Listing');
      L1 = await createOrganization(t, 'Listing sub', L);
      await createContact(t, { first: 'Zed', last: 'Last', email: 'a-first@list.example', org: L });
      await createContact(t, { first: 'Alpha', last: 'One', email: 'm-middle@list.example', org: L1 });
      await createContact(t, { first: 'Mid', last: 'Dle', email: null, org: L });
      await createContact(t, { kind: 'organization', full: 'Beta Company', email: 'z-last@list.example', org: L1 });
      await createContact(t, { first: 'Percent', last: '100%', email: 'p@list.example', org: L });
    });

    async function allNames(path: string): Promise<string[]> {
      const names: string[] = [];
      let next: string | null = path;
      while (next) {
        const res = await admin.get(next);
        expect(res.status).toBe(200);
        names.push(...columnValues(res.text, 'Name'));
        next = nextPageLink(res.text);
      }
      return names;
    }

    it('pages by name through keyset links, filtered by home organization (with its sub-organizations)', async () => {
      const names = await allNames(`/contacts?org=${L.id}&size=2`);
      expect(names).toEqual(['Alpha One', 'Beta Company', 'Mid Dle', 'Percent 100%', 'Zed Last']);
      expect(await allNames(`/contacts?org=${L1.id}&size=2`)).toEqual(['Alpha One', 'Beta Company']);
    });

    it('sorts by e-mail (contacts without one last) and by organization', async () => {
      expect(await allNames(`/contacts?org=${L.id}&sort=email&size=2`)).toEqual(['Zed Last', 'Alpha One', 'Percent 100%', 'Beta Company', 'Mid Dle']);
      expect(await allNames(`/contacts?org=${L.id}&sort=organization&size=3`)).toEqual(['Mid Dle', 'Percent 100%', 'Zed Last', 'Alpha One', 'Beta Company']);
    });

    it('searches name and e-mail (wildcards are literal) and filters by kind', async () => {
      expect(await allNames(`/contacts?org=${L.id}&q=MIDDLE`)).toEqual(['Alpha One']);
      expect(await allNames(`/contacts?org=${L.id}&q=d%20dl`)).toEqual(['Mid Dle']);
      expect(await allNames(`/contacts?org=${L.id}&q=%25`)).toEqual(['Percent 100%']);
      expect(await allNames(`/contacts?org=${L.id}&kind=organization`)).toEqual(['Beta Company']);
      const page = await admin.get(`/contacts?org=${L.id}&kind=organization`);
      expect(columnValues(page.text, 'Kind')).toEqual(['Organization contact']);
      const none = await admin.get(`/contacts?org=${L.id}&q=nothing-matches`);
      expect(none.text).toContain('No contacts match.');
    });

    it('filters by home organization and below through the tree panel, keeping search, kind and sort and starting at page 1', async () => {
      const first = await admin.get('/contacts?q=list.example&sort=email&size=1');
      expect(first.status).toBe(200);
      // The tree replaces the organization pull-down: nothing named org is sent until one is chosen.
      expect(first.text).not.toContain('id="contact-org"');
      expect(Object.keys(formIn(first.text, 'Search').values())).not.toContain('org');
      expect(textOf(formIn(first.text, 'Search').html)).toContain('any (choose in the tree)');
      const second = await admin.get(nextPageLink(first.text)!);
      const chosenPath = treeLinkHref(second.text, 'Listing');
      expect(chosenPath).not.toContain('after=');
      const chosen = await admin.get(chosenPath);
      expect(chosen.status).toBe(200);
      expect(currentInTree(chosen.text)).toBe('Listing');
      // Sorted by e-mail, one a page, from the first: the search and the sort are kept.
      expect(columnValues(chosen.text, 'Name')).toEqual(['Zed Last']);
      expect(await allNames(chosenPath)).toEqual(['Zed Last', 'Alpha One', 'Percent 100%', 'Beta Company']);
      // The search form shows the choice and sends it along.
      const form = formIn(chosen.text, 'Search');
      expect(form.values().org).toBe(String(L.id));
      expect(textOf(chosen.text)).toContain('Home organization (and below) Listing (choose in the tree)');
      const organizations = await formOf(admin, chosen.text, 'Search', chosenPath).select('Kind', 'Organization contact').submit('Search');
      expect(columnValues(organizations.text, 'Name')).toEqual(['Beta Company']);
      expect(currentInTree(organizations.text)).toBe('Listing');

      // A sub-organization's link keeps the kind chosen meanwhile; "All organizations" clears the choice.
      const sub = await admin.get(treeLinkHref(organizations.text, 'Listing sub'));
      expect(columnValues(sub.text, 'Name')).toEqual(['Beta Company']);
      const all = await admin.get(treeLinkHref(sub.text, 'All organizations'));
      expect(currentInTree(all.text)).toBe('All organizations');
      expect(Object.keys(formIn(all.text, 'Search').values())).not.toContain('org');
      expect(columnValues(all.text, 'Kind').every((k) => k === 'Organization contact')).toBe(true);
      expect(columnValues(all.text, 'Name')).toContain('Beta Company');
    });

    it('shows whether a contact has a user, with Open User for sessions that may manage users', async () => {
      const user = await createUser(t, { username: 'listed_user', fullName: 'Listed User', memberships: [{ org: L }] });
      const page = await admin.get(`/contacts?org=${L.id}&q=Listed`);
      const table = dataTable(page.text);
      expect(table.rows[0][table.headers.indexOf('User')]).toBe('listed_user Open User');
      expect(table.rawRows[0]).toContain(`href="/users/${user.id}"`);
      expect(page.text).toContain('Enable Access for selected contacts');
    });
  });

  describe('scope of an organization administrator of A1', () => {
    let inside: { id: number }, below: { id: number }, outside: { id: number };
    beforeAll(async () => {
      inside = await createContact(t, { first: 'In', last: 'Side', email: 'in@scope.example', org: A1 });
      below = await createContact(t, { first: 'Be', last: 'Low', email: 'below@scope.example', org: A11 });
      outside = await createContact(t, { first: 'Out', last: 'Side', email: 'out@scope.example', org: B });
    });

    it('lists only contacts of A1 and below, and offers only organizations in scope', async () => {
      const res = await orgAdmin.get('/contacts?q=scope.example');
      expect(res.status).toBe(200);
      expect(columnValues(res.text, 'Name')).toEqual(['Be Low', 'In Side']);
      expect(res.text).not.toContain(`<option value="${B.id}"`);
      expect(res.text).not.toContain(`<option value="${global.id}"`);
      expect((await orgAdmin.get(`/contacts?org=${B.id}`)).status).toBe(404);
      // The tree panel holds A1's subtree only, and no other organization's name.
      expect(treeLinks(res.text)).toEqual(['0:All of A1', '0:A1', '1:A11']);
      expect(textOf(treePanel(res.text))).not.toMatch(/\bB\b|\bGlobal\b/);
      expect(res.text).not.toContain(`org=${B.id}`);
      const chosen = await orgAdmin.get(treeLinkHref(res.text, 'A11'));
      expect(columnValues(chosen.text, 'Name')).toEqual(['Be Low']);
      expect(currentInTree(chosen.text)).toBe('A11');
      expect((await orgAdmin.get(`/contacts/${below.id}`)).status).toBe(200);
      expect((await orgAdmin.get(`/contacts/${inside.id}/edit`)).status).toBe(200);
    });

    it('gets 404 for a contact in B and for forged forms aimed at B, and nothing changes', async () => {
      const before = await databaseFingerprint(t, { includeAudit: true });
      expect((await orgAdmin.get(`/contacts/${outside.id}`)).status).toBe(404);
      expect((await orgAdmin.get(`/contacts/${outside.id}/edit`)).status).toBe(404);
      expect((await orgAdmin.get(`/contacts/${outside.id}/delete`)).status).toBe(404);
      expect((await postForm(orgAdmin, `/contacts/${outside.id}`, personFields({ firstName: 'Hacked', organizationId: String(A1.id) }))).status).toBe(404);
      expect((await postForm(orgAdmin, `/contacts/${outside.id}/delete`, {})).status).toBe(404);
      expect((await postForm(orgAdmin, `/contacts/${outside.id}/enable-access`, {})).status).toBe(404);
      // Creating in B, or moving an own contact to B: the organization does not exist for this session.
      expect((await postForm(orgAdmin, '/contacts', personFields({ lastName: 'Forged', organizationId: String(B.id) }))).status).toBe(404);
      expect((await postForm(orgAdmin, `/contacts/${inside.id}`, personFields({ firstName: 'In', lastName: 'Side', email: 'in@scope.example', organizationId: String(B.id) }))).status).toBe(404);
      expect((await orgAdmin.get(`/contacts/new?org=${B.id}`)).status).toBe(404);
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it('keeps an employer outside the scope when an in-scope person is edited, but refuses picking one', async () => {
      const foreign = await createContact(t, { kind: 'organization', full: 'Foreign Corp', org: B });
      const person = await createContact(t, { first: 'Kept', last: 'Employer', employerId: foreign.id, org: A11 });
      const form = await orgAdmin.get(`/contacts/${person.id}/edit`);
      expect(form.text).toContain(`<option value="${foreign.id}" selected>Foreign Corp</option>`);
      const saved = await formOf(orgAdmin, form.text, 'Save', `/contacts/${person.id}/edit`).fill('Job title', 'Agent').submit('Save');
      expect(saved.status).toBe(303);
      expect(await contactRow(person.id)).toMatchObject({ employer_id: foreign.id, job_title: 'Agent' });
      const page = await orgAdmin.get(`/contacts/${person.id}`);
      expect(page.text).toContain('<dd>Foreign Corp</dd>');
      expect(page.text).not.toContain(`href="/contacts/${foreign.id}"`);

      const before = await databaseFingerprint(t, { includeAudit: true });
      const forged = await postForm(orgAdmin, '/contacts', personFields({ lastName: 'Forged', employerId: String(foreign.id) }));
      expect(forged.status).toBe(404);
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it('refuses sessions without contact permissions (403), and the menu shows Contacts only to those who may see them', async () => {
      await createUser(t, { username: 'oa_plain', roles: ['member'], memberships: [{ org: A1, isAdmin: true }] });
      const plain = await loginTo(t, 'oa_plain', 'Secret-pass-1', A1);
      expect((await plain.get('/contacts')).status).toBe(403);
      expect((await plain.get(`/contacts/${inside.id}`)).status).toBe(403);
      expect((await plain.get('/account')).text).not.toContain('href="/contacts"');
      expect((await orgAdmin.get('/account')).text).toContain('href="/contacts"');
    });

    it('shows Enable Access only to sessions that may manage users: a contacts-only manager sees neither button', async () => {
      await t.sql(`insert into roles (name, permissions) values ('Contacts only', '{manage_contacts}')`);
      await createUser(t, { username: 'contacts_only', roles: ['Contacts only'], memberships: [{ org: A1, isAdmin: true }] });
      const contactsOnly = await loginTo(t, 'contacts_only', 'Secret-pass-1', A1);
      const page = await contactsOnly.get(`/contacts/${inside.id}`);
      expect(page.status).toBe(200);
      expect(page.text).toContain('>Edit</a>');
      expect(page.text).not.toContain('Enable Access');
      const list = await contactsOnly.get('/contacts');
      expect(list.text).not.toContain('Enable Access for selected contacts');
      const before = await databaseFingerprint(t, { includeAudit: true });
      expect((await postForm(contactsOnly, `/contacts/${inside.id}/enable-access`, {})).status).toBe(403);
      expect((await postForm(contactsOnly, '/contacts/enable-access', { ids: [String(inside.id)] })).status).toBe(403);
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);

      const managerPage = await orgAdmin.get(`/contacts/${inside.id}`);
      expect(managerPage.text).toContain(`action="/contacts/${inside.id}/enable-access"`);
    });
  });

  describe('delete', () => {
    it('is refused while a user is linked, on the confirmation page and on POST', async () => {
      const user = await createUser(t, { username: 'jsmith', fullName: 'John Smith', memberships: [{ org: A1 }] });
      const [{ contact_id }] = await t.sql<{ contact_id: number }>('select contact_id from users where id = $1', [user.id]);
      const confirm = await admin.get(`/contacts/${contact_id}/delete`);
      expect(confirm.status).toBe(200);
      expect(textOf(confirm.text)).toContain('John Smith has a user account (jsmith); delete the user first.');
      expect(confirm.text).not.toContain(`action="/contacts/${contact_id}/delete"`);
      const page = await admin.get(`/contacts/${contact_id}`);
      expect(page.text).toContain(`<a class="button" href="/users/${user.id}">Open User</a>`);
      expect(page.text).not.toContain('enable-access');

      const before = await databaseFingerprint(t, { includeAudit: true });
      // The confirmation page offers no Delete button: a forged request.
      const res = await postForm(admin, `/contacts/${contact_id}/delete`, {});
      expect(res.status).toBe(409);
      expect(textOf(res.text)).toContain('John Smith has a user account (jsmith); delete the user first.');
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    });

    it("deletes an employer after saying that its people's employer is cleared, and audits it", async () => {
      const company = await createContact(t, { kind: 'organization', full: 'Gone Ltd', org: A11 });
      const worker = await createContact(t, { first: 'Wo', last: 'Rker', employerId: company.id, org: A11 });
      const confirm = await orgAdmin.get(`/contacts/${company.id}/delete`);
      expect(confirm.status).toBe(200);
      expect(textOf(confirm.text)).toContain('1 person names Gone Ltd as their employer; their employer will be cleared.');
      const res = await formOf(orgAdmin, confirm.text, 'Delete Gone Ltd', `/contacts/${company.id}/delete`).submit('Delete Gone Ltd');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/contacts');
      expect(await t.sql('select 1 from contacts where id = $1', [company.id])).toEqual([]);
      expect((await contactRow(worker.id)).employer_id).toBeNull();
      const [audit] = await t.sql<{ actor_name: string; changes: Record<string, unknown> }>(
        `select actor_name, changes from audit_events where action = 'contact.deleted' and object_id = $1`,
        [String(company.id)],
      );
      expect(audit.actor_name).toBe('oa_manager');
      expect(audit.changes.name).toEqual({ from: 'Gone Ltd', to: null });
    });
  });

  describe('at 200 organizations', () => {
    it('shows a collapsed tree, not a pull-down of every organization, and still filters through it', async () => {
      const big = await createOrganization(t, 'Big');
      await t.sql(`insert into organizations (name, parent_id) select 'Dept ' || g, $1::int from generate_series(1, 20) g`, [big.id]);
      await t.sql(`insert into organizations (name, parent_id) select p.name || '-' || g, p.id from organizations p cross join generate_series(1, 9) g where p.parent_id = $1`, [big.id]);
      const [{ n }] = await t.sql<{ n: number }>('select count(*)::int as n from organizations');
      expect(n).toBeGreaterThan(200);
      const [dept7] = await t.sql<{ id: number }>(`select id from organizations where name = 'Dept 7-3'`);
      await createContact(t, { first: 'Deep', last: 'Down', email: 'deep@big.example', org: { id: dept7.id } as OrgRow });

      const list = await admin.get('/contacts');
      expect(list.status).toBe(200);
      expect((list.text.match(/<option\b/g) ?? []).length).toBeLessThan(10);
      expect(textOf(list.text)).toContain(`${n} organizations: the tree shows the branch of the one you chose.`);
      // Global and its children only.
      expect(treeLinks(list.text).length).toBeLessThan(12);
      expect(treeLinks(list.text)).not.toContain('2:Dept 7');

      const bigPage = await admin.get(treeLinkHref(list.text, 'Big'));
      const dept = await admin.get(treeLinkHref(bigPage.text, 'Dept 7'));
      const leaf = await admin.get(treeLinkHref(dept.text, 'Dept 7-3'));
      expect(currentInTree(leaf.text)).toBe('Dept 7-3');
      expect(columnValues(leaf.text, 'Name')).toEqual(['Deep Down']);
      expect(treeLinks(leaf.text)).not.toContain('3:Dept 6-1');
      expect(leaf.text.length).toBeLessThan(30_000);
    });
  });
});
