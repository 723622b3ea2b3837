import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createContact, userOfContact } from '../support/contacts-factories';
import { createOrganization, createUser, globalOrganization, OrgRow } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { openForm } from '../support/forms';
import { textOf } from '../support/html';
import { Agent, login } from '../support/http';
import { createLicence, setLicence } from '../support/users-factories';

/**
 * A business refusal (a full licence, a user's last membership, an organization that is not
 * empty) never ends on a bare error page: the page the person pressed the button on comes back
 * with the reason at its top and status 409, or the form they filled in keeps what they typed.
 */
describe('refusals on the page the person was on', () => {
  let t: TestApp;
  let admin: Agent;
  let global: OrgRow;
  let full: number;

  beforeAll(async () => {
    t = await createTestApp();
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    global = await globalOrganization(t);
    full = await createLicence(t, 'Solo', 1);
    const holder = await createUser(t, { username: 'holder' });
    await setLicence(t, holder.id, full);
  });
  afterAll(async () => {
    await t.close();
  });

  /** The messages at the top of a page (role="alert"). */
  const alerts = (html: string) => [...html.matchAll(/<div class="(?:flash flash-error|error-summary)"[^>]*>([\s\S]*?)<\/div>/g)].map((m) => textOf(m[1]));
  const heading = (html: string) => textOf(/<h1>([\s\S]*?)<\/h1>/.exec(html)?.[1] ?? '');

  it('Enable on the user page: a full licence shows the user page again with the reason (409)', async () => {
    const waiting = await createUser(t, { username: 'waiting', enabled: false });
    await setLicence(t, waiting.id, full);
    const before = await databaseFingerprint(t, { includeAudit: true });
    const res = await (await openForm(admin, `/users/${waiting.id}`, 'Enable')).submit('Enable');
    expect(res.status).toBe(409);
    expect(heading(res.text)).toBe('User waiting');
    expect(alerts(res.text)).toEqual(['Licence "Solo" is full: 1 of 1 seat used.']);
    // The page works as before: its buttons and the licence pull-down are there.
    expect(res.text).toContain('>Save licence</button>');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('Save licence on the user page: a full licence shows the user page again with the reason (409)', async () => {
    const other = await createUser(t, { username: 'other' });
    const before = await databaseFingerprint(t, { includeAudit: true });
    const res = await (await openForm(admin, `/users/${other.id}`, 'Save licence')).select('Licence', 'Solo — 1 of 1 seat used').submit('Save licence');
    expect(res.status).toBe(409);
    expect(heading(res.text)).toBe('User other');
    expect(alerts(res.text)).toEqual(['Licence "Solo" is full: 1 of 1 seat used.']);
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('Create User: a full default licence keeps the form with everything typed and says why (422)', async () => {
    await t.sql('update client_settings set default_licence_id = $1', [full]);
    try {
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await (await openForm(admin, `/users/new?org=${global.id}`, 'Create User'))
        .fill('Username', 'typed.name')
        .fill('First name', 'Typed')
        .fill('Last name', 'Name')
        .fill('E-mail', 'typed@example.org')
        .fill('Password', 'Good-pass-1')
        .fill('Password (again)', 'Good-pass-1')
        .submit('Create User');
      expect(res.status).toBe(422);
      expect(heading(res.text)).toBe('Create User');
      expect(alerts(res.text)).toEqual(['There is a problem with this form Licence "Solo" is full: 1 of 1 seat used. Choose another licence or free a seat.']);
      expect(res.text).toContain('value="typed.name"');
      expect(res.text).toContain('value="typed@example.org"');
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    } finally {
      await t.sql(`update client_settings set default_licence_id = (select id from licence_types where built_in_key = 'standard')`);
    }
  });

  it('Enable Access: a full default licence shows the contact again with the reason (409)', async () => {
    await t.sql('update client_settings set default_licence_id = $1', [full]);
    try {
      const contact = await createContact(t, { first: 'Nora', last: 'Seat', email: 'nora@example.org', org: global });
      const before = await databaseFingerprint(t, { includeAudit: true });
      const res = await (await openForm(admin, `/contacts/${contact.id}`, 'Enable Access')).submit('Enable Access');
      expect(res.status).toBe(409);
      expect(heading(res.text)).toContain('Nora Seat');
      expect(alerts(res.text)).toEqual(['Licence "Solo" is full: 1 of 1 seat used.']);
      expect(res.text).toContain('>Enable Access</button>');
      expect(await userOfContact(t, contact.id)).toBeUndefined();
      expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    } finally {
      await t.sql(`update client_settings set default_licence_id = (select id from licence_types where built_in_key = 'standard')`);
    }
  });

  it("Remove from an organization: a user's last membership shows the organization page again with the reason (409)", async () => {
    const solo = await createOrganization(t, 'Solo team');
    await createUser(t, { username: 'onlyhere', memberships: [{ org: solo }] });
    const before = await databaseFingerprint(t, { includeAudit: true });
    const res = await (await openForm(admin, `/organizations/${solo.id}`, 'Remove onlyhere from Solo team')).submit('Remove onlyhere from Solo team');
    expect(res.status).toBe(409);
    expect(heading(res.text)).toBe('Solo team');
    expect(alerts(res.text)).toEqual([
      'onlyhere belongs to no other organization. Add them to another organization first: every user belongs to at least one.',
    ]);
    expect(res.text).toContain('Members of Solo team');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('Delete organization: a member added after the confirmation page shows that page again, listing what is inside (409)', async () => {
    const emptied = await createOrganization(t, 'Briefly empty');
    const confirm = await openForm(admin, `/organizations/${emptied.id}/delete`, 'Delete Briefly empty');
    await createUser(t, { username: 'latecomer', memberships: [{ org: emptied }] });
    const before = await databaseFingerprint(t, { includeAudit: true });
    const res = await confirm.submit('Delete Briefly empty');
    expect(res.status).toBe(409);
    expect(heading(res.text)).toBe('Delete Briefly empty');
    expect(alerts(res.text)).toEqual(['Briefly empty cannot be deleted: it still contains 1 member and 1 contact (their home organization).']);
    expect(textOf(res.text)).toContain('Briefly empty cannot be deleted while it still contains: 1 member 1 contact (their home organization) Move or remove them first.');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('Delete contact: a user linked after the confirmation page shows that page again, saying so (409)', async () => {
    const contact = await createContact(t, { first: 'Late', last: 'Link', email: 'late.link@example.org', org: global });
    const confirm = await openForm(admin, `/contacts/${contact.id}/delete`, 'Delete Late Link');
    await (await openForm(admin, `/contacts/${contact.id}`, 'Enable Access')).submit('Enable Access');
    const before = await databaseFingerprint(t, { includeAudit: true });
    const res = await confirm.submit('Delete Late Link');
    expect(res.status).toBe(409);
    expect(heading(res.text)).toBe('Delete Late Link');
    expect(alerts(res.text)).toHaveLength(1);
    expect(alerts(res.text)[0]).toMatch(/^Late Link has a user account/);
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });
});
