import type { EntityManager } from '@mikro-orm/postgresql';

/*
 * The custom properties' SQL: definitions and the users' values. Each function runs on the
 * entity manager it is given: inside `em.transactional(async (tx) => …)` pass `tx`, so the
 * statement joins the transaction.
 */

export interface PropertyRow {
  id: number;
  name: string;
  description: string | null;
  allowed_values: string[];
  multi_valued: boolean;
}

/** A PostgreSQL array literal of text values (quoted and escaped). */
export function pgArray(values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

/** Every property definition, by name. */
export function listProperties(db: EntityManager): Promise<PropertyRow[]> {
  return db.execute('select id, name, description, allowed_values, multi_valued from custom_properties order by lower(name), id');
}

/** One property definition, or null; `lock` keeps its row locked until the transaction ends. */
export async function findProperty(db: EntityManager, id: number, lock: boolean): Promise<PropertyRow | null> {
  const [r]: PropertyRow[] = await db.execute(
    `select id, name, description, allowed_values, multi_valued from custom_properties where id = ?${lock ? ' for update' : ''}`,
    [id],
  );
  return r ?? null;
}

/** How many users hold a value of each property (properties nobody holds are missing). */
export function holderCounts(db: EntityManager): Promise<{ property_id: number; n: number }[]> {
  return db.execute('select property_id, count(distinct user_id)::int as n from user_property_values group by property_id');
}

/** How many users hold a value of the property. */
export async function holderCount(db: EntityManager, propertyId: number): Promise<number> {
  const [{ n }]: { n: number }[] = await db.execute('select count(distinct user_id)::int as n from user_property_values where property_id = ?', [propertyId]);
  return n;
}

export interface PropertyValuesInput {
  name: string;
  description: string | null;
  allowedValues: string[];
  multiValued: boolean;
}

/** Inserts a property definition; returns its id. */
export async function insertProperty(tx: EntityManager, values: PropertyValuesInput): Promise<number> {
  const [row]: { id: number }[] = await tx.execute(
    'insert into custom_properties (name, description, allowed_values, multi_valued) values (?, ?, ?::text[], ?) returning id',
    [values.name, values.description, pgArray(values.allowedValues), values.multiValued],
  );
  return row.id;
}

/** How many users hold a value outside `allowedValues`, and one such value. */
export async function holdersOfValuesOutside(tx: EntityManager, propertyId: number, allowedValues: string[]): Promise<{ n: number; sample: string | null }> {
  const [bad]: { n: number; sample: string | null }[] = await tx.execute(
    `select count(distinct user_id)::int as n, min(value) as sample
               from user_property_values where property_id = ? and not (value = any(?::text[]))`,
    [propertyId, pgArray(allowedValues)],
  );
  return bad;
}

/** How many users hold more than one value of the property. */
export async function holdersOfSeveralValues(tx: EntityManager, propertyId: number): Promise<number> {
  const [several]: { n: number }[] = await tx.execute(
    `select count(*)::int as n from (select user_id from user_property_values where property_id = ? group by user_id having count(*) > 1) x`,
    [propertyId],
  );
  return several.n;
}

export async function updateProperty(tx: EntityManager, id: number, values: PropertyValuesInput): Promise<void> {
  await tx.execute('update custom_properties set name = ?, description = ?, allowed_values = ?::text[], multi_valued = ?, updated_at = now() where id = ?', [
    values.name,
    values.description,
    pgArray(values.allowedValues),
    values.multiValued,
    id,
  ]);
}

/** Deletes the property; its values go with it (`on delete cascade`). */
export async function deleteProperty(tx: EntityManager, id: number): Promise<void> {
  await tx.execute('delete from custom_properties where id = ?', [id]);
}

/** Removes the user's values of these properties. */
export async function deleteUserValues(tx: EntityManager, userId: number, propertyIds: number[]): Promise<void> {
  await tx.execute('delete from user_property_values where user_id = ? and property_id in (?)', [userId, propertyIds]);
}

/** Inserts the user's values, as (property id, value) pairs, in one statement. */
export async function insertUserValues(tx: EntityManager, userId: number, rows: (readonly [number, string])[]): Promise<void> {
  await tx.execute(
    `insert into user_property_values (user_id, property_id, value)
       select ?, p, v from unnest(?::int[], ?::text[]) as x(p, v)`,
    [userId, `{${rows.map((r) => r[0]).join(',')}}`, pgArray(rows.map((r) => r[1]))],
  );
}

/** Every value of these users, ordered by user, property and value. */
export function valuesOfUsers(db: EntityManager, userIds: number[]): Promise<{ user_id: number; property_id: number; value: string }[]> {
  return db.execute('select user_id, property_id, value from user_property_values where user_id in (?) order by user_id, property_id, value', [userIds]);
}
