import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Actor } from '../access/actor';
import { allows } from '../access/policy';
import { AuditService, createdChanges, deletedChanges, diffChanges } from '../audit/audit.service';
import { FieldErrors, ForbiddenError, NotFoundError, ValidationError, uniqueViolation } from '../common/errors';
import { list, text } from '../common/form';
import { isNameTaken } from '../common/names.queries';
import {
  PropertyRow,
  deleteProperty,
  deleteUserValues,
  findProperty,
  holderCount,
  holderCounts,
  holdersOfSeveralValues,
  holdersOfValuesOutside,
  insertProperty,
  insertUserValues,
  listProperties,
  updateProperty,
  valuesOfUsers,
} from './custom-properties.queries';

export { pgArray } from './custom-properties.queries';

export const PROPERTY_NAME_MAX = 100;
export const PROPERTY_DESCRIPTION_MAX = 1000;
export const PROPERTY_VALUE_MAX = 500;
export const PROPERTY_ALLOWED_VALUES_MAX = 1000;

/** A custom property as other features use it (forms, exports, imports). */
export interface PropertyDefinition {
  id: number;
  name: string;
  description: string | null;
  /** Empty: free text. */
  allowedValues: string[];
  multiValued: boolean;
}

export interface PropertySummary extends PropertyDefinition {
  /** How many users hold at least one value. */
  userCount: number;
}

export interface PropertyInput {
  name: string;
  description: string;
  /** The textarea: one value per line. */
  allowedValues: string;
  /** `single` or `multi`. */
  valueMode: string;
}

/** Values per property id: what a user holds or what a form submitted. */
export type PropertyValues = Map<number, string[]>;

/** One custom property field of a user form, ready for `views/partials/property_fields.hbs`. */
export interface PropertyField {
  id: number;
  field: string;
  name: string;
  description: string | null;
  kind: 'select' | 'multiselect' | 'textarea' | 'text';
  options: { value: string; selected: boolean }[];
  /** For `text` and `textarea`. */
  text: string;
}

/** The form field name of a property: `prop_<id>`. */
export function propertyField(id: number): string {
  return `prop_${id}`;
}

const NAME_TAKEN = 'Another custom property already has this name.';
const UNIQUE_NAME = {
  custom_properties_name_unique: ['name', NAME_TAKEN] as [string, string],
  // A user given a second value between the check and the switch to single-valued.
  user_property_values_single: ['valueMode', 'Cannot make this property single-valued: some users hold several values. Leave one value per user first.'] as [string, string],
};

function snapshot(p: PropertyDefinition): Record<string, unknown> {
  return { name: p.name, description: p.description, allowedValues: p.allowedValues, multiValued: p.multiValued };
}

function users(count: number): string {
  return count === 1 ? '1 user' : `${count.toLocaleString('en-GB')} users`;
}

/** Trimmed, non-empty, de-duplicated lines (first spelling kept; duplicates compared exactly). */
export function valueLines(raw: string): string[] {
  const out: string[] = [];
  for (const line of raw.split(/\r\n|\r|\n/)) {
    const v = line.trim();
    if (v !== '' && !out.includes(v)) out.push(v);
  }
  return out;
}

/**
 * Custom properties (SPEC §2): administrator-defined user attributes, free text or a pick list,
 * single- or multi-valued. Definitions are managed with `manage_settings`; the value helpers
 * (`definitions`, `parseValues`, `setValues`, `valuesFor`, `formFields`) serve the user forms,
 * exports and imports, which check their own access.
 */
