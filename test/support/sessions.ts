import { ADMIN_PASSWORD, createTestApp, TestApp, TestAppOptions } from './app';
import { Agent, csrfFrom, login } from './http';

/** The application on a database of the test file's own, with a session of its Administrator. */
export async function appWithAdmin(options?: TestAppOptions): Promise<{ t: TestApp; admin: Agent }> {
  const t = await createTestApp(options);
  return { t, admin: await login(t.http, 'admin', ADMIN_PASSWORD) };
}

/**
 * A signed-in agent working in `org`: signs in, then chooses the organization the way the chooser
 * form does (POST /session/organization), and checks the header shows it. Works for users with
 * one membership too (choosing their only organization is allowed).
 */
export async function loginTo(t: TestApp, username: string, password: string, org: { id: number; name: string }): Promise<Agent> {
  const agent = await login(t.http, username, password);
  const chooser = await agent.get('/session/organization');
  if (chooser.status !== 200) throw new Error(`GET /session/organization for ${username} answered ${chooser.status}`);
  const chosen = await agent
    .post('/session/organization')
    .type('form')
    .send({ _csrf: csrfFrom(chooser.text), organizationId: String(org.id), next: '/account' });
  if (chosen.status !== 303) throw new Error(`${username} could not choose ${org.name}: ${chosen.status}\n${chosen.text.slice(0, 500)}`);
  // Also consumes the "You are now working in …" flash, so the next page starts clean.
  const account = await agent.get('/account');
  const current = /class="current-org">Organization: <strong>([^<]*)<\/strong>/.exec(account.text)?.[1];
  if (account.status !== 200 || current !== escapeHtml(org.name)) {
    throw new Error(`${username} should work in ${org.name}, but /account answered ${account.status} showing ${current ?? 'no organization'}`);
  }
  return agent;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;');
}
