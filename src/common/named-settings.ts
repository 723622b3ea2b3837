import { EntityClass, FilterQuery, LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Actor } from '../access/actor';
import { allows } from '../access/policy';
import { AuditService, createdChanges, deletedChanges, diffChanges } from '../audit/audit.service';
import { BusinessRuleError, ForbiddenError, NotFoundError, uniqueViolation } from './errors';
import { HeldObject, usageOf } from './names.queries';
import { assertNameFree } from './unique-name';

/** A role, user profile or licence type: a uniquely named settings object that users hold. */
export interface NamedSetting {
  id: number;
  name: string;
  builtInKey: string | null;
}

/** What differs between the kinds of named settings: their table, wording and audited fields. */
export interface NamedSettingKind<E extends NamedSetting> {
  entity: EntityClass<E>;
  table: 'roles' | 'user_profiles' | 'licence_types';
  /** The audit object type and action prefix (`role.created`), and the prefix of the refusal codes. */
  kind: HeldObject;
  /** The unique index on `lower(name)` and the message on the `name` field when it is taken. */
  uniqueIndex: string;
  nameTaken: string;
  /** The audited fields. */
  snapshot(entity: E): Record<string, unknown>;
  deletion: {
    builtIn(name: string): string;
    inUse(name: string, userCount: number): string;
    /** A user given it between the check and the delete (the row lock makes this unlikely). */
    inUseRace: string;
    /** The audit detail when it was a default of new users (client settings). */
    wasDefault: string;
  };
}

/**
 * The steps every named setting goes through: the `manage_settings` check, the transaction whose
 * unique violation on the name comes back as a form error, the name-free check, the row lock, and
 * the audit records of created, updated and deleted objects. Each service keeps its own rules.
 */
export class NamedSettings<E extends NamedSetting> {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
    private readonly kind: NamedSettingKind<E>,
  ) {}

  assertAllowed(actor: Actor): void {
    if (!allows(actor, 'manage_settings')) throw new ForbiddenError();
  }

  /** Runs `work` in a transaction; a race on the unique name comes back as the form error. */
  async write<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.em.transactional(work);
    } catch (error) {
      throw uniqueViolation(error, { [this.kind.uniqueIndex]: ['name', this.kind.nameTaken] }) ?? error;
    }
  }

  /** Refuses the name when another object of the kind (other than `exceptId`) has it. */
  assertNameFree(tx: EntityManager, name: string, exceptId: number | null): Promise<void> {
    return assertNameFree(tx, this.kind.table, name, exceptId, this.kind.nameTaken);
  }

  /** The object with its row locked until the transaction ends; not found when it does not exist. */
  async lock(tx: EntityManager, id: number): Promise<E> {
    const entity = await tx.findOne(this.kind.entity, { id } as FilterQuery<E>, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    if (!entity) throw new NotFoundError();
    return entity as E;
  }

  /** Creates the object `build` makes once its name is free, and records it with its fields. */
  create(actor: Actor, name: string, build: (tx: EntityManager) => E): Promise<{ id: number; name: string }> {
    return this.write(async (tx) => {
      await this.assertNameFree(tx, name, null);
      const entity = build(tx);
      await tx.persistAndFlush(entity);
      await this.record(actor, tx, 'created', entity, createdChanges(this.kind.snapshot(entity)));
      return { id: entity.id, name: entity.name };
    });
  }

  /** Applies `change` to the locked object; saves and records the changed fields, if any. */
  async applyChanges(actor: Actor, tx: EntityManager, entity: E, change: () => void): Promise<{ id: number; name: string; changed: boolean }> {
    const before = this.kind.snapshot(entity);
    change();
    const changes = diffChanges(before, this.kind.snapshot(entity));
    if (changes) {
      await tx.flush();
      await this.record(actor, tx, 'updated', entity, changes);
    }
    return { id: entity.id, name: entity.name, changed: changes !== null };
  }

  /**
   * Deletes an object that is not built-in and that no user holds. The database removes it from
   * the client settings' defaults; `wasDefault` says so.
   */
  async delete(actor: Actor, id: number): Promise<{ name: string; wasDefault: boolean }> {
    const { kind, deletion } = this.kind;
    try {
      return await this.em.transactional(async (tx) => {
        // The row lock makes a concurrent assignment wait until this ends.
        const entity = await this.lock(tx, id);
        if (entity.builtInKey !== null) throw new BusinessRuleError(`${kind}_built_in`, deletion.builtIn(entity.name));
        const usage = await usageOf(tx, kind, id);
        if (usage.user_count > 0) throw new BusinessRuleError(`${kind}_in_use`, deletion.inUse(entity.name, usage.user_count));
        const name = entity.name;
        const changes = deletedChanges(this.kind.snapshot(entity));
        await tx.execute(`delete from ${this.kind.table} where id = ?`, [id]);
        await this.record(actor, tx, 'deleted', { id, name }, changes, usage.is_default ? deletion.wasDefault : undefined);
        return { name, wasDefault: usage.is_default };
      });
    } catch (error) {
      if ((error as { code?: string })?.code === '23503') throw new BusinessRuleError(`${kind}_in_use`, deletion.inUseRace);
      throw error;
    }
  }

  private record(
    actor: Actor,
    tx: EntityManager,
    what: 'created' | 'updated' | 'deleted',
    object: { id: number; name: string },
    changes: ReturnType<typeof diffChanges>,
    detail?: string,
  ): Promise<void> {
    const { kind } = this.kind;
    return this.audit.record(actor, { action: `${kind}.${what}`, objectType: kind, objectId: object.id, objectLabel: object.name, changes, detail }, tx);
  }
}

/** "1 user holds" or "3 users hold", for the refusal to delete something in use. */
export function usersHold(count: number): string {
  return count === 1 ? '1 user holds' : `${count} users hold`;
}
