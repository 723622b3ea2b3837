import { Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';

/** One changed field: before and after, as shown to people (never a password or its hash). */
export type AuditChanges = Record<string, { from: unknown; to: unknown }>;

/** An entry of the audit log: who did what, when, from where, to which object. */
@Entity({ tableName: 'audit_events' })
export class AuditEvent {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  occurredAt: Date & Opt = new Date();

  /** The acting user (kept as a plain id so entries outlive deleted users). */
  @Property({ type: 'integer', nullable: true })
  actorId: number | null = null;

  @Property({ type: 'string', length: 100, nullable: true })
  actorName: string | null = null;

  @Property({ type: 'string', length: 64, nullable: true })
  ip: string | null = null;

  @Property({ type: 'string', length: 60 })
  action!: string;

  @Property({ type: 'string', length: 40, nullable: true })
  objectType: string | null = null;

  @Property({ type: 'string', length: 40, nullable: true })
  objectId: string | null = null;

  @Property({ type: 'string', length: 300, nullable: true })
  objectLabel: string | null = null;

  @Property({ type: 'json', nullable: true })
  changes: AuditChanges | null = null;

  @Property({ type: 'text', nullable: true })
  detail: string | null = null;
}
