import type { EntityManager } from '@mikro-orm/postgresql';
import { cancelPendingJobs, clearSendDate, deleteQueuedMessage } from './credentials.queries';

/**
 * Cancels the user's pending credential job, if any, and removes its queued message from /mail.
 * Returns the date it was due, or `null` when nothing was pending. Runs in the caller's
 * transaction: replacing a send date, clearing it, and disabling or deleting the user all call it,
 * so no pending e-mail outlives what made it wrong.
 */
export async function cancelPendingCredentialMail(tx: EntityManager, userId: number): Promise<Date | null> {
  const rows = await cancelPendingJobs(tx, userId);
  for (const row of rows) await deleteQueuedMessage(tx, row.id);
  return rows.length > 0 ? new Date(rows[0].due_at) : null;
}

/**
 * Disabling or deleting a user: cancels the pending credential e-mail and clears the send date it
 * showed. Returns the cancelled due date (for the audit entry), or `null`.
 */
export async function cancelCredentialMailOf(tx: EntityManager, userId: number): Promise<Date | null> {
  const due = await cancelPendingCredentialMail(tx, userId);
  if (due) await clearSendDate(tx, userId);
  return due;
}
