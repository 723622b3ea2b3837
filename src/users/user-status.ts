import type { EntityManager } from '@mikro-orm/postgresql';
import type { Actor } from '../access/actor';
import type { AuditService } from '../audit/audit.service';
import { usernameThrottleKey } from '../auth/login-throttle';
import { cancelCredentialMailOf } from '../credentials/credential-jobs';
import { assertSeatFree } from '../licences/licence-seats';
import { clearLockout, forgetThrottle, setUserEnabled } from './users.queries';

/**
 * Enables or disables one user inside the caller's transaction, after the caller's checks:
 * enabling takes a seat of the user's licence (`LicenceFullError` when none is free), disabling
 * ends the user's sessions and cancels their pending credential e-mail. Recorded in the audit
 * log. Used by the user page and the bulk action.
 */
export async function applyEnabled(
  tx: EntityManager,
  audit: AuditService,
  actor: Actor,
  user: { id: number; username: string; licenceId: number | null },
  enabled: boolean,
): Promise<void> {
  if (enabled && user.licenceId !== null) await assertSeatFree(tx, user.licenceId, { exceptUserId: user.id });
  await setUserEnabled(tx, user.id, enabled);
  // A disabled user gets no password: their pending credential e-mail goes with the access.
  const cancelled = enabled ? null : await cancelCredentialMailOf(tx, user.id);
  await audit.record(
    actor,
    {
      action: enabled ? 'user.enabled' : 'user.disabled',
      objectType: 'user',
      objectId: user.id,
      objectLabel: user.username,
      changes: { enabled: { from: !enabled, to: enabled }, ...(cancelled ? { sendDate: { from: cancelled.toISOString(), to: null } } : {}) },
      detail: enabled ? undefined : cancelled ? 'sessions ended; the pending credential e-mail was cancelled' : 'sessions ended',
    },
    tx,
  );
}

/**
 * Unlocks one user inside the caller's transaction, after the caller's checks: ends the lock-out
 * and forgets the failed sign-ins counted for the username (the throttle's username key, which
 * counts towards the next lock and delays addresses that failed). Recorded in the audit log.
 */
export async function applyUnlock(tx: EntityManager, audit: AuditService, actor: Actor, user: { id: number; username: string }): Promise<void> {
  await clearLockout(tx, user.id);
  await forgetThrottle(tx, usernameThrottleKey(user.username));
  await audit.record(
    actor,
    { action: 'user.unlocked', objectType: 'user', objectId: user.id, objectLabel: user.username, changes: { locked: { from: true, to: false } } },
    tx,
  );
}
