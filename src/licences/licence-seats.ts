import type { EntityManager } from '@mikro-orm/postgresql';
import { BusinessRuleError, ValidationError } from '../common/errors';
import { isFull, usageText } from './licence-usage';

/** A licence type without a free seat: the message names it and its usage. */
export class LicenceFullError extends BusinessRuleError {
  constructor(
    readonly licenceName: string,
    used: number,
    seats: number,
  ) {
    super('licence_full', `Licence "${licenceName}" is full: ${usageText(used, seats)}.`);
  }
}

/**
 * Call inside the transaction that gives a user an enabled licence (create, enable, licence
 * change). Locks the licence type's row, so that concurrent requests take seats one after the
 * other, and throws `LicenceFullError` when every seat is taken by other enabled users.
 * `exceptUserId` leaves out the user being changed (who may already hold the licence).
 */
export async function assertSeatFree(em: EntityManager, licenceId: number, options: { exceptUserId?: number } = {}): Promise<void> {
  const [licence]: { name: string; seats: number | null }[] = await em.execute('select name, seats from licence_types where id = ? for update', [licenceId]);
  if (!licence) throw ValidationError.single('licenceId', 'Choose a licence that exists.');
  if (licence.seats === null) return;
  const [{ used }]: { used: number }[] = await em.execute('select count(*)::int as used from users where licence_id = ? and enabled and id <> ?', [
    licenceId,
    options.exceptUserId ?? 0,
  ]);
  if (isFull(used, licence.seats)) throw new LicenceFullError(licence.name, used, licence.seats);
}
