import { formatInZone } from '../../src/credentials/credential-mail';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { credentialParts, jobOf, sendColumns } from '../support/credentials-factories';
import { createUser } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { columnValues, dataTable } from '../support/html';
import { Agent, login } from '../support/http';
import { formOf, openForm, RenderedForm } from '../support/forms';
import { SmtpSink } from '../support/smtp-sink';

const MINUTE = 60_000;
const ZONE = 'Europe/Berlin';
const SET = 'Set password send date for selected users';
const NOW = 'Email new password now';
/** How the pages show a date: "01 Dec 2026, 23:30 Europe/Berlin". */
const shown = (date: Date) =>
  `${new Intl.DateTimeFormat('en-GB', { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: ZONE }).format(date)} ${ZONE}`;
jest.setTimeout(90_000);

/**
 * Issue 13 (4): password send dates as the users list submits them. A date in the past is
 * refused on the list (sending now is its own button); a user who already received a password
 * gets another one only after a confirmation; disabling or deleting a user cancels their pending
 * credential e-mail; /mail says when a queued message is due. Real SMTP, the injected clock.
 */
describe('password send dates', () => {
  let sink: SmtpSink;
  let t: TestApp;
  let admin: Agent;
  let parts: ReturnType<typeof credentialParts>;

  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await createTestApp({ env: { SMTP_URL: sink.url, SCHEDULER: 'off' } });
    parts = credentialParts(t);
    await t.sql(`update client_settings set time_zone = $1`, [ZONE]);
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await sink.stop();
  });

  /** The `datetime-local` value a person types for "now + ms" in the client time zone. */
  const typed = (ms: number) => formatInZone(new Date(parts.clock.now().getTime() + ms), ZONE).replace(' ', 'T');
  /** The users list filtered to `q`: its bulk form, as rendered. */
  const listForm = (q: string) => openForm(admin, `/users?q=${encodeURIComponent(q)}`, { button: SET });
  /** Runs every dispatch pass this test's clock makes due. */
  const dispatch = async () => {
    await parts.dispatcher.whenIdle();
    await parts.dispatcher.dispatchDue();
  };
  const jobsOf = async (userId: number) => (await t.sql<{ status: string }>('select status from credential_jobs where user_id = $1 order by id', [userId])).map((j) => j.status);

  it('refuses a past date with a field error on the list, keeping the ticks and the date; "Email new password now" sends at once', async () => {
    const ann = await createUser(t, { username: 'ann', email: 'ann@example.org' });
    const before = await databaseFingerprint(t, { includeAudit: true });
    const past = typed(-60 * MINUTE);
    const res = await (await listForm('ann')).check('Select ann').fill('Password send date', past).submit(SET);
    expect(res.status).toBe(422);
    expect(res.text).toContain('is not in the future');
    expect(res.text).toContain('Email new password now');
    expect(res.text).toMatch(/<p class="field-error" id="error-sendAt">[^<]*is not in the future/);
    // The list the person was on, as they left it.
    const again = formOf(admin, res.text, { button: SET }, '/users');
    expect(again.valueOf('Select ann')).toBe('on');
    expect(again.valueOf('Password send date')).toBe(past);
    expect(columnValues(res.text, 'Username')).toEqual(['ann']);
    await parts.dispatcher.whenIdle();
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    expect(sink.to('ann@example.org')).toHaveLength(0);

    const sent = await again.submit(NOW);
    expect(sent.status).toBe(303);
    expect(sent.headers.location).toBe('/users?q=ann');
    await parts.dispatcher.whenIdle();
    expect(sink.to('ann@example.org')).toHaveLength(1);
    expect(await jobOf(t, ann.id)).toMatchObject({ status: 'sent' });
    expect((await admin.get('/users?q=ann')).text).toContain('New passwords are being e-mailed to 1 user: ann.');
  });

  it('changing the date of a user who already received a password asks first, and sends again only when confirmed', async () => {
    const bob = await createUser(t, { username: 'bob', email: 'bob@example.org' });
    const dan = await createUser(t, { username: 'dan', email: 'dan@example.org' });
    expect((await (await listForm('bob')).check('Select bob').fill('Password send date', typed(60 * MINUTE)).submit(SET)).status).toBe(303);
    // The administrator keeps this page open while the date passes and the mail goes out.
    const openPage = await admin.get('/users?q=b');
    expect(columnValues(openPage.text, 'Password send date')).toEqual([expect.stringMatching(/\(pending\)$/)]);
    const open: RenderedForm = formOf(admin, openPage.text, { button: SET }, '/users');
    parts.clock.advance(61 * MINUTE);
    await dispatch();
    expect(sink.to('bob@example.org')).toHaveLength(1);

    const before = await databaseFingerprint(t, { includeAudit: true });
    const later = typed(120 * MINUTE);
    const asked = await open.check('Select bob').fill('Password send date', later).submit(SET);
    expect(asked.status).toBe(200);
    expect(asked.text).toContain('Send new passwords again?');
    expect(columnValues(asked.text, 'Username')).toEqual(['bob']);
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
    expect(await jobsOf(bob.id)).toEqual(['sent']);

    // With another user selected, "Skip" sets the date for the other one only.
    const list = await openForm(admin, '/users', { button: SET });
    const mixed = await list.check('Select bob').check('Select dan').fill('Password send date', later).submit(SET);
    expect(mixed.status).toBe(200);
    const skipped = await formOf(admin, mixed.text, { button: 'Skip this user' }, '/users').submit('Skip this user');
    expect(skipped.status).toBe(303);
    expect(await jobsOf(bob.id)).toEqual(['sent']);
    expect(await jobsOf(dan.id)).toEqual(['pending']);

    // Confirmed: a new job for bob, sent at the new date.
    const confirmed = await formOf(admin, asked.text, { button: 'Send new passwords to this user too' }, '/users').submit('Send new passwords to this user too');
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.location).toBe('/users?q=b');
    expect(await jobsOf(bob.id)).toEqual(['sent', 'pending']);
    const due = (await sendColumns(t, bob.id)).password_send_at!;
    expect(formatInZone(due, ZONE).replace(' ', 'T')).toBe(later);
    parts.clock.advance(121 * MINUTE);
    await dispatch();
    expect(sink.to('bob@example.org')).toHaveLength(2);
    expect(sink.to('dan@example.org')).toHaveLength(1);
  });

  it('/mail shows when a queued credential e-mail is due, in the client time zone', async () => {
    const hal = await createUser(t, { username: 'hal', email: 'hal@example.org' });
    expect((await (await listForm('hal')).check('Select hal').fill('Password send date', typed(90 * MINUTE)).submit(SET)).status).toBe(303);
    const table = dataTable((await admin.get('/mail?status=queued')).text);
    const index = table.rows.findIndex((r) => r.includes('hal@example.org'));
    const due = (await sendColumns(t, hal.id)).password_send_at!;
    expect(table.rows[index][table.headers.indexOf('Due')]).toBe(shown(due));
    expect(table.rawRows[index]).toContain(`<time datetime="${due.toISOString()}">`);
  });

  it('disabling a user (on their page or in bulk) cancels the pending credential e-mail', async () => {
    const eve = await createUser(t, { username: 'eve', email: 'eve@example.org' });
    const fay = await createUser(t, { username: 'fay', email: 'fay@example.org' });
    const list = await openForm(admin, '/users?q=e', { button: SET });
    expect((await list.check('Select eve').check('Select fay').fill('Password send date', typed(60 * MINUTE)).submit(SET)).status).toBe(303);
    expect((await admin.get('/mail?status=queued')).text).toContain('eve@example.org');

    const page = await openForm(admin, `/users/${eve.id}`, { button: 'Disable' });
    expect((await page.submit('Disable')).status).toBe(303);
    expect(await jobsOf(eve.id)).toEqual(['cancelled']);
    expect(await sendColumns(t, eve.id)).toEqual({ password_send_at: null, password_send_status: null, password_send_error: null });

    const bulk = await listForm('fay');
    expect((await bulk.check('Select fay').submit('Disable')).status).toBe(303);
    expect(await jobsOf(fay.id)).toEqual(['cancelled']);

    const queued = await admin.get('/mail?status=queued');
    expect(queued.text).not.toContain('eve@example.org');
    expect(queued.text).not.toContain('fay@example.org');
    const [event] = await t.sql<{ detail: string }>(`select detail from audit_events where action = 'user.disabled' and object_id = $1`, [String(eve.id)]);
    expect(event.detail).toBe('sessions ended; the pending credential e-mail was cancelled');

    parts.clock.advance(61 * MINUTE);
    await dispatch();
    expect(sink.to('eve@example.org')).toHaveLength(0);
    expect(sink.to('fay@example.org')).toHaveLength(0);
  });

  it('deleting a user cancels the pending credential e-mail: nothing stays queued on /mail', async () => {
    const gus = await createUser(t, { username: 'gus', email: 'gus@example.org' });
    expect((await (await listForm('gus')).check('Select gus').fill('Password send date', typed(60 * MINUTE)).submit(SET)).status).toBe(303);
    expect((await admin.get('/mail?status=queued')).text).toContain('gus@example.org');
    const confirm = await openForm(admin, `/users/${gus.id}/delete`, { button: 'Delete user gus' });
    expect((await confirm.submit('Delete user gus')).status).toBe(303);
    expect((await admin.get('/mail?status=queued')).text).not.toContain('gus@example.org');
    expect(await t.sql(`select 1 from mail_messages where recipient = 'gus@example.org' and status = 'queued'`)).toEqual([]);
  });
});
