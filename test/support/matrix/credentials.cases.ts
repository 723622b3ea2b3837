import { CredentialDispatcher } from '../../../src/credentials/credential-dispatcher';
import type { CaseObjects, Expectations, MatrixWorld, RouteCase, SignedInActor } from '../authorization-matrix';

/**
 * Rows of the authorization matrix for "Change username/password" and the password send date
 * bulk actions. Statuses: (Administrator, org admin of A1 with User manager — holds "send
 * credentials" —, org admin of A1 without it, plain member of A1 with User manager).
 */

function statuses(administrator: number, orgAdminWithUsers: number, orgAdminWithoutUsers: number, plainMemberWithUsers: number): Expectations {
  return { administrator, orgAdminWithUsers, orgAdminWithoutUsers, plainMemberWithUsers };
}

function check(what: string, actual: unknown, expected: unknown): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

type Place = 'inside' | 'outside' | 'mixed' | 'administrator';
const PLACES: Record<Place, string> = {
  inside: 'a new user in A11 (inside)',
  outside: 'a new user in B (outside)',
  mixed: 'a new user in A11 and B',
  administrator: 'a new Administrator in A11',
};

/** A throwaway local user with an e-mail address, placed as named. */
async function target(w: MatrixWorld, place: Place) {
  const orgs = place === 'outside' ? [w.orgs.B] : place === 'mixed' ? [w.orgs.A11, w.orgs.B] : [w.orgs.A11];
  const user = await w.freshUser(orgs, place === 'administrator' ? ['administrator'] : ['member']);
  await w.t.sql(`update contacts set email = $2 where id = (select contact_id from users where id = $1)`, [user.id, `${user.username}@example.org`]);
  // The senders of "to myself" need an address of their own.
  await w.t.sql(
    `update contacts set email = u.username || '@actors.example.org' from users u
      where u.contact_id = contacts.id and u.username in ('admin', 'oa_manager') and contacts.email is null`,
  );
  return user;
}

async function jobStatus(w: MatrixWorld, userId: number): Promise<string | null> {
  const [row] = await w.t.sql<{ status: string }>('select status from credential_jobs where user_id = $1 order by id desc limit 1', [userId]);
  return row?.status ?? null;
}

const idle = (w: MatrixWorld) => w.t.app.get(CredentialDispatcher).whenIdle();

/** May this actor act on a user at this place (the expected outcome of allowed bulk requests)? */
function acts(actor: SignedInActor | 'anonymous', place: Place): boolean {
  return actor === 'administrator' || (actor === 'orgAdminWithUsers' && place === 'inside');
}

const pageExpect: Record<Place, Expectations> = {
  inside: statuses(200, 200, 403, 403),
  outside: statuses(200, 404, 404, 403),
  mixed: statuses(200, 403, 403, 403),
  administrator: statuses(200, 403, 403, 403),
};
const actionExpect: Record<Place, Expectations> = {
  inside: statuses(303, 303, 403, 403),
  outside: statuses(303, 404, 403, 403),
  mixed: statuses(303, 403, 403, 403),
  administrator: statuses(303, 403, 403, 403),
};
const ALL: Place[] = ['inside', 'outside', 'mixed', 'administrator'];

export const CREDENTIALS_CASES: RouteCase[] = [
  ...ALL.map(
    (place): RouteCase => ({
      method: 'GET',
      route: '/users/:id/credentials',
      target: PLACES[place],
      prepare: async (w) => ({ user: await target(w, place) }),
      path: (_w, o) => `/users/${o.user!.id}/credentials`,
      expect: pageExpect[place],
    }),
  ),

  ...(['user', 'self'] as const).flatMap((recipient) =>
    ALL.map(
      (place): RouteCase => ({
        method: 'POST',
        route: '/users/:id/credentials/email',
        target: `Email new password to ${recipient === 'user' ? 'user' : 'myself'}: ${PLACES[place]}`,
        prepare: async (w) => ({ user: await target(w, place) }),
        path: (_w, o) => `/users/${o.user!.id}/credentials/email`,
        body: () => ({ recipient }),
        expect: actionExpect[place],
        location: (_w, o) => `/users/${o.user!.id}/credentials`,
        verify: async (w, o) => {
          await idle(w);
          check(`credential job of ${o.user!.username}`, await jobStatus(w, o.user!.id), 'sent');
        },
      }),
    ),
  ),

  ...(['inside', 'outside', 'administrator'] as const).map(
    (place): RouteCase => ({
      method: 'POST',
      route: '/users/:id/credentials/username',
      target: PLACES[place],
      prepare: async (w) => ({ user: await target(w, place), name: w.unique('renamed').replace('-', '.') }),
      path: (_w, o) => `/users/${o.user!.id}/credentials/username`,
      body: (_w, o) => ({ username: o.name! }),
      expect: actionExpect[place],
      location: (_w, o) => `/users/${o.user!.id}/credentials`,
      verify: async (w, o) => {
        const [row] = await w.t.sql<{ username: string }>('select username from users where id = $1', [o.user!.id]);
        check('new username', row.username, o.name);
      },
    }),
  ),

  ...(['inside', 'outside', 'administrator'] as const).map(
    (place): RouteCase => ({
      method: 'POST',
      route: '/users/password-send-date',
      target: `set for ${PLACES[place]}`,
      prepare: async (w) => ({ user: await target(w, place) }),
      path: () => '/users/password-send-date',
      body: (_w, o) => ({ ids: [String(o.user!.id)], sendAt: '2099-01-01T09:00' }),
      expect: statuses(303, 303, 403, 403),
      location: () => '/users',
      // Users outside the session's reach are skipped (listed in the flash), never scheduled.
      verify: async (w, o, actor) => check(`pending job of ${o.user!.username} for ${actor}`, await jobStatus(w, o.user!.id), acts(actor, place) ? 'pending' : null),
    }),
  ),

  ...(['inside', 'outside', 'administrator'] as const).map(
    (place): RouteCase => ({
      method: 'POST',
      route: '/users/password-send-date/now',
      target: `Email new password now: ${PLACES[place]}`,
      prepare: async (w) => ({ user: await target(w, place) }),
      path: () => '/users/password-send-date/now',
      body: (_w, o) => ({ ids: [String(o.user!.id)] }),
      expect: statuses(303, 303, 403, 403),
      location: () => '/users',
      verify: async (w, o, actor) => {
        await idle(w);
        check(`credential job of ${o.user!.username} for ${actor}`, await jobStatus(w, o.user!.id), acts(actor, place) ? 'sent' : null);
      },
    }),
  ),

  ...(['inside', 'outside', 'administrator'] as const).map(
    (place): RouteCase => ({
      method: 'POST',
      route: '/users/password-send-date/clear',
      target: `clear for ${PLACES[place]}`,
      prepare: async (w): Promise<CaseObjects> => {
        const user = await target(w, place);
        await w.t.sql(
          `insert into credential_jobs (user_id, recipient_kind, recipient_user_id, due_at, next_attempt_at) values ($1, 'user', $1, '2099-01-01', '2099-01-01')`,
          [user.id],
        );
        await w.t.sql(`update users set password_send_at = '2099-01-01', password_send_status = 'pending' where id = $1`, [user.id]);
        return { user };
      },
      path: () => '/users/password-send-date/clear',
      body: (_w, o) => ({ ids: [String(o.user!.id)] }),
      expect: statuses(303, 303, 403, 403),
      location: () => '/users',
      verify: async (w, o, actor) => check(`job of ${o.user!.username} for ${actor}`, await jobStatus(w, o.user!.id), acts(actor, place) ? 'cancelled' : 'pending'),
    }),
  ),
];