@Injectable()
export class CustomPropertiesService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
  ) {}

  // ----- definitions ------------------------------------------------------------------------

  /** Every property, by name. */
  async definitions(em: EntityManager = this.em): Promise<PropertyDefinition[]> {
    return (await listProperties(em)).map(toDefinition);
  }

  async list(actor: Actor): Promise<PropertySummary[]> {
    this.assertAllowed(actor);
    const defs = await this.definitions();
    const counts = await holderCounts(this.em);
    const byId = new Map(counts.map((c) => [c.property_id, c.n]));
    return defs.map((d) => ({ ...d, userCount: byId.get(d.id) ?? 0 }));
  }

  async details(actor: Actor, id: number): Promise<PropertySummary> {
    this.assertAllowed(actor);
    const def = await this.find(this.em, id);
    return { ...def, userCount: await holderCount(this.em, id) };
  }

  async create(actor: Actor, input: PropertyInput): Promise<PropertyDefinition> {
    this.assertAllowed(actor);
    const values = validate(input);
    try {
      return await this.em.transactional(async (tx) => {
        await this.assertNameFree(tx, values.name, 0);
        const def = { id: await insertProperty(tx, values), ...values };
        await this.audit.record(
          actor,
          { action: 'custom_property.created', objectType: 'custom_property', objectId: def.id, objectLabel: def.name, changes: createdChanges(snapshot(def)) },
          tx,
        );
        return def;
      });
    } catch (error) {
      throw uniqueViolation(error, UNIQUE_NAME) ?? error;
    }
  }

  /**
   * Changes a property. Refused (nothing written) when stored values would break the new rules:
   * values no longer in the allowed list, or several values of one user when it becomes
   * single-valued. The message says how many users are concerned.
   */
  async update(actor: Actor, id: number, input: PropertyInput): Promise<{ def: PropertyDefinition; changed: boolean }> {
    this.assertAllowed(actor);
    const values = validate(input);
    try {
      return await this.em.transactional(async (tx) => {
        const before = await this.find(tx, id, true);
        await this.assertNameFree(tx, values.name, id);
        if (values.allowedValues.length > 0) {
          const bad = await holdersOfValuesOutside(tx, id, values.allowedValues);
          if (bad.n > 0) {
            throw ValidationError.single(
              'allowedValues',
              `${users(bad.n)} ${bad.n === 1 ? 'has' : 'have'} a value that is not in the new list (for example “${bad.sample}”). Keep those values in the list, or change the users’ values first.`,
            );
          }
        }
        if (before.multiValued && !values.multiValued) {
          const several = await holdersOfSeveralValues(tx, id);
          if (several > 0) {
            throw ValidationError.single(
              'valueMode',
              `Cannot make ${before.name} single-valued: ${users(several)} ${several === 1 ? 'holds' : 'hold'} several values. Leave one value per user first.`,
            );
          }
        }
        const after = { id, ...values };
        const changes = diffChanges(snapshot(before), snapshot(after));
        if (changes) {
          await updateProperty(tx, id, values);
          await this.audit.record(actor, { action: 'custom_property.updated', objectType: 'custom_property', objectId: id, objectLabel: values.name, changes }, tx);
        }
        return { def: after, changed: changes !== null };
      });
    } catch (error) {
      throw uniqueViolation(error, UNIQUE_NAME) ?? error;
    }
  }

  /** Deletes a property and every user's values of it; returns how many users held one. */
  async delete(actor: Actor, id: number): Promise<{ name: string; userCount: number }> {
    this.assertAllowed(actor);
    return this.em.transactional(async (tx) => {
      const def = await this.find(tx, id, true);
      const n = await holderCount(tx, id);
      await deleteProperty(tx, id);
      await this.audit.record(
        actor,
        {
          action: 'custom_property.deleted',
          objectType: 'custom_property',
          objectId: id,
          objectLabel: def.name,
          changes: deletedChanges(snapshot(def)),
          detail: n > 0 ? `values of ${users(n)} removed` : undefined,
        },
        tx,
      );
      return { name: def.name, userCount: n };
    });
  }

  // ----- values -----------------------------------------------------------------------------

  /**
   * Reads the `prop_<id>` fields of a submitted user form: a select for a single pick-list
   * property, a multi-select for a multi-valued pick list, a textarea (one value per line) for
   * multi-valued free text, a text input otherwise. Values are trimmed and de-duplicated.
   */
  parseValues(defs: PropertyDefinition[], body: unknown): { values: PropertyValues; errors: FieldErrors } {
    const values: PropertyValues = new Map();
    const errors: FieldErrors = {};
    for (const def of defs) {
      const field = propertyField(def.id);
      let submitted: string[];
      if (def.allowedValues.length > 0 && def.multiValued) submitted = list(body, field).map((v) => v.trim());
      else if (def.multiValued) submitted = valueLines(text(body, field));
      else submitted = list(body, field).map((v) => v.trim()); // a forged second value is refused below
      const clean: string[] = [];
      for (const v of submitted) if (v !== '' && !clean.includes(v)) clean.push(v);
      if (clean.some((v) => v.includes('\u0000'))) errors[field] = `${def.name}: remove the invalid characters.`;
      else if (clean.some((v) => [...v].length > PROPERTY_VALUE_MAX)) errors[field] = `${def.name}: use at most ${PROPERTY_VALUE_MAX} characters per value.`;
      else if (def.allowedValues.length > 0 && clean.some((v) => !def.allowedValues.includes(v))) errors[field] = `${def.name}: choose values from the list.`;
      else if (!def.multiValued && clean.length > 1) errors[field] = `${def.name} takes a single value.`;
      values.set(def.id, clean);
    }
    return { values, errors };
  }

  /** Replaces the user's values of the properties in `values` (others are left alone). */
  async setValues(tx: EntityManager, userId: number, values: PropertyValues): Promise<void> {
    const ids = [...values.keys()];
    if (ids.length === 0) return;
    await deleteUserValues(tx, userId, ids);
    const rows = [...values.entries()].flatMap(([propertyId, vs]) => vs.map((v) => [propertyId, v] as const));
    if (rows.length === 0) return;
    await insertUserValues(tx, userId, rows);
  }

  /** The values of these users: user id → property id → values (sorted). */
  async valuesFor(userIds: number[], em: EntityManager = this.em): Promise<Map<number, PropertyValues>> {
    const out = new Map<number, PropertyValues>();
    if (userIds.length === 0) return out;
    const rows = await valuesOfUsers(em, userIds);
    for (const r of rows) {
      const forUser = out.get(r.user_id) ?? new Map<number, string[]>();
      forUser.set(r.property_id, [...(forUser.get(r.property_id) ?? []), r.value]);
      out.set(r.user_id, forUser);
    }
    return out;
  }

  /** The fields of a user form, filled with stored values or (after a refusal) the submitted ones. */
  formFields(defs: PropertyDefinition[], values: PropertyValues): PropertyField[] {
    return defs.map((def) => {
      const current = values.get(def.id) ?? [];
      const kind: PropertyField['kind'] =
        def.allowedValues.length > 0 ? (def.multiValued ? 'multiselect' : 'select') : def.multiValued ? 'textarea' : 'text';
      return {
        id: def.id,
        field: propertyField(def.id),
        name: def.name,
        description: def.description,
        kind,
        options: def.allowedValues.map((v) => ({ value: v, selected: current.includes(v) })),
        text: kind === 'textarea' ? current.join('\n') : (current[0] ?? ''),
      };
    });
  }

  /** The submitted values of a form as `formFields` wants them (without validating). */
  submittedValues(defs: PropertyDefinition[], body: unknown): PropertyValues {
    const out: PropertyValues = new Map();
    for (const def of defs) {
      const field = propertyField(def.id);
      if (def.allowedValues.length > 0 && def.multiValued) out.set(def.id, list(body, field));
      else if (def.multiValued) out.set(def.id, text(body, field).split(/\r\n|\r|\n/));
      else out.set(def.id, [text(body, field)]);
    }
    return out;
  }

  private async find(em: EntityManager, id: number, lock = false): Promise<PropertyDefinition> {
    const r = await findProperty(em, id, lock);
    if (!r) throw new NotFoundError();
    return toDefinition(r);
  }

  private async assertNameFree(em: EntityManager, name: string, exceptId: number): Promise<void> {
    if (await isNameTaken(em, 'custom_properties', name, exceptId)) throw ValidationError.single('name', NAME_TAKEN);
  }

  private assertAllowed(actor: Actor): void {
    if (!allows(actor, 'manage_settings')) throw new ForbiddenError();
  }
}

