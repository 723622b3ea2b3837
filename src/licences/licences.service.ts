import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Actor } from '../access/actor';
import { allows } from '../access/policy';
import { usageOf } from '../common/names.queries';
import { assertNameFree } from '../common/unique-name';
import { AuditService, createdChanges, deletedChanges, diffChanges } from '../audit/audit.service';
import { BusinessRuleError, FieldErrors, ForbiddenError, NotFoundError, ValidationError, uniqueViolation } from '../common/errors';
import { LicenceType } from './licence-type.entity';
import { isFull, parseSeats, usageText } from './licence-usage';
import { LicenceRow, deleteLicence, findLicence, listLicences, seatsUsed } from './licences.queries';

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

const NAME_TAKEN = 'Another licence type already has this name.';
const UNIQUE_NAME = { licence_types_name_unique: ['name', NAME_TAKEN] as [string, string] };

function snapshot(licence: LicenceType): Record<string, unknown> {
  return { name: licence.name, seats: licence.seats };
}

/** The same fields, all empty: what a created object changes from and a deleted one changes to. */
function usersHold(count: number): string {
  return count === 1 ? '1 user holds' : `${count} users hold`;
}

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
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
  ) {}

  async list(actor: Actor): Promise<LicenceView[]> {
    this.assertAllowed(actor);
    const rows = await listLicences(this.em);
    return rows.map(toView);
  }

  async details(actor: Actor, id: number): Promise<LicenceView> {
    this.assertAllowed(actor);
    const row = await findLicence(this.em, id);
    if (!row) throw new NotFoundError();
    return toView(row);
  }

  async create(actor: Actor, input: LicenceInput): Promise<{ id: number; name: string }> {
    this.assertAllowed(actor);
    const values = validate(input);
    try {
      return await this.em.transactional(async (tx) => {
        await assertNameFree(tx, 'licence_types', values.name, null, NAME_TAKEN);
        const licence = tx.create(LicenceType, values);
        await tx.flush();
        await this.audit.record(
          actor,
          { action: 'licence.created', objectType: 'licence', objectId: licence.id, objectLabel: licence.name, changes: createdChanges(snapshot(licence)) },
          tx,
        );
        return { id: licence.id, name: licence.name };
      });
    } catch (error) {
      throw uniqueViolation(error, UNIQUE_NAME) ?? error;
    }
  }

  /** Renames and/or changes the seats; fewer seats than enabled users already holding it is refused. */
  async update(actor: Actor, id: number, input: LicenceInput): Promise<{ id: number; name: string; changed: boolean }> {
    this.assertAllowed(actor);
    try {
      return await this.em.transactional(async (tx) => {
        // The row lock serializes this with seat assignments, which lock the licence type too.
        const licence = await tx.findOne(LicenceType, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
        if (!licence) throw new NotFoundError();
        const values = validate(input);
        await assertNameFree(tx, 'licence_types', values.name, licence.id, NAME_TAKEN);
        if (values.seats !== null && values.seats !== licence.seats) {
          const used = await seatsUsed(tx, id);
          if (values.seats < used) {
            const holders = used === 1 ? '1 enabled user already holds' : `${used} enabled users already hold`;
            const seats = values.seats === 1 ? '1 seat' : `${values.seats} seats`;
            throw ValidationError.single('seats', `Cannot set ${seats}: ${holders} ${licence.name}.`);
          }
        }

        const before = snapshot(licence);
        licence.name = values.name;
        licence.seats = values.seats;
        const changes = diffChanges(before, snapshot(licence));
        if (changes) {
          await tx.flush();
          await this.audit.record(actor, { action: 'licence.updated', objectType: 'licence', objectId: licence.id, objectLabel: licence.name, changes }, tx);
        }
        return { id: licence.id, name: licence.name, changed: changes !== null };
      });
    } catch (error) {
      throw uniqueViolation(error, UNIQUE_NAME) ?? error;
    }
  }

  /**
   * Deletes a licence type that is not built-in and that no user (enabled or not) holds. When it is
   * the default licence of the client settings, the database clears that default; `wasDefault` says so.
   */
  async delete(actor: Actor, id: number): Promise<{ name: string; wasDefault: boolean }> {
    this.assertAllowed(actor);
    try {
      return await this.em.transactional(async (tx) => {
        const licence = await tx.findOne(LicenceType, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
        if (!licence) throw new NotFoundError();
        if (licence.builtInKey !== null) {
          throw new BusinessRuleError('licence_built_in', `${licence.name} is a built-in licence type and cannot be deleted.`);
        }
        const usage = await usageOf(tx, 'licence', id);
        if (usage.user_count > 0) {
          throw new BusinessRuleError(
            'licence_in_use',
            `Cannot delete ${licence.name}: ${usersHold(usage.user_count)} this licence. Give them another licence first.`,
          );
        }
        const before = snapshot(licence);
        const name = licence.name;
        await deleteLicence(tx, id);
        await this.audit.record(
          actor,
          {
            action: 'licence.deleted',
            objectType: 'licence',
            objectId: id,
            objectLabel: name,
            changes: deletedChanges(before),
            detail: usage.is_default ? 'was the default licence of the client settings (now none)' : undefined,
          },
          tx,
        );
        return { name, wasDefault: usage.is_default };
      });
    } catch (error) {
      if ((error as { code?: string })?.code === '23503') {
        throw new BusinessRuleError('licence_in_use', 'Cannot delete this licence type: users hold it. Give them another licence first.');
      }
      throw error;
    }
  }

  private assertAllowed(actor: Actor): void {
    if (!allows(actor, 'manage_settings')) throw new ForbiddenError();
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

