import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { databaseFingerprint } from '../support/fingerprint';
import { Agent, login, postForm } from '../support/http';

/** Settings → Authentication, Password requirements and Mail (SPEC §2 "Client settings"). */
describe('password, authentication and mail settings', () => {
  let t: TestApp;
  let admin: Agent;
  beforeAll(async () => {
    t = await createTestApp({ env: { SCHEDULER: 'off' } });
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
  });
  afterAll(async () => {
    await t.close();
  });

  /** A forged post of `fields` with the token of the page at `path` (its form posts back to it). */
  const post = (path: string, fields: Record<string, string>) => postForm(admin, path, fields, path);
  const settings = async () => (await t.sql<Record<string, unknown>>('select * from client_settings'))[0];
  const valid = {
    minLength: '10',
    maxLength: '64',
    requireLetter: 'on',
    requireDigit: 'on',
    requireSymbol: 'on',
    mustChangeAtFirstLogin: 'on',
    initialValidityDays: '3',
    lockoutThreshold: '7',
    lockoutMinutes: '20',
  };

  it('shows the tabs and every password requirement with its default', async () => {
    const page = await admin.get('/settings/passwords');
    expect(page.status).toBe(200);
    for (const tab of ['/settings/portal', '/settings/authentication', '/settings/passwords', '/settings/mail']) expect(page.text).toContain(`href="${tab}"`);
    expect(page.text).toMatch(/name="minLength" type="number"\s+value="8"/);
    expect(page.text).toMatch(/name="maxLength" type="number"\s+value="32"/);
    expect(page.text).toMatch(/name="requireLetter" checked/);
    expect(page.text).toMatch(/name="requireUpper" >/);
    expect(page.text).toMatch(/name="initialValidityDays" type="number"\s+value="7"/);
    expect(page.text).toContain('Fill in the ASVS preset');
  });

  it('refuses lengths out of range or a maximum below the minimum with 422, keeping the typed values, changing nothing', async () => {
    const before = await databaseFingerprint(t, { includeAudit: true });
    let res = await post('/settings/passwords', { ...valid, minLength: '3' });
    expect(res.status).toBe(422);
    expect(res.text).toContain('Minimum length must be a whole number from 4 to 128.');
    res = await post('/settings/passwords', { ...valid, minLength: '20', maxLength: '12' });
    expect(res.status).toBe(422);
    expect(res.text).toContain('Maximum length must not be less than the minimum length.');
    expect(res.text).toMatch(/name="minLength" type="number"\s+value="20"/);
    res = await post('/settings/passwords', { ...valid, maxLength: '129', lockoutThreshold: 'x', initialValidityDays: '-1' });
    expect(res.status).toBe(422);
    expect(res.text).toContain('Maximum length must be a whole number from 4 to 128.');
    expect(res.text).toContain('Failed attempts before lock-out must be a whole number');
    expect(res.text).toContain('Validity of an initial password must be a whole number');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('fills in the ASVS preset without saving it', async () => {
    const before = await databaseFingerprint(t, { includeAudit: true });
    const res = await post('/settings/passwords', { ...valid, preset: 'asvs' });
    expect(res.status).toBe(200);
    expect(res.text).toContain('The ASVS preset is filled in');
    expect(res.text).toMatch(/name="minLength" type="number"\s+value="12"/);
    expect(res.text).toMatch(/name="maxLength" type="number"\s+value="128"/);
    expect(res.text).not.toMatch(/name="require\w+" checked/);
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('saves the password requirements and audits the changed fields by name', async () => {
    const res = await post('/settings/passwords', valid);
    expect(res.status).toBe(303);
    expect(await settings()).toMatchObject({
      password_min_length: 10,
      password_max_length: 64,
      password_require_symbol: true,
      password_require_upper: false,
      initial_password_validity_days: 3,
      lockout_threshold: 7,
      lockout_minutes: 20,
    });
    const [event] = await t.sql<{ changes: Record<string, unknown> }>(`select changes from audit_events where action = 'settings.updated' and object_label = 'Password requirements'`);
    expect(event.changes).toEqual({
      minLength: { from: 8, to: 10 },
      maxLength: { from: 32, to: 64 },
      requireSymbol: { from: false, to: true },
      initialValidityDays: { from: 7, to: 3 },
      lockoutThreshold: { from: 5, to: 7 },
      lockoutMinutes: { from: 15, to: 20 },
    });
    // The account page's password hint follows the same policy object.
    expect((await admin.get('/settings/passwords')).text).toContain('Use 10 to 64 characters');
  });

  it('shows PUBLIC_URL/login as the default login URL, validates and saves another', async () => {
    const page = await admin.get('/settings/authentication');
    expect(page.text).toContain('http://localhost:3000/login');
    let res = await post('/settings/authentication', { loginUrl: 'ftp://example.org/login' });
    expect(res.status).toBe(422);
    expect(res.text).toContain('Enter an http:// or https:// address');
    res = await post('/settings/authentication', { loginUrl: 'https://sso.example.org/tessera/login' });
    expect(res.status).toBe(303);
    expect((await settings()).login_url).toBe('https://sso.example.org/tessera/login');
    res = await post('/settings/authentication', { loginUrl: '' });
    expect((await settings()).login_url).toBeNull();
    const events = await t.sql(`select 1 from audit_events where object_label = 'Authentication'`);
    expect(events).toHaveLength(2);
  });

  it('validates the sender and the time zone against the IANA list and saves them', async () => {
    const page = await admin.get('/settings/mail');
    expect(page.text).toContain('<option value="Europe/Berlin"');
    let res = await post('/settings/mail', { mailSenderName: 'Acme IT', mailSenderAddress: 'not-an-address', timeZone: 'Mars/Olympus' });
    expect(res.status).toBe(422);
    expect(res.text).toContain('Enter an e-mail address like');
    expect(res.text).toContain('Choose a time zone from the list');
    res = await post('/settings/mail', { mailSenderName: 'Acme IT', mailSenderAddress: 'it@acme.example', timeZone: 'Europe/Berlin' });
    expect(res.status).toBe(303);
    expect(await settings()).toMatchObject({ mail_sender_name: 'Acme IT', mail_sender_address: 'it@acme.example', time_zone: 'Europe/Berlin' });
    const [event] = await t.sql<{ changes: unknown }>(`select changes from audit_events where object_label = 'Mail'`);
    expect(event.changes).toEqual({
      mailSenderName: { from: null, to: 'Acme IT' },
      mailSenderAddress: { from: null, to: 'it@acme.example' },
      timeZone: { from: 'UTC', to: 'Europe/Berlin' },
    });
  });
});