function toDefinition(r: PropertyRow): PropertyDefinition {
  return { id: r.id, name: r.name, description: r.description, allowedValues: r.allowed_values ?? [], multiValued: r.multi_valued };
}

function validate(input: PropertyInput): { name: string; description: string | null; allowedValues: string[]; multiValued: boolean } {
  const errors: FieldErrors = {};
  const name = input.name.trim();
  if (!name) errors.name = 'Enter a name.';
  else if ([...name].length > PROPERTY_NAME_MAX) errors.name = `Use at most ${PROPERTY_NAME_MAX} characters for the name.`;
  const description = input.description.trim();
  if ([...description].length > PROPERTY_DESCRIPTION_MAX) errors.description = `Use at most ${PROPERTY_DESCRIPTION_MAX} characters for the description.`;
  const allowedValues = valueLines(input.allowedValues);
  const long = allowedValues.find((v) => [...v].length > PROPERTY_VALUE_MAX);
  if (long !== undefined) errors.allowedValues = `Each allowed value has at most ${PROPERTY_VALUE_MAX} characters (“${long.slice(0, 30)}…” is longer).`;
  else if (allowedValues.length > PROPERTY_ALLOWED_VALUES_MAX) errors.allowedValues = `Use at most ${PROPERTY_ALLOWED_VALUES_MAX} allowed values.`;
  if (input.valueMode !== 'single' && input.valueMode !== 'multi') errors.valueMode = 'Choose single or multiple values.';
  if ([name, description, input.allowedValues].some((s) => s.includes('\u0000'))) errors.name = errors.name ?? 'Remove the invalid characters.';
  if (Object.keys(errors).length > 0) throw new ValidationError(errors);
  return { name, description: description || null, allowedValues, multiValued: input.valueMode === 'multi' };
}
