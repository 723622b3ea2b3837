import type { EntityManager } from '@mikro-orm/postgresql';
import { auditInsert, type AuditRowFields } from '../audit/audit.queries';
import { COUNT_FAILURE_SQL, PRUNE_SQL, RESET_LOCK_COUNT_SQL, THROTTLE_STATE_SQL, ThrottleKeys } from './login-throttle';

/*
 * The sign-in's SQL: one read before the password is checked, the failure count, the throttle's
 * upkeep. Each function runs on the entity manager it is given.
 */

/** What one query tells about an attempt before the password is checked. */
export interface AttemptState {
  throttled_until: Date | null;
  address_failed: boolean;
  id: number | null;
  username: string | null;
  password_hash: string | null;
  provider: string | null;
  account_locked: boolean;
  lockout_threshold: number;
  lockout_minutes: number;
}

/** The throttle state of the address and username keys, the user of that username (if any) and the lockout settings. */
export async function attemptState(db: EntityManager, keys: ThrottleKeys, username: string): Promise<AttemptState> {
  const [state]: AttemptState[] = await db.execute(
    `select th.throttled_until, th.address_failed, u.id, u.username, u.password_hash, u.provider, coalesce(u.locked_until > now(), false) as account_locked, s.lockout_threshold, s.lockout_minutes
         from client_settings s
        cross join (${THROTTLE_STATE_SQL}) th
         left join users u on lower(u.username) = lower(?)
        where s.id = 1`,
    [keys.address, keys.username, username],
  );
  return state;
}

/**
 * Counts a failed attempt on both keys and locks the user when the username key reaches the
 * threshold (not while already locked); whether this attempt locked the account.
 */
export async function countFailure(db: EntityManager, keys: ThrottleKeys, state: AttemptState): Promise<boolean> {
  const [row]: { locked: boolean }[] = await db.execute(
    `with counted as (${COUNT_FAILURE_SQL}),
       account as (
         update users set locked_until = now() + make_interval(mins => ?), failed_logins = 0
          where id = ? and (locked_until is null or locked_until <= now())
            and (select lock_failures from counted where key = ?) >= ?
          returning true as locked
       )
       select coalesce((select locked from account), false) as locked`,
    [keys.address, keys.username, state.account_locked, state.lockout_minutes, state.id, keys.username, state.lockout_threshold],
  );
  return row?.locked ?? false;
}

/** Starts the username key's count towards the account lock afresh. */
export async function resetLockCount(db: EntityManager, usernameKey: string): Promise<void> {
  await db.execute(RESET_LOCK_COUNT_SQL, [usernameKey]);
}

/** Forgets throttle rows whose delays have run out. */
export async function pruneThrottle(db: EntityManager): Promise<void> {
  await db.execute(PRUNE_SQL);
}

/** What the sign-in rules read of a user once the password has proven right. */
export interface SignInCheck {
  id: number;
  username: string;
  enabled: boolean;
  locked_until: Date | null;
  password_expires_at: Date | null;
  session_version: number;
  has_role: boolean;
  has_profile: boolean;
  has_membership: boolean;
}

/**
 * The user's sign-in checks in one query (loading the entity with its roles, profile and
 * memberships, then flushing it, took a third of the main thread's time per sign-in).
 */
export async function signInCheck(db: EntityManager, userId: number): Promise<SignInCheck> {
  const [user]: SignInCheck[] = await db.execute(
    `select u.id, u.username, u.enabled, u.locked_until, u.password_expires_at, u.session_version,
            exists (select 1 from user_roles r where r.user_id = u.id) as has_role,
            u.profile_id is not null as has_profile,
            exists (select 1 from memberships m where m.user_id = u.id) as has_membership
       from users u where u.id = ?`,
    [userId],
  );
  return user;
}

/**
 * Records a sign-in in one statement: the time, (`clearLock`) the end of the failure count and of
 * a lock, with the username key's lock count reset, and the audit row.
 */
export async function recordSignIn(db: EntityManager, userId: number, at: Date, clearLock: { usernameKey: string } | null, audit: AuditRowFields): Promise<void> {
  const insert = auditInsert(audit);
  await db.execute(
    `with signed_in as (${
      clearLock
        ? 'update users set last_login_at = ?, failed_logins = 0, locked_until = null, updated_at = ? where id = ?'
        : 'update users set last_login_at = ?, updated_at = ? where id = ?'
    })${clearLock ? `, lock_count as (${RESET_LOCK_COUNT_SQL})` : ''}
     ${insert.sql}`,
    [at, at, userId, ...(clearLock ? [clearLock.usernameKey] : []), ...insert.params],
  );
}
