import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { verifyPassword } from '../accounts/password-hasher';
import { AppError } from '../common/errors';
import { AuditService, auditFields } from '../audit/audit.service';
import { LOCAL_PROVIDER } from '../users/user.entity';
import { ThrottleKeys, throttleKeys } from './login-throttle';
import { AttemptState, attemptState, countFailure, pruneThrottle, recordSignIn, resetLockCount, signInCheck } from './sign-in.queries';

/** Sign-in refused. The message never tells a stranger whether the username exists. */
export class LoginRefusedError extends AppError {
  constructor(code: string, message: string) {
    super(code, message, 422);
  }
}

/** Too many failed sign-ins from this address (or for this username from an address that failed). */
export class LoginThrottledError extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super('throttled', throttledMessage(retryAfterSeconds), 429);
  }
}

function throttledMessage(seconds: number): string {
  const wait = seconds < 90 ? `${seconds} second${seconds === 1 ? '' : 's'}` : `${Math.ceil(seconds / 60)} minutes`;
  return `Too many failed sign-in attempts. Wait ${wait}, then try again.`;
}

/** Why an account may not sign in, whichever way it proved who it is (password or identity provider). */
export interface AccountRefusal {
  code: string;
  /** For the person, shown only once they proved who they are. */
  message: string;
  /** For the audit log. */
  detail: string;
}

/** The user who signed in: what the session keeps of them. */
export interface SignedInUser {
  id: number;
  username: string;
  sessionVersion: number;
}

/** What the account rules look at, however the user proved who they are. */
export interface AccountState {
  enabled: boolean;
  hasRole: boolean;
  hasProfile: boolean;
  hasMembership: boolean;
}

/**
 * The account rules of SPEC §2 every sign-in obeys, by password or through an identity
 * provider: enabled, a role and a user profile, a membership. `null`: may sign in.
 */
export function accountRefusal(user: AccountState): AccountRefusal | null {
  if (!user.enabled) return { code: 'disabled', message: 'This account is disabled. Ask an administrator to enable it.', detail: 'account disabled' };
  if (!user.hasRole || !user.hasProfile) {
    return {
      code: 'no_role_or_profile',
      message: 'This account has no user group (role) or no user profile yet, so it cannot sign in. Ask an administrator to assign them.',
      detail: !user.hasRole ? 'no role' : 'no user profile',
    };
  }
  if (!user.hasMembership) {
    return { code: 'no_organization', message: 'This account belongs to no organization yet, so it cannot sign in. Ask an administrator.', detail: 'no membership' };
  }
  return null;
}

export const INVALID_CREDENTIALS = 'The username or password is incorrect.';

/**
 * The sign-in rules of SPEC §2: the password is checked first; only someone who knows it learns
 * why an account may not sign in (locked, disabled, no role, no profile, expired password).
 * Wrong passwords count per account; at the threshold the account locks for the set duration.
 *
 * Lock-out must not be a weapon against the real user, so (see `login-throttle.ts`):
 * - attempts are throttled per client address and per typed username with growing delays;
 * - the account lock refuses only addresses that have failed themselves: the right password
 *   from an address without failed attempts still signs in while the account is locked.
 *
 * A refusal does the same work whether or not the username exists (one lookup, one argon2id
 * verification — of a dummy hash when there is no password —, one failure count, one audit
 * row), so its duration does not tell which usernames exist. Everything else is read only once
 * the password has proven right.
 */
