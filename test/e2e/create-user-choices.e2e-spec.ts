import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createOrganization, createUser, OrgRow } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { formIn, openForm, RenderedForm } from '../support/forms';
import { textOf } from '../support/html';
import { Agent, login } from '../support/http';
import { createLicence, setLicence } from '../support/users-factories';

/**
 * Create User offers the organization, the user profile and the licence, with the defaults of
 * Settings → Interface (and the organization it was opened from) preselected, so that a full
 * default licence no longer blocks creating users.
 */
describe('Create User: organization, profile and licence', () => {
  let t: TestApp;
  let admin: Agent;
  let A: OrgRow, A1: OrgRow;
  let full: number;

  beforeAll(async () => {
    t = await createTestApp();
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    A = await createOrganization(t, 'Works');
    A1 = await createOrganization(t, 'Works North', A);
    full = await createLicence(t, 'Partner', 1);
    const holder = await createUser(t, { username: 'seat.holder' });
    await setLicence(t, holder.id, full);
    // The default licence is the full one.
    await t.sql('update client_settings set default_licence_id = $1', [full]);
  });
  afterAll(async () => {
    await t.close();
  });

  const form = async () => {
    const res = await admin.get(`/users/new?org=${A.id}`);
    expect(res.status).toBe(200);
    return res.text;
  };
  const selectedText = (html: string, id: string) => {
    const select = new RegExp(`<select id="${id}"[^>]*>([\\s\\S]*?)</select>`).exec(html)![1];
    return textOf(/<option [^>]*selected[^>]*>([\s\S]*?)<\/option>/.exec(select)?.[1] ?? '');
  };
  const person = { Username: 'pick.me', 'First name': 'Pick', 'Last name': 'Me', 'E-mail': 'pick.me@example.org', Password: 'Good-pass-1', 'Password (again)': 'Good-pass-1' };
  /** The Create User form opened from A, with the person's fields typed in. */
  const typedIn = async (typed: Record<string, string>): Promise<RenderedForm> => {
    const createUser = await openForm(admin, `/users/new?org=${A.id}`, 'Create User');
    for (const [label, value] of Object.entries(typed)) createUser.fill(label, value);
    return createUser;
  };

  it('preselects the organization it was opened from and the default profile and licence', async () => {
    const html = await form();
    expect(selectedText(html, 'field-organizationId')).toBe('Works');
    expect(selectedText(html, 'field-profileId')).toBe('Self-service');
    expect(selectedText(html, 'field-licenceId')).toBe('Partner — 1 of 1 seat used');
    const fields = new Map(formIn(html, 'Create User').entries('Create User'));
    expect(fields.get('organizationId')).toBe(String(A.id));
  });

  it('creates the user in the picked organization with the picked profile and licence', async () => {
    const res = await (await typedIn(person))
      .select('Organization', 'Works North')
      .select('User profile', 'Administrator')
      .select('Licence', 'Standard — 1 used (unlimited)')
      .submit('Create User');
    expect(res.status).toBe(303);
    const [user] = await t.sql<{ org: number; home: number; profile: string; licence: string }>(
      `select (select organization_id from memberships m where m.user_id = u.id) as org, c.organization_id as home,
              (select name from user_profiles where id = u.profile_id) as profile, (select name from licence_types where id = u.licence_id) as licence
         from users u join contacts c on c.id = u.contact_id where u.username = 'pick.me'`,
    );
    expect(user).toEqual({ org: A1.id, home: A1.id, profile: 'Administrator', licence: 'Standard' });
  });

  it('keeps the full default licence as a field error with everything typed, when the person leaves it', async () => {
    const before = await databaseFingerprint(t, { includeAudit: true });
    const res = await (await typedIn({ ...person, Username: 'left.default', 'E-mail': 'left@example.org' })).submit('Create User');
    expect(res.status).toBe(422);
    expect(textOf(/<p class="field-error" id="error-licenceId">([\s\S]*?)<\/p>/.exec(res.text)?.[1] ?? '')).toBe(
      'Licence "Partner" is full: 1 of 1 seat used. Choose another licence or free a seat.',
    );
    expect(selectedText(res.text, 'field-licenceId')).toBe('Partner — 1 of 1 seat used');
    expect(res.text).toContain('value="left.default"');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });
});
