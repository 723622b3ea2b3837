import { TestApp } from '../support/app';
import { createUser } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { Agent, csrfToken, login } from '../support/http';
import { appWithAdmin } from '../support/sessions';

/** Client settings pages (SPEC §2 "Client settings"). */
describe('settings', () => {
  let t: TestApp;
  let admin: Agent;
  beforeAll(async () => ({ t, admin } = await appWithAdmin()));
  afterAll(() => t.close());

  const limit = async () => (await t.sql<{ v: boolean }>('select limit_member_visibility as v from client_settings'))[0].v;

  it('shows Limit Organization Members Visibility with its current value (default No)', async () => {
    const page = await admin.get('/settings/portal');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Limit Organization Members Visibility');
    expect(page.text).toMatch(/id="limit-no" name="limitMemberVisibility" value="no" checked/);
    expect(await limit()).toBe(false);
  });

  it('saves Yes, audits the change, and shows it', async () => {
    const token = await csrfToken(admin, '/settings/portal');
    const res = await admin.post('/settings/portal').type('form').send({ _csrf: token, limitMemberVisibility: 'yes' });
    expect(res.status).toBe(303);
    expect(await limit()).toBe(true);
    const page = await admin.get('/settings/portal');
    expect(page.text).toContain('Portal settings saved.');
    expect(page.text).toMatch(/id="limit-yes" name="limitMemberVisibility" value="yes" checked/);
    const [event] = await t.sql<{ changes: unknown }>(`select changes from audit_events where action = 'settings.updated'`);
    expect(event.changes).toEqual({ limitMemberVisibility: { from: false, to: true } });
  });

  it('refuses a value other than yes/no with 422 and changes nothing', async () => {
    const before = await databaseFingerprint(t, { includeAudit: true });
    const token = await csrfToken(admin, '/settings/portal');
    const res = await admin.post('/settings/portal').type('form').send({ _csrf: token, limitMemberVisibility: 'maybe' });
    expect(res.status).toBe(422);
    expect(res.text).toContain('Choose Yes or No.');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('is closed to sessions without "manage settings"', async () => {
    await createUser(t, { username: 'plain' });
    const plain = await login(t.http, 'plain', 'Secret-pass-1');
    expect((await plain.get('/settings/portal')).status).toBe(403);
    const token = await csrfToken(plain, '/account');
    const before = await databaseFingerprint(t, { includeAudit: true });
    expect((await plain.post('/settings/portal').type('form').send({ _csrf: token, limitMemberVisibility: 'no' })).status).toBe(403);
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });
});
