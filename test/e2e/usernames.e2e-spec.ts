import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createContact, userOfContact } from '../support/contacts-factories';
import { createUser, globalOrganization, OrgRow } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { openForm } from '../support/forms';
import { decodeEntities, textOf } from '../support/html';
import { Agent, login } from '../support/http';
import { importErrors, importFile } from '../support/imports-factories';
import { userRow, workbook } from '../support/imports-files';

/**
 * One username rule wherever a username is set (SPEC §4): it contains a letter or digit. Typed
 * names (Create User, Change username, import) that are only punctuation are refused; a format
 * that gives only punctuation for a contact (`{firstname}.{lastname}` for an organization
 * contact) falls back to the contact's name or e-mail, and the preview says so.
 */
describe('usernames', () => {
  let t: TestApp;
  let admin: Agent;
  let global: OrgRow;

  beforeAll(async () => {
    t = await createTestApp({ env: { IMPORT_POLL_SECONDS: '0' } });
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    global = await globalOrganization(t);
  });
  afterAll(async () => {
    await t.close();
  });

  const previewOf = (html: string, label: string) => {
    const m = new RegExp(`<dt>${label}</dt><dd>([\\s\\S]*?)</dd>`).exec(decodeEntities(html));
    return m ? textOf(m[1]) : null;
  };

  it('previews {firstname}.{lastname} for an organization contact as its name, saying why', async () => {
    const before = await databaseFingerprint(t, { includeAudit: true });
    const res = await (await openForm(admin, '/settings/interface', 'Preview')).fill('Username format', '{firstname}.{lastname}').submit('Preview');
    expect(res.status).toBe(200);
    expect(previewOf(res.text, 'Zoë Ångström, zoe.angstrom@example.org')).toBe('zoe.angstrom');
    expect(previewOf(res.text, 'Organization contact Nordwind Logistik GmbH, info@nordwind.example')).toBe(
      'nordwindlogistikgmbh The format gives no letter or digit for this contact, so its name is used instead.',
    );
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('Enable Access gives an organization contact its name, not "."', async () => {
    const saved = await (await openForm(admin, '/settings/interface', 'Save')).fill('Username format', '{firstname}.{lastname}').submit('Save');
    expect(saved.status).toBe(303);
    const supplier = await createContact(t, { kind: 'organization', full: 'Acme Supplies Ltd', email: 'orders@acme.example', org: global });
    const res = await (await openForm(admin, `/contacts/${supplier.id}`, 'Enable Access')).submit('Enable Access');
    expect(res.status).toBe(303);
    expect((await userOfContact(t, supplier.id))?.username).toBe('acmesuppliesltd');
    // A person still gets the format's result.
    const person = await createContact(t, { first: 'Ada', last: 'Byron', org: global });
    expect((await (await openForm(admin, `/contacts/${person.id}`, 'Enable Access')).submit('Enable Access')).status).toBe(303);
    expect((await userOfContact(t, person.id))?.username).toBe('ada.byron');
  });

  it.each(['..', '-', '._@'])('Change username refuses %p with 422 and keeps the old name', async (junk) => {
    const user = await createUser(t, { username: `keep${junk.length}${junk.charCodeAt(0)}` });
    const before = await databaseFingerprint(t, { includeAudit: true });
    const res = await (await openForm(admin, `/users/${user.id}/credentials`, 'Change username')).fill('Username', junk).submit('Change username');
    expect(res.status).toBe(422);
    expect(res.text).toContain('A username must contain at least one letter or digit.');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('Create User refuses a username of punctuation only', async () => {
    const before = await databaseFingerprint(t, { includeAudit: true });
    const res = await (await openForm(admin, `/users/new?org=${global.id}`, 'Create User'))
      .fill('Username', '-')
      .fill('First name', 'Dash')
      .fill('Last name', 'Only')
      .fill('E-mail', 'dash@example.org')
      .fill('Password', 'Good-pass-1')
      .fill('Password (again)', 'Good-pass-1')
      .submit('Create User');
    expect(res.status).toBe(422);
    expect(res.text).toContain('A username must contain at least one letter or digit.');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('an import refuses a UserName of punctuation only, naming the row', async () => {
    const { job } = await importFile(t, admin, await workbook([userRow(1), userRow(2, { UserName: '..' })]));
    expect(job.status).toBe('failed');
    expect(await importErrors(t, job.id)).toEqual([{ row_number: 3, column_name: 'UserName', value: '..', message: 'A username must contain at least one letter or digit.' }]);
    expect(await t.sql(`select 1 from users where username in ('imp1', '..')`)).toEqual([]);
  });
});
