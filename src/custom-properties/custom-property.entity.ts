import { Entity, ManyToOne, Opt, PrimaryKey, PrimaryKeyProp, Property } from '@mikro-orm/core';
import { User } from '../users/user.entity';

/**
 * An administrator-defined user attribute. With `allowedValues` empty it takes free text; with
 * values it is a pick list. A multi-valued property may hold several values per user.
 */
@Entity({ tableName: 'custom_properties' })
export class CustomProperty {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 100 })
  name!: string;

  @Property({ type: 'text', nullable: true })
  description: string | null = null;

  @Property({ type: 'text[]' })
  allowedValues: string[] & Opt = [];

  @Property({ type: 'boolean' })
  multiValued: boolean & Opt = false;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', defaultRaw: 'now()', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}

/** One value of a custom property for one user (several rows for a multi-valued property). */
@Entity({ tableName: 'user_property_values' })
export class UserPropertyValue {
  [PrimaryKeyProp]?: ['user', 'property', 'value'];

  @ManyToOne(() => User, { primary: true, deleteRule: 'cascade' })
  user!: User;

  @ManyToOne(() => CustomProperty, { primary: true, fieldName: 'property_id', deleteRule: 'cascade' })
  property!: CustomProperty;

  @PrimaryKey({ type: 'string', length: 500 })
  value!: string;

  /** Set by the database from the property (not multi-valued); backs the one-value rule. */
  @Property({ type: 'boolean', persist: false })
  single?: boolean;
}
