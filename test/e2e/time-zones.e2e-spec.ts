import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createUser } from '../support/factories';
import { dataTable, textOf } from '../support/html';
import { Agent, login } from '../support/http';
import { openForm } from '../support/forms';

jest.setTimeout(60_000);

/**
 * Issue 13 (5): Settings → Mail says dates are shown in the client time zone, so every date a
 * person reads (users list, user page, credentials page, /mail, audit log) is shown in it with
 * the zone named, while `<time datetime>` keeps UTC.
 */
describe('dates in the client time zone', () => {
  let t: TestApp;
  let admin: Agent;
  let userId: number;

  // 10:00 UTC in July is 12:00 in Berlin (CEST); 08:30 UTC in January is 09:30 (CET).
  const SUMMER = '2026-07-01T10:00:00.000Z';
  const SUMMER_BERLIN = '01 Jul 2026, 12:00 Europe/Berlin';
  const WINTER = '2026-01-15T08:30:00.000Z';
  const WINTER_BERLIN = '15 Jan 2026, 09:30 Europe/Berlin';

  beforeAll(async () => {
    t = await createTestApp({ env: { SCHEDULER: 'off' } });
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    userId = (await createUser(t, { username: 'tz.user', email: 'tz.user@example.org' })).id;
    await t.sql('update users set last_login_at = $2, created_at = $3, password_send_at = $2, password_send_status = $4 where id = $1', [userId, SUMMER, WINTER, 'sent']);
    await t.sql(`insert into mail_messages (kind, recipient, subject, status, user_id, created_at, sent_at) values ('credentials', 'tz.user@example.org', 'Your login credentials for Tessera', 'sent', $1, $2, $3)`, [
      userId,
      WINTER,
      SUMMER,
    ]);
    await t.sql(`insert into audit_events (occurred_at, actor_name, action, object_type, object_id, object_label, changes) values ($1, 'admin', 'credentials.scheduled', 'user', $2, 'tz.user', $3)`, [
      WINTER,
      String(userId),
      JSON.stringify({ sendDate: { from: null, to: SUMMER } }),
    ]);

    // The administrator picks the zone on Settings → Mail, as a person does.
    const form = await openForm(admin, '/settings/mail', { button: 'Save' });
    const saved = await form.select('Time zone', 'Europe/Berlin').submit('Save');
    expect(saved.status).toBe(303);
  });
  afterAll(async () => {
    await t.close();
  });

  const cell = (html: string, header: string, row = 0) => {
    const table = dataTable(html);
    const index = table.headers.indexOf(header);
    if (index < 0) throw new Error(`No column "${header}" (columns: ${table.headers.join(', ')})`);
    return { text: table.rows[row][index], raw: table.rawRows[row] };
  };
  const definition = (html: string, term: string) => {
    const m = new RegExp(`<dt>${term}</dt>\\s*<dd>([\\s\\S]*?)</dd>`).exec(html);
    if (!m) throw new Error(`No "${term}" on the page`);
    return { text: textOf(m[1]), raw: m[1] };
  };

  it('shows the users list dates in the client zone, the zone named above the table, <time datetime> in UTC', async () => {
    const page = await admin.get('/users?q=tz.user');
    expect(page.status).toBe(200);
    // The list names the zone once above the table, so that its columns fit beside the tree panel.
    expect(page.text).toContain('Dates in Europe/Berlin time.');
    const inList = SUMMER_BERLIN.replace(' Europe/Berlin', '');
    const lastLogin = cell(page.text, 'Last login');
    expect(lastLogin.text).toBe(inList);
    expect(lastLogin.raw).toContain(`<time datetime="${SUMMER}">${inList}</time>`);
    expect(cell(page.text, 'Password send date').text).toBe(`${inList} (sent)`);
  });

  it('shows the user page dates and the trail in the client zone', async () => {
    const page = await admin.get(`/users/${userId}`);
    expect(page.status).toBe(200);
    expect(definition(page.text, 'Last login').text).toBe(SUMMER_BERLIN);
    expect(definition(page.text, 'Last login').raw).toContain(`datetime="${SUMMER}"`);
    expect(definition(page.text, 'Created').text).toBe(WINTER_BERLIN);
    expect(definition(page.text, 'Password send date').text).toBe(`${SUMMER_BERLIN} (sent)`);
    const trail = dataTable(page.text.slice(page.text.indexOf('id="trail"')));
    const scheduled = trail.rows.find((r) => r[2].startsWith('credentials.scheduled'))!;
    expect(scheduled[0]).toBe(WINTER_BERLIN);
    expect(scheduled[3]).toBe(`sendDate: — → ${SUMMER_BERLIN}`);
  });

  it('shows the credentials page, /mail and the audit log in the client zone', async () => {
    const credentials = await admin.get(`/users/${userId}/credentials`);
    expect(definition(credentials.text, 'Password send date').text).toBe(`${SUMMER_BERLIN} · sent`);
    expect(credentials.text).toContain(`<time datetime="${WINTER}">${WINTER_BERLIN}</time>`);

    const mail = await admin.get('/mail');
    expect(mail.status).toBe(200);
    const mailTable = dataTable(mail.text);
    const row = mailTable.rows.findIndex((r) => r.includes('tz.user@example.org'));
    expect(mailTable.rows[row][mailTable.headers.indexOf('Created')]).toBe(WINTER_BERLIN);
    expect(mailTable.rows[row][mailTable.headers.indexOf('Sent')]).toBe(SUMMER_BERLIN);
    expect(mailTable.rawRows[row]).toContain(`<time datetime="${SUMMER}">`);

    const audit = await admin.get('/audit?q=tz.user&action=credentials.scheduled');
    expect(audit.status).toBe(200);
    expect(cell(audit.text, 'When').text).toBe(WINTER_BERLIN);
    expect(cell(audit.text, 'When').raw).toContain(`datetime="${WINTER}"`);
    expect(cell(audit.text, 'Changes').text).toBe(`sendDate : null → ${SUMMER_BERLIN}`);
  });

  it('reads the audit log\'s From and To days in the client zone, the days its dates are shown in', async () => {
    // 23:30 UTC on 1 January is 00:30 on 2 January in Berlin.
    await t.sql(`insert into audit_events (occurred_at, actor_name, action, object_type, object_label) values ('2026-01-01T23:30:00Z', 'admin', 'tz.midnight', 'test', 'midnight')`);
    const days = async (from: string, to: string) => {
      const form = await openForm(admin, '/audit', { button: 'Filter' });
      const res = await form.fill('Search (user, object, detail)', 'midnight').fill('From', from).fill('To', to).submit('Filter');
      expect(res.status).toBe(200);
      return dataTable(res.text).rows.map((r) => r[0]);
    };
    expect(await days('2026-01-02', '2026-01-02')).toEqual(['02 Jan 2026, 00:30 Europe/Berlin']);
    expect(await days('2026-01-01', '2026-01-01')).toEqual([]);
  });
});
