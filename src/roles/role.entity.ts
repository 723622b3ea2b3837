import { Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';
import type { BuiltInRoleKey, Permission } from '../access/permissions';

/** A user group: a named set of permissions from the fixed catalogue. */
@Entity({ tableName: 'roles' })
export class Role {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 100 })
  name!: string;

  @Property({ type: 'text', nullable: true })
  description: string | null = null;

  @Property({ type: 'text[]' })
  permissions: Permission[] & Opt = [];

  /** Set on the built-in roles; the Administrator role keeps every permission. */
  @Property({ type: 'string', length: 40, nullable: true })
  builtInKey: BuiltInRoleKey | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date & Opt = new Date();

  get isAdministratorRole(): boolean {
    return this.builtInKey === 'administrator';
  }
}
