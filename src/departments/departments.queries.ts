import type { EntityManager } from '@mikro-orm/postgresql';

/*
 * The department list's SQL. Each function runs on the entity manager it is given: inside
 * `em.transactional(async (tx) => …)` pass `tx`, so the statement joins the transaction.
 */

export interface DepartmentRow {
  id: number;
  name: string;
  /** Contacts whose department is this name (any letter case). */
  contactCount: number;
}

/** Every department by name, with how many contacts carry its name. */
export function listDepartments(db: EntityManager): Promise<DepartmentRow[]> {
  return db.execute(
    `select d.id, d.name, (select count(*)::int from contacts c where lower(c.department) = lower(d.name)) as "contactCount"
         from departments d order by lower(d.name), d.id`,
  );
}

/** One department with its contact count, or null. */
export async function findDepartment(db: EntityManager, id: number): Promise<DepartmentRow | null> {
  const rows: DepartmentRow[] = await db.execute(
    `select d.id, d.name, (select count(*)::int from contacts c where lower(c.department) = lower(d.name)) as "contactCount"
               from departments d where d.id = ?`,
    [id],
  );
  return rows[0] ?? null;
}

export async function insertDepartment(tx: EntityManager, name: string): Promise<{ id: number; name: string }> {
  const [row]: { id: number; name: string }[] = await tx.execute('insert into departments (name) values (?) returning id, name', [name]);
  return row;
}

export async function renameDepartment(tx: EntityManager, id: number, name: string): Promise<void> {
  await tx.execute('update departments set name = ? where id = ?', [name, id]);
}

export async function deleteDepartment(tx: EntityManager, id: number): Promise<void> {
  await tx.execute('delete from departments where id = ?', [id]);
}
