import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Actor } from '../access/actor';
import { allows } from '../access/policy';
import { AuditService } from '../audit/audit.service';
import { ForbiddenError, NotFoundError, ValidationError, uniqueViolation } from '../common/errors';
import { isNameTaken } from '../common/names.queries';
import { DepartmentRow, deleteDepartment, findDepartment, insertDepartment, listDepartments, renameDepartment } from './departments.queries';

export type { DepartmentRow } from './departments.queries';

const NAME_TAKEN = 'A department with this name already exists.';
const UNIQUE = { departments_name_unique: ['name', NAME_TAKEN] as [string, string] };

/**
 * The managed list of department names offered by the contact form (Settings → Departments).
 * A contact stores the name itself, so renaming or deleting an entry leaves contacts as they are.
 */
@Injectable()
export class DepartmentsService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
  ) {}

  /** Raw SQL through the entity manager, which joins the transaction the call runs in (a connection's `execute` never does). */
  private get db() {
    return this.em;
  }

  private assertAllowed(actor: Actor): void {
    if (!allows(actor, 'manage_settings')) throw new ForbiddenError();
  }

  async list(actor: Actor): Promise<DepartmentRow[]> {
    this.assertAllowed(actor);
    return listDepartments(this.db);
  }

  async get(actor: Actor, id: number | null): Promise<DepartmentRow> {
    this.assertAllowed(actor);
    const department = id === null ? null : await findDepartment(this.db, id);
    if (!department) throw new NotFoundError();
    return department;
  }

  async create(actor: Actor, name: string): Promise<DepartmentRow> {
    this.assertAllowed(actor);
    const clean = await this.validate(name, null);
    try {
      return await this.em.transactional(async (tx) => {
        const row = await insertDepartment(tx, clean);
        await this.audit.record(actor, { action: 'department.created', objectType: 'department', objectId: row.id, objectLabel: row.name, changes: { name: { from: null, to: row.name } } }, tx);
        return { ...row, contactCount: 0 };
      });
    } catch (error) {
      throw uniqueViolation(error, UNIQUE) ?? error;
    }
  }

  async rename(actor: Actor, id: number | null, name: string): Promise<DepartmentRow> {
    const current = await this.get(actor, id);
    const clean = await this.validate(name, current.id);
    if (clean === current.name) return current;
    try {
      return await this.em.transactional(async (tx) => {
        await renameDepartment(tx, current.id, clean);
        await this.audit.record(
          actor,
          { action: 'department.renamed', objectType: 'department', objectId: current.id, objectLabel: clean, changes: { name: { from: current.name, to: clean } } },
          tx,
        );
        return { ...current, name: clean };
      });
    } catch (error) {
      throw uniqueViolation(error, UNIQUE) ?? error;
    }
  }

  async delete(actor: Actor, id: number | null): Promise<DepartmentRow> {
    const current = await this.get(actor, id);
    await this.em.transactional(async (tx) => {
      await deleteDepartment(tx, current.id);
      await this.audit.record(
        actor,
        { action: 'department.deleted', objectType: 'department', objectId: current.id, objectLabel: current.name, changes: { name: { from: current.name, to: null } } },
        tx,
      );
    });
    return current;
  }

  private async validate(name: string, exceptId: number | null): Promise<string> {
    const clean = name.trim();
    if (!clean) throw ValidationError.single('name', 'Enter a name.');
    if (clean.length > 100) throw ValidationError.single('name', 'Use at most 100 characters.');
    if (/[\u0000-\u001f\u007f]/.test(clean)) throw ValidationError.single('name', 'The name contains characters that cannot be used.');
    if (await isNameTaken(this.db, 'departments', clean, exceptId)) throw ValidationError.single('name', NAME_TAKEN);
    return clean;
  }
}
