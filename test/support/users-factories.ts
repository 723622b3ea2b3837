import type { TestApp } from './app';

/** A custom property inserted directly; returns its id. */
export async function createProperty(t: TestApp, name: string, options: { allowedValues?: string[]; multiValued?: boolean; description?: string } = {}): Promise<number> {
  const [row] = await t.sql<{ id: number }>(
    'insert into custom_properties (name, description, allowed_values, multi_valued) values ($1, $2, $3, $4) returning id',
    [name, options.description ?? null, options.allowedValues ?? [], options.multiValued ?? false],
  );
  return row.id;
}

/** Stores values of a property for a user directly. */
export async function setPropertyValues(t: TestApp, userId: number, propertyId: number, values: string[]): Promise<void> {
  for (const v of values) await t.sql('insert into user_property_values (user_id, property_id, value) values ($1, $2, $3)', [userId, propertyId, v]);
}

/** A licence type with `seats` (null: unlimited); returns its id. */
export async function createLicence(t: TestApp, name: string, seats: number | null): Promise<number> {
  const [row] = await t.sql<{ id: number }>('insert into licence_types (name, seats) values ($1, $2) returning id', [name, seats]);
  return row.id;
}

/** Gives a user a licence directly. */
export async function setLicence(t: TestApp, userId: number, licenceId: number | null): Promise<void> {
  await t.sql('update users set licence_id = $1 where id = $2', [licenceId, userId]);
}
