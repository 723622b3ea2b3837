import type { EntityManager } from '@mikro-orm/postgresql';
import { BusinessRuleError, ValidationError } from '../common/errors';
import { isFull, usageText } from './licence-usage';
import { lockLicenceSeats, seatsUsedByOthers } from './licences.queries';

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
  const licence = await lockLicenceSeats(em, licenceId);
  if (!licence) throw ValidationError.single('licenceId', 'Choose a licence that exists.');
  if (licence.seats === null) return;
  const used = await seatsUsedByOthers(em, licenceId, options.exceptUserId);
  if (isFull(used, licence.seats)) throw new LicenceFullError(licence.name, used, licence.seats);
}
