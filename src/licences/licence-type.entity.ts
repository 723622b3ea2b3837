import { Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';

/** A licence type with a number of seats (`null` = unlimited); enabled users occupy seats. */
@Entity({ tableName: 'licence_types' })
export class LicenceType {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 100 })
  name!: string;

  @Property({ type: 'integer', nullable: true })
  seats: number | null = null;

  @Property({ type: 'string', length: 40, nullable: true })
  builtInKey: string | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date & Opt = new Date();
}
