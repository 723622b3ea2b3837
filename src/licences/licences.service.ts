import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Actor } from '../access/actor';
import { NamedSettingKind, NamedSettings, usersHold } from '../common/named-settings';
import { AuditService } from '../audit/audit.service';
import { FieldErrors, NotFoundError, ValidationError } from '../common/errors';
import { LicenceType } from './licence-type.entity';
import { isFull, parseSeats, usageText } from './licence-usage';
import { LicenceRow, findLicence, listLicences, seatsUsed } from './licences.queries';

export const LICENCE_NAME_MAX = 100;

export interface LicenceInput {
  name: string;
  /** As typed: a whole number ≥ 0, or empty for unlimited. */
  seats: string;
}

export interface LicenceView {
  id: number;
  name: string;
  /** `null`: unlimited. */
  seats: number | null;
  unlimited: boolean;
  builtIn: boolean;
  /** Enabled users holding it: they occupy seats. */
  used: number;
  /** Every user holding it, enabled or not. */
  userCount: number;
  usage: string;
  full: boolean;
  isDefault: boolean;
}

function snapshot(licence: LicenceType): Record<string, unknown> {
  return { name: licence.name, seats: licence.seats };
}

const LICENCES: NamedSettingKind<LicenceType> = {
  entity: LicenceType,
  table: 'licence_types',
  kind: 'licence',
  uniqueIndex: 'licence_types_name_unique',
  nameTaken: 'Another licence type already has this name.',
  snapshot,
  deletion: {
    builtIn: (name) => `${name} is a built-in licence type and cannot be deleted.`,
    inUse: (name, count) => `Cannot delete ${name}: ${usersHold(count)} this licence. Give them another licence first.`,
    inUseRace: 'Cannot delete this licence type: users hold it. Give them another licence first.',
    wasDefault: 'was the default licence of the client settings (now none)',
  },
};

function toView(r: LicenceRow): LicenceView {
  return {
    id: r.id,
    name: r.name,
    seats: r.seats,
    unlimited: r.seats === null,
    builtIn: r.built_in_key !== null,
    used: r.used,
    userCount: r.user_count,
    usage: usageText(r.used, r.seats),
    full: isFull(r.used, r.seats),
    isDefault: r.is_default,
  };
}

/**
 * Licence types: a name and a number of seats, or unlimited (SPEC §2). Enabled users occupy seats.
 * Managed by sessions allowed `manage_settings`; seats never drop below the current usage.
 */
@Injectable()
export class LicencesService {
  private readonly named: NamedSettings<LicenceType>;

  constructor(
    private readonly em: EntityManager,
    audit: AuditService,
  ) {
    this.named = new NamedSettings(em, audit, LICENCES);
  }

  async list(actor: Actor): Promise<LicenceView[]> {
    this.named.assertAllowed(actor);
    const rows = await listLicences(this.em);
    return rows.map(toView);
  }

  async details(actor: Actor, id: number): Promise<LicenceView> {
    this.named.assertAllowed(actor);
    const row = await findLicence(this.em, id);
    if (!row) throw new NotFoundError();
    return toView(row);
  }

  async create(actor: Actor, input: LicenceInput): Promise<{ id: number; name: string }> {
    this.named.assertAllowed(actor);
    const values = validate(input);
    return this.named.create(actor, values.name, (tx) => tx.create(LicenceType, values));
  }

  /** Renames and/or changes the seats; fewer seats than enabled users already holding it is refused. */
  async update(actor: Actor, id: number, input: LicenceInput): Promise<{ id: number; name: string; changed: boolean }> {
    this.named.assertAllowed(actor);
    return this.named.write(async (tx) => {
      // The row lock serializes this with seat assignments, which lock the licence type too.
      const licence = await this.named.lock(tx, id);
      const values = validate(input);
      await this.named.assertNameFree(tx, values.name, licence.id);
      if (values.seats !== null && values.seats !== licence.seats) {
        const used = await seatsUsed(tx, id);
        if (values.seats < used) {
          const holders = used === 1 ? '1 enabled user already holds' : `${used} enabled users already hold`;
          const seats = values.seats === 1 ? '1 seat' : `${values.seats} seats`;
          throw ValidationError.single('seats', `Cannot set ${seats}: ${holders} ${licence.name}.`);
        }
      }
      return this.named.applyChanges(actor, tx, licence, () => {
        licence.name = values.name;
        licence.seats = values.seats;
      });
    });
  }

  /**
   * Deletes a licence type that is not built-in and that no user (enabled or not) holds. When it is
   * the default licence of the client settings, the database clears that default; `wasDefault` says so.
   */
  async delete(actor: Actor, id: number): Promise<{ name: string; wasDefault: boolean }> {
    this.named.assertAllowed(actor);
    return this.named.delete(actor, id);
  }
}

function validate(input: LicenceInput): { name: string; seats: number | null } {
  const errors: FieldErrors = {};
  const name = input.name.trim();
  if (!name) errors.name = 'Enter a name.';
  else if ([...name].length > LICENCE_NAME_MAX) errors.name = `Use at most ${LICENCE_NAME_MAX} characters for the name.`;
  const seats = parseSeats(input.seats);
  if (seats === undefined) errors.seats = 'Enter the number of seats as a whole number (0 or more), or leave it empty for unlimited.';
  if (Object.keys(errors).length > 0) throw new ValidationError(errors);
  return { name, seats: seats ?? null };
}

