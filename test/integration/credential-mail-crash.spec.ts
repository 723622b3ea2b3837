import { verify } from '@node-rs/argon2';
import { LEASE_MS } from '../../src/credentials/credential-dispatcher';
import { createTestApp, TestApp } from '../support/app';
import { credentialParts, credentialsIn, jobOf } from '../support/credentials-factories';
import { createUser } from '../support/factories';
import { SmtpSink } from '../support/smtp-sink';

jest.setTimeout(120_000);

const REPLACES = 'This message replaces an earlier one with the same subject that you may have received: the password in that message does not work.';

/**
 * Credential mail is sent at least once (SPEC §4): the new password's hash is saved only after
 * the mail server accepted the message. A process that dies between the two has sent a password
 * that never works; the retry must say that its message replaces the earlier one. The crash point
 * is simulated on the real database and the real SMTP sink: a job row left as a crash leaves it,
 * and a hash update that fails right after the server accepted the message.
 */
describe('credential mail after a crash between the mail server accepting and the password being saved', () => {
  let sink: SmtpSink;
  let t: TestApp;

  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await createTestApp({ env: { SMTP_URL: sink.url, SCHEDULER: 'off' } });
  });
  afterAll(async () => {
    await t.close();
    await sink.stop();
  });
  beforeEach(() => {
    sink.messages.length = 0;
    sink.rejectWith = null;
  });

  const passwordHash = async (userId: number) => (await t.sql<{ password_hash: string }>('select password_hash from users where id = $1', [userId]))[0].password_hash;

  /** A user with an e-mail address and a credential job due now. */
  async function userWithDueJob(username: string) {
    const user = await createUser(t, { username, password: 'Old-pass-2026', email: `${username}@example.org` });
    await t.sql(
      `insert into credential_jobs (user_id, recipient_kind, recipient_user_id, due_at, next_attempt_at, requested_by_name)
       values ($1, 'user', $1, now() - interval '1 minute', now() - interval '1 minute', 'admin')`,
      [user.id],
    );
    return user;
  }

  it('a first message, and a retry after a refused delivery, do not speak of an earlier message', async () => {
    const user = await userWithDueJob('crash-first');
    sink.rejectWith = '451 Try again later';
    await credentialParts(t).dispatcher.dispatchDue();
    expect(await jobOf(t, user.id)).toMatchObject({ status: 'pending', attempts: 1 });
    const [mark] = await t.sql<{ send_started_at: Date | null }>('select send_started_at from credential_jobs where user_id = $1', [user.id]);
    expect(mark.send_started_at).toBeNull();

    sink.rejectWith = null;
    await t.sql(`update credential_jobs set next_attempt_at = now() - interval '1 second' where user_id = $1`, [user.id]);
    await credentialParts(t).dispatcher.dispatchDue();
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0].text).not.toContain('replaces an earlier one');
    expect(await jobOf(t, user.id)).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('a job left "sending" by a process that died after handing its message over: the retry says it replaces it, and its password works', async () => {
    const user = await userWithDueJob('crash-lease');
    const oldHash = await passwordHash(user.id);
    // What a kill -9 right after the SMTP accept leaves: claimed, its lease running out, the
    // attempt marked as started, the old password hash still in place.
    await t.sql(
      `update credential_jobs set status = 'sending', attempts = 1, claimed_by = 'dead-instance', lease_until = now() - interval '1 second',
              send_started_at = now() - make_interval(secs => $2) where user_id = $1`,
      [user.id, LEASE_MS / 1000 + 5],
    );
    await credentialParts(t).dispatcher.dispatchDue();

    expect(sink.messages).toHaveLength(1);
    const mail = sink.messages[0];
    expect(mail.to).toEqual(['crash-lease@example.org']);
    expect(mail.text).toContain(REPLACES);
    expect(mail.html).toContain('This message replaces an earlier one');
    const { password } = credentialsIn(mail);
    const hash = await passwordHash(user.id);
    expect(hash).not.toBe(oldHash);
    expect(await verify(hash, password)).toBe(true);
    const [job] = await t.sql<{ status: string; attempts: number; send_started_at: Date | null }>(
      'select status, attempts, send_started_at from credential_jobs where user_id = $1',
      [user.id],
    );
    expect(job).toEqual({ status: 'sent', attempts: 2, send_started_at: null });
  });

  it('a message accepted whose password could not be saved: the first password never works, the second message replaces it', async () => {
    const user = await userWithDueJob('crash-save');
    const oldHash = await passwordHash(user.id);
    // The crash point: the mail server has accepted the message, the hash update fails.
    await t.sql(`
      create function refuse_hash_update() returns trigger language plpgsql as $$
      begin
        if new.username = 'crash-save' and new.password_hash is distinct from old.password_hash then raise exception 'simulated crash'; end if;
        return new;
      end $$;
      create trigger refuse_hash_update before update on users for each row execute function refuse_hash_update();`);
    try {
      await credentialParts(t).dispatcher.dispatchDue();
    } finally {
      await t.sql('drop trigger refuse_hash_update on users; drop function refuse_hash_update();');
    }
    expect(sink.messages).toHaveLength(1);
    const first = credentialsIn(sink.messages[0]);
    expect(sink.messages[0].text).not.toContain('replaces an earlier one');
    expect(await passwordHash(user.id)).toBe(oldHash);
    expect(await verify(oldHash, first.password)).toBe(false);
    expect(await jobOf(t, user.id)).toMatchObject({ status: 'pending', attempts: 1 });

    await t.sql(`update credential_jobs set next_attempt_at = now() - interval '1 second' where user_id = $1`, [user.id]);
    await credentialParts(t).dispatcher.dispatchDue();
    expect(sink.messages).toHaveLength(2);
    const second = sink.messages[1];
    expect(second.text).toContain(REPLACES);
    const hash = await passwordHash(user.id);
    expect(await verify(hash, credentialsIn(second).password)).toBe(true);
    expect(await verify(hash, first.password)).toBe(false);
  });
});
