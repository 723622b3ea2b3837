import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import type { App } from 'supertest/types';
import { openForm } from './forms';

export type Agent = TestAgent;

/** The CSRF token of the first form in a page. */
export function csrfFrom(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error(`No CSRF token in the page:\n${html.slice(0, 500)}`);
  return match[1];
}

/** GETs `path` with the agent and returns the CSRF token of its form. */
export async function csrfToken(agent: Agent, path = '/account'): Promise<string> {
  const page = await agent.get(path);
  if (page.status !== 200) throw new Error(`GET ${path} answered ${page.status} (location ${page.headers.location ?? '-'})`);
  return csrfFrom(page.text);
}

/**
 * Signs in through the login form the page rendered, as a person does (its CSRF token and hidden
 * fields included); `extra` replaces fields a person cannot type, such as a made-up `next`.
 */
export async function submitLogin(agent: Agent, username: string, password: string, extra: Record<string, string> = {}) {
  const form = (await openForm(agent, '/login', 'Sign in')).fill('Username', username).fill('Password', password);
  for (const [name, value] of Object.entries(extra)) form.forge(name, value);
  return form.submit('Sign in');
}

/** A signed-in agent; fails loudly when the login does not redirect. */
export async function login(http: App, username: string, password: string): Promise<Agent> {
  const agent = request.agent(http);
  const res = await submitLogin(agent, username, password);
  if (res.status !== 303) throw new Error(`Login of ${username} answered ${res.status}:\n${res.text.slice(0, 800)}`);
  return agent;
}

/** POSTs a form with a fresh CSRF token taken from `formPage`. */
export async function postForm(agent: Agent, path: string, fields: Record<string, string | string[]>, formPage = '/account') {
  const token = await csrfToken(agent, formPage);
  return agent.post(path).type('form').send({ _csrf: token, ...fields });
}

/** The session id cookie value an agent holds (signed `s:` prefix stripped). */
export function sessionIdFrom(setCookie: string | string[] | undefined): string | null {
  const cookies = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  for (const c of cookies) {
    const m = /tessera\.sid=s%3A([^.;]+)/.exec(c);
    if (m) return decodeURIComponent(m[1]);
  }
  return null;
}
