import { APP_CONFIG, AppConfig } from '../../src/config/config';
import { Clock } from '../../src/credentials/clock';
import { CredentialDispatcher } from '../../src/credentials/credential-dispatcher';
import type { TestApp } from './app';
import type { SinkMessage } from './smtp-sink';

/** The dispatcher, clock and configuration of a running test app. */
export function credentialParts(t: TestApp) {
  return {
    clock: t.app.get(Clock),
    dispatcher: t.app.get(CredentialDispatcher),
    config: t.app.get<AppConfig>(APP_CONFIG),
  };
}

/** Gives a user (by username) an e-mail address through their contact. */
export async function setEmail(t: TestApp, username: string, email: string | null): Promise<void> {
  await t.sql('update contacts set email = $2 where id = (select contact_id from users where username = $1)', [username, email]);
}

/** The username and password lines of a credential e-mail. */
export function credentialsIn(mail: SinkMessage | string): { username: string; password: string } {
  const text = typeof mail === 'string' ? mail : mail.text;
  const username = /^Username: (\S+)$/m.exec(text)?.[1];
  const password = /^Password: (\S+)$/m.exec(text)?.[1];
  if (!username || !password) throw new Error(`No credentials in the message:\n${text}`);
  return { username, password };
}

export async function jobOf(t: TestApp, userId: number) {
  return (
    await t.sql<{ status: string; attempts: number; last_error: string | null; next_attempt_at: Date }>(
      'select status, attempts, last_error, next_attempt_at from credential_jobs where user_id = $1 order by id desc limit 1',
      [userId],
    )
  )[0];
}

export async function sendColumns(t: TestApp, userId: number) {
  return (
    await t.sql<{ password_send_at: Date | null; password_send_status: string | null; password_send_error: string | null }>(
      'select password_send_at, password_send_status, password_send_error from users where id = $1',
      [userId],
    )
  )[0];
}
