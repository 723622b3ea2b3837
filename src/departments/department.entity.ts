import { Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';

/** A department name offered by the Department pull-down of the contact and user forms. */
@Entity({ tableName: 'departments' })
export class Department {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 100 })
  name!: string;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date & Opt = new Date();
}