@Injectable()
export class AuthService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
  ) {}

  async authenticate(usernameInput: string, password: string, ip: string | null): Promise<SignedInUser> {
    const username = usernameInput.trim();
    const keys = throttleKeys(ip, username);
    const db = this.em;
    const state = await attemptState(db, keys, username);
    if (state.throttled_until) {
      // Refused before the password is checked: a throttled client cannot go on guessing.
      throw new LoginThrottledError(Math.max(1, Math.ceil((new Date(state.throttled_until).getTime() - Date.now()) / 1000)));
    }

    const passwordOk = await verifyPassword(state.id !== null && state.provider === LOCAL_PROVIDER ? state.password_hash : null, password);
    if (state.id === null || !passwordOk) {
      await this.recordFailure(state, username, keys, ip);
      throw new LoginRefusedError('invalid_credentials', INVALID_CREDENTIALS);
    }
    // One query for what the rules below need (loading the entity with its roles, profile and
    // memberships, then flushing it, took a third of the main thread's time per sign-in).
    const user = await signInCheck(db, state.id);

    const now = new Date();
    const lockedUntil = user.locked_until === null ? null : new Date(user.locked_until);
    const duringLock = lockedUntil !== null && lockedUntil.getTime() > now.getTime();
    const refuse = async (code: string, message: string, detail: string) => {
      await this.audit.write(
        { actorId: user.id, actorName: user.username, ip },
        { action: 'login.refused', objectType: 'user', objectId: user.id, objectLabel: user.username, detail },
      );
      throw new LoginRefusedError(code, message);
    };

    // During a lock, only addresses that have failed themselves are refused (see above).
    if (duringLock && state.address_failed) {
      const minutes = Math.max(1, Math.ceil((lockedUntil.getTime() - now.getTime()) / 60000));
      await refuse(
        'locked',
        `This account is locked after too many failed sign-ins. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}, or ask an administrator to unlock it.`,
        'account locked',
      );
    }
    const refusal = accountRefusal({ enabled: user.enabled, hasRole: user.has_role, hasProfile: user.has_profile, hasMembership: user.has_membership });
    if (refusal) await refuse(refusal.code, refusal.message, refusal.detail);
    if (user.password_expires_at && new Date(user.password_expires_at).getTime() <= now.getTime()) {
      await refuse(
        'initial_password_expired',
        'Your initial password has expired. Ask an administrator to send you a new one.',
        'initial password expired',
      );
    }

    // One statement records the sign-in and its audit row; outside a lock it also clears the
    // failure count and the username's lock count.
    await recordSignIn(
      db,
      user.id,
      now,
      duringLock ? null : { usernameKey: keys.username },
      auditFields(
        { actorId: user.id, actorName: user.username, ip },
        {
          action: 'login.success',
          objectType: 'user',
          objectId: user.id,
          objectLabel: user.username,
          // The lock stays: it still holds for the addresses whose failures caused it.
          ...(duringLock ? { detail: 'signed in while the account is locked, from an address without failed sign-ins' } : {}),
        },
      ),
    );
    return { id: user.id, username: user.username, sessionVersion: user.session_version };
  }

  /**
   * Counts a failed attempt on the address and username keys of the throttle; the username key
   * also counts towards the account lock, which locks an existing user at the threshold. One
   * statement writing the same two rows on both paths, so that an unknown username costs what a
   * known one does (only the lock itself writes the users row).
   */
  private async recordFailure(state: AttemptState, typedUsername: string, keys: ThrottleKeys, ip: string | null): Promise<void> {
    const db = this.em;
    // While the account is locked, further attempts neither count towards a lock nor extend it.
    const locked = await countFailure(db, keys, state);
    if (locked) await resetLockCount(db, keys.username);
    await pruneThrottle(db);
    if (state.id === null) {
      await this.audit.write(
        { actorName: typedUsername || null, ip },
        { action: 'login.failure', objectType: 'user', objectLabel: typedUsername || undefined, detail: 'unknown username' },
      );
      return;
    }
    const source = { actorId: state.id, actorName: state.username, ip };
    const target = { objectType: 'user', objectId: state.id, objectLabel: state.username ?? undefined };
    await this.audit.write(source, { action: 'login.failure', ...target, detail: 'wrong password' });
    if (locked) {
      await this.audit.write(source, {
        action: 'login.lockout',
        ...target,
        detail: `locked for ${state.lockout_minutes} minutes after ${state.lockout_threshold} failed attempts`,
      });
    }
  }
}
