import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SchedulerRegistry } from '@nestjs/schedule';
import request from 'supertest';
import { CredentialScheduler } from '../../src/credentials/credential-scheduler';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { credentialParts, credentialsIn, setEmail } from '../support/credentials-factories';
import { createOrganization, createUser } from '../support/factories';
import { Agent, csrfToken, login, submitLogin } from '../support/http';
import { parseMessage } from '../support/smtp-sink';

/** Without SMTP_URL, mail is stored as .eml files and listed on /mail (SPEC §1 "Embedded default"). */
describe('mail in file mode', () => {
  let t: TestApp;
  let admin: Agent;
  let parts: ReturnType<typeof credentialParts>;
  beforeAll(async () => {
    t = await createTestApp({ env: { SCHEDULER: 'off' } });
    parts = credentialParts(t);
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
  });
  afterAll(async () => {
    await t.close();
  });

  it('stores a credential e-mail as a private .eml file that Administrators alone may download', async () => {
    const org = await createOrganization(t, 'Plant');
    const lea = await createUser(t, { username: 'lea', email: 'lea@example.org', memberships: [{ org }] });
    await createUser(t, { username: 'boss', roles: ['user_manager'], memberships: [{ org, isAdmin: true }] });
    await setEmail(t, 'admin', 'admin@example.org');
    const token = await csrfToken(admin, `/users/${lea.id}/credentials`);
    expect((await admin.post(`/users/${lea.id}/credentials/email`).type('form').send({ _csrf: token, recipient: 'user' })).status).toBe(303);
    await parts.dispatcher.whenIdle();

    const dir = join(parts.config.dataDir, 'mail');
    const files = readdirSync(dir).filter((f) => f.endsWith('.eml'));
    expect(files).toHaveLength(1);
    expect(statSync(join(dir, files[0])).mode & 0o077).toBe(0);

    const [message] = await t.sql<{ id: number; status: string; eml_file: string }>('select id, status, eml_file from mail_messages');
    expect(message).toMatchObject({ status: 'sent', eml_file: files[0] });
    const page = await admin.get('/mail');
    expect(page.status).toBe(200);
    expect(page.text).toContain(`href="/mail/${message.id}/eml"`);

    const eml = await admin.get(`/mail/${message.id}/eml`).buffer(true).parse((res, done) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => done(null, body));
    });
    expect(eml.status).toBe(200);
    expect(eml.headers['content-type']).toContain('message/rfc822');
    const mail = parseMessage(eml.body as string);
    const { username, password } = credentialsIn(mail.text);
    expect(username).toBe('lea');
    expect((await submitLogin(request.agent(t.http), 'lea', password)).status).toBe(303);

    // An organization administrator who may send credentials sees the message, not its content.
    const boss = await login(t.http, 'boss', 'Secret-pass-1');
    const bossPage = await boss.get('/mail');
    expect(bossPage.status).toBe(200);
    expect(bossPage.text).toContain('lea@example.org');
    expect(bossPage.text).not.toContain('/eml"');
    expect((await boss.get(`/mail/${message.id}/eml`)).status).toBe(403);
  });

  it('runs the scheduler every minute unless SCHEDULER=off; its pass sends due jobs outside any request', async () => {
    expect(t.app.get(SchedulerRegistry).getCronJob('credential-mails').isActive).toBe(false);
    const on = await createTestApp();
    try {
      expect(on.app.get(SchedulerRegistry).getCronJob('credential-mails').isActive).toBe(true);
      const max = await createUser(on, { username: 'max', email: 'max@example.org' });
      await on.sql(`insert into credential_jobs (user_id, recipient_kind, recipient_user_id, due_at, next_attempt_at) values ($1, 'user', $1, now(), now())`, [max.id]);
      await on.app.get(CredentialScheduler).tick();
      const [job] = await on.sql<{ status: string }>('select status from credential_jobs where user_id = $1', [max.id]);
      expect(job.status).toBe('sent');
      expect(readdirSync(join(credentialParts(on).config.dataDir, 'mail'))).toHaveLength(1);
    } finally {
      await on.close();
    }
  });

  it('pages the message list newest first and filters it by status', async () => {
    await t.sql(
      `insert into mail_messages (kind, recipient, subject, status) select 'credentials', 'page' || g || '@example.org', 'Paged ' || g, case when g % 2 = 0 then 'sent' else 'failed' end from generate_series(1, 60) g`,
    );
    const first = await admin.get('/mail');
    expect(first.text).toContain('page60@example.org');
    expect(first.text).not.toContain('page10@example.org');
    const next = /href="([^"]+)" rel="next"/.exec(first.text)?.[1].replace(/&#x3D;/g, '=');
    expect(next).toMatch(/^\/mail\?after=\d+$/);
    expect(next).toBeDefined();
    const second = await admin.get(next!);
    expect(second.text).toContain('page10@example.org');
    expect(second.text).not.toContain('page60@example.org');
    const failed = await admin.get('/mail?status=failed');
    expect(failed.text).toContain('page59@example.org');
    expect(failed.text).not.toContain('page60@example.org');
  });

  it('answers 404 for a message that does not exist', async () => {
    expect((await admin.get('/mail/999999/eml')).status).toBe(404);
    expect((await admin.get('/mail/abc/eml')).status).toBe(404);
  });
});
