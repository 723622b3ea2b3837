import { Entity, ManyToOne, Opt, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * A node of the organization tree. `path` is the materialized path of ids (`/1/5/23/`), so
 * "is X inside Y" is `x.path LIKE y.path || '%'`, backed by a `text_pattern_ops` index.
 */
@Entity({ tableName: 'organizations' })
export class Organization {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => Organization, { nullable: true, deleteRule: 'restrict' })
  parent: Organization | null = null;

  @Property({ type: 'string', length: 200 })
  name!: string;

  @Property({ type: 'text', nullable: true })
  description: string | null = null;

  /** Set by the database from the parent (trigger); read-only for the application. */
  @Property({ type: 'text', persist: true, nullable: false, lazy: false })
  path!: string & Opt;

  /** 0 for Global; set by the database with `path`. */
  @Property({ type: 'integer' })
  depth!: number & Opt;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', defaultRaw: 'now()', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();

  get isRoot(): boolean {
    return this.parent === null;
  }
}
