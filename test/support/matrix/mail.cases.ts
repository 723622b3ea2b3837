import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { APP_CONFIG, AppConfig } from '../../../src/config/config';
import type { Expectations, MatrixWorld, RouteCase } from '../authorization-matrix';

/**
 * Rows of the authorization matrix for /mail: sessions that may send credentials see the
 * messages about users in their subtree; only Administrators download stored messages.
 */

function statuses(administrator: number, orgAdminWithUsers: number, orgAdminWithoutUsers: number, plainMemberWithUsers: number): Expectations {
  return { administrator, orgAdminWithUsers, orgAdminWithoutUsers, plainMemberWithUsers };
}

/** A stored credential message about a user of `org`, with its .eml file on disk. */
async function storedMessage(w: MatrixWorld, where: 'A11' | 'B'): Promise<number> {
  const user = await w.freshUser([w.orgs[where]]);
  const name = `${w.unique('matrix')}.eml`;
  const dir = join(w.t.app.get<AppConfig>(APP_CONFIG).dataDir, 'mail');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), 'Subject: test\n\nbody\n', { mode: 0o600 });
  const [row] = await w.t.sql<{ id: number }>(
    `insert into mail_messages (kind, recipient, subject, status, user_id, eml_file, sent_at) values ('credentials', $1, 'Your login credentials', 'sent', $2, $3, now()) returning id`,
    [`${user.username}@example.org`, user.id, name],
  );
  return row.id;
}

export const MAIL_CASES: RouteCase[] = [
  { method: 'GET', route: '/mail', target: 'sent and pending mail', path: () => '/mail', expect: statuses(200, 200, 403, 403) },
  {
    method: 'GET',
    route: '/mail/:id/eml',
    target: 'the .eml of a message about a user in A11 (inside)',
    prepare: async (w) => ({ id: await storedMessage(w, 'A11') }),
    path: (_w, o) => `/mail/${String(o.id)}/eml`,
    expect: statuses(200, 403, 403, 403),
  },
  {
    method: 'GET',
    route: '/mail/:id/eml',
    target: 'the .eml of a message about a user in B (outside)',
    prepare: async (w) => ({ id: await storedMessage(w, 'B') }),
    path: (_w, o) => `/mail/${String(o.id)}/eml`,
    expect: statuses(200, 404, 403, 403),
  },
];
