/**
 * Sign-in throttling (SPEC §2), kept in PostgreSQL (`login_throttle`) so that every instance
 * counts the same failures. Two kinds of key:
 *
 * - `ip:<address>`: every failed sign-in from a client address. Past the free failures the
 *   address is refused for a delay that doubles with every further failure.
 * - `user:<lower(username)>`: every failed sign-in for a typed username, from any address, known
 *   or not (so that it says nothing about which usernames exist). Past the free failures the
 *   username is refused with the same growing delays, but only to addresses that have failed
 *   themselves within the window: a client address with no failed attempt still gets through,
 *   so an attacker cannot keep the real user out.
 *
 * Failures are forgotten once the last one is older than the window.
 *
 * The username key also counts the failures towards the account lock (`lock_failures`): a wrong
 * password then writes the same two rows whether or not the user exists (timing), and the users
 * row is written only when the lock starts.
 */
export const THROTTLE_FREE_FAILURES = 10;
/** The delay after the failure that reaches the free count; each further failure doubles it. */
export const THROTTLE_BASE_SECONDS = 30;
export const THROTTLE_MAX_SECONDS = 15 * 60;
export const THROTTLE_WINDOW_MINUTES = 60;

export interface ThrottleKeys {
  address: string;
  username: string;
}

export function throttleKeys(ip: string | null, username: string): ThrottleKeys {
  return { address: `ip:${(ip ?? 'unknown').slice(0, 64)}`, username: usernameThrottleKey(username) };
}

export function usernameThrottleKey(username: string): string {
  return `user:${username.toLowerCase().slice(0, 200)}`;
}

/** The new `blocked_until` of a key whose failure count is now `:f` (an SQL expression). */
function blockedUntil(failures: string): string {
  return `case when ${failures} >= ${THROTTLE_FREE_FAILURES}
            then now() + make_interval(secs => least(${THROTTLE_BASE_SECONDS} * power(2, least(${failures} - ${THROTTLE_FREE_FAILURES}, 20)), ${THROTTLE_MAX_SECONDS}))
          end`;
}

const STALE = `t.last_failure_at < now() - make_interval(mins => ${THROTTLE_WINDOW_MINUTES})`;
const NEXT_FAILURES = `case when ${STALE} then 1 else t.failures + 1 end`;

/**
 * Counts one failure on both keys (parameters: address key, username key, whether the account is
 * locked now: failures during a lock do not count towards the next one). Returns each key's
 * `lock_failures`. The keys are locked in a fixed order (address first), so two attempts never
 * wait for each other crosswise.
 */
export const COUNT_FAILURE_SQL = `insert into login_throttle as t (key, failures, last_failure_at, blocked_until, lock_failures)
  select k.key, 1, now(), ${blockedUntil('1')}, case when locked then 0 else 1 end
    from (values (?, 1), (?, 2)) k (key, n), (select ?::boolean as locked) l
   order by k.n
  on conflict (key) do update
    set failures = ${NEXT_FAILURES}, last_failure_at = now(), blocked_until = ${blockedUntil(NEXT_FAILURES)},
        lock_failures = t.lock_failures + excluded.lock_failures
  returning t.key, t.lock_failures`;

/**
 * Deletes a few forgotten keys (their last failure is older than the window, so their delay has
 * ended too). Run on every failure, so the table stays as small as the recent failures; locked
 * rows are skipped rather than waited for.
 */
export const PRUNE_SQL = `delete from login_throttle where key in (
  select key from login_throttle t where ${STALE} limit 20 for update skip locked)`;

/** Restarts the count towards the account lock (parameter: username key): at a lock and a sign-in. */
export const RESET_LOCK_COUNT_SQL = `update login_throttle set lock_failures = 0 where key = ? and lock_failures > 0`;

/**
 * The throttle state for one attempt (parameters: address key, username key): until when the
 * attempt is refused (`null`: it is not), and whether the address has failed within the window.
 */
export const THROTTLE_STATE_SQL = `select greatest(case when a.blocked_until > now() then a.blocked_until end,
                case when n.blocked_until > now() and a.key is not null then n.blocked_until end) as throttled_until,
       a.key is not null as address_failed
  from (select 1) one
  left join login_throttle a on a.key = ? and a.last_failure_at >= now() - make_interval(mins => ${THROTTLE_WINDOW_MINUTES})
  left join login_throttle n on n.key = ?`;
