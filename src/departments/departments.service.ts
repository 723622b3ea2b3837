import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Actor } from '../access/actor';
import { allows } from '../access/policy';
import { AuditService } from '../audit/audit.service';
import { ForbiddenError, NotFoundError, ValidationError, uniqueViolation } from '../common/errors';

export interface DepartmentRow {
  id: number;
  name: string;
  /** Contacts whose department is this name (any letter case). */
  contactCount: number;
}

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
    return this.db.execute(
      `select d.id, d.name, (select count(*)::int from contacts c where lower(c.department) = lower(d.name)) as "contactCount"
         from departments d order by lower(d.name), d.id`,
    );
  }

  async get(actor: Actor, id: number | null): Promise<DepartmentRow> {
    this.assertAllowed(actor);
    const rows: DepartmentRow[] =
      id === null
        ? []
        : await this.db.execute(
            `select d.id, d.name, (select count(*)::int from contacts c where lower(c.department) = lower(d.name)) as "contactCount"
               from departments d where d.id = ?`,
            [id],
          );
    if (!rows[0]) throw new NotFoundError();
    return rows[0];
  }

  async create(actor: Actor, name: string): Promise<DepartmentRow> {
    this.assertAllowed(actor);
    const clean = await this.validate(name, null);
    try {
      return await this.em.transactional(async (tx) => {
        const [row]: { id: number; name: string }[] = await tx.execute('insert into departments (name) values (?) returning id, name', [clean]);
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
        await tx.execute('update departments set name = ? where id = ?', [clean, current.id]);
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
      await tx.execute('delete from departments where id = ?', [current.id]);
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
    const taken = await this.db.execute('select 1 from departments where lower(name) = lower(?) and id <> ? limit 1', [clean, exceptId ?? 0]);
    if (taken.length > 0) throw ValidationError.single('name', NAME_TAKEN);
    return clean;
  }
}
