import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Actor } from '../access/actor';
import { AuditChanges, AuditEvent } from './audit-event.entity';
import type { AuditRowFields } from './audit.queries';

export interface AuditEntry {
  action: string;
  objectType?: string;
  objectId?: string | number;
  objectLabel?: string;
  changes?: AuditChanges | null;
  detail?: string;
}

/** Who an entry is attributed to when there is no signed-in actor (e.g. a failed sign-in). */
export interface AuditSource {
  actorId?: number | null;
  actorName?: string | null;
  ip?: string | null;
}

const SECRET_FIELD = /password|hash|secret|token/i;

/**
 * The changed fields between two plain snapshots; secrets are never recorded, only the fact that
 * they changed. Returns `null` when nothing changed.
 */
export function diffChanges(before: Record<string, unknown>, after: Record<string, unknown>): AuditChanges | null {
  const changes: AuditChanges = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const from = before[key];
    const to = after[key];
    if (JSON.stringify(from) === JSON.stringify(to)) continue;
    changes[key] = SECRET_FIELD.test(key) ? { from: '(hidden)', to: '(changed)' } : { from: from ?? null, to: to ?? null };
  }
  return Object.keys(changes).length > 0 ? changes : null;
}

/** The changes of a created object: every field from `null` to its value. */
export function createdChanges(fields: Record<string, unknown>): AuditChanges | null {
  return diffChanges(nulls(fields), fields);
}

/** The changes of a deleted object: every field from its value to `null`. */
export function deletedChanges(fields: Record<string, unknown>): AuditChanges | null {
  return diffChanges(fields, nulls(fields));
}

function nulls(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(fields).map((key) => [key, null]));
}

/** Records audit events in the caller's unit of work (same transaction as the change itself). */
@Injectable()
export class AuditService {
  constructor(private readonly em: EntityManager) {}

  /** An action by a signed-in actor. */
  async record(actor: Actor, entry: AuditEntry, em: EntityManager = this.em): Promise<void> {
    await this.write({ actorId: actor.userId, actorName: actor.username, ip: actor.ip }, entry, em);
  }

  /** An event without a signed-in actor (sign-in attempts, start-up tasks). */
  async write(source: AuditSource, entry: AuditEntry, em: EntityManager = this.em): Promise<void> {
    const event = em.create(AuditEvent, auditFields(source, entry));
    await em.persistAndFlush(event);
  }
}

/** The fields of the audit row for an entry: lengths cut to the columns', secrets scrubbed. */
export function auditFields(source: AuditSource, entry: AuditEntry): AuditRowFields {
  return {
    actorId: source.actorId ?? null,
    actorName: source.actorName ? source.actorName.slice(0, 100) : null,
    ip: source.ip ? source.ip.slice(0, 64) : null,
    action: entry.action,
    objectType: entry.objectType ?? null,
    objectId: entry.objectId === undefined ? null : String(entry.objectId),
    objectLabel: entry.objectLabel ? entry.objectLabel.slice(0, 300) : null,
    changes: entry.changes ? scrub(entry.changes) : null,
    detail: entry.detail ?? null,
  };
}

function scrub(changes: AuditChanges): AuditChanges {
  const out: AuditChanges = {};
  for (const [key, value] of Object.entries(changes)) {
    out[key] = SECRET_FIELD.test(key) ? { from: '(hidden)', to: '(changed)' } : value;
  }
  return out;
}
