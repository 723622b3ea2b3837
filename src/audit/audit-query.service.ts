import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Actor } from '../access/actor';
import { allows } from '../access/policy';
import { ForbiddenError } from '../common/errors';
import { textSearch } from '../common/search';
import { AuditEvent } from './audit-event.entity';
import { hideAddresses } from './hide-addresses';
import { AuditRow, auditActions, auditPage } from './audit.queries';

export interface AuditFilter {
  q?: string;
  action?: string;
  objectType?: string;
  from?: Date;
  to?: Date;
  /** Keyset cursor: entries older than this id. */
  before?: string;
  size: number;
}

/** One entry of an object's trail, ready to show: each changed field with its values as text. */
export interface TrailEntry {
  occurredAt: Date;
  actorName: string | null;
  action: string;
  changes: { field: string; from: string; to: string }[];
  detail: string | null;
}

/** Reads the audit log for `/audit` and for the audit trail shown on object pages. */
@Injectable()
export class AuditQueryService {
  constructor(private readonly em: EntityManager) {}

  async list(actor: Actor, filter: AuditFilter): Promise<{ events: AuditRow[]; nextCursor: string | null; actions: string[] }> {
    if (!allows(actor, 'view_audit_log')) throw new ForbiddenError();
    const where: string[] = [];
    const params: unknown[] = [];
    const search = textSearch(filter.q, ['actor_name', 'object_label', 'detail']);
    if (search) {
      where.push(search.sql);
      params.push(...search.params);
    }
    if (filter.action) {
      where.push('action = ?');
      params.push(filter.action);
    }
    if (filter.objectType) {
      where.push('object_type = ?');
      params.push(filter.objectType);
    }
    if (filter.from) {
      where.push('occurred_at >= ?');
      params.push(filter.from);
    }
    if (filter.to) {
      where.push('occurred_at < ?');
      params.push(filter.to);
    }
    // At most 18 digits: always inside bigint (a larger cursor would make PostgreSQL fail).
    if (filter.before && /^\d{1,18}$/.test(filter.before)) {
      where.push('id < ?');
      params.push(filter.before);
    }
    const rows = await auditPage(this.em, { sql: where.length ? where.join(' and ') : 'true', params }, filter.size + 1);
    const events = rows.slice(0, filter.size);
    const nextCursor = rows.length > filter.size ? events[events.length - 1].id : null;
    return { events, nextCursor, actions: await auditActions(this.em) };
  }

  /** The trail of one object, newest first (e.g. a user page). */
  trail(objectType: string, objectId: string | number, limit = 50): Promise<AuditEvent[]> {
    return this.em.find(AuditEvent, { objectType, objectId: String(objectId) }, { orderBy: { id: 'desc' }, limit });
  }

  /**
   * The newest `limit` entries of a user's trail as `actor` may read them on the user page (which
   * has already decided that the session sees the user's details), and whether there are more.
   * Entries can name other people's addresses (an Administrator who had the credentials e-mailed
   * to themselves): for anyone but an Administrator, every address in a detail that is not one
   * the user had (now or in an e-mail change of the trail) is hidden.
   */
  async userTrail(actor: Actor, user: { id: number; email: string | null }, limit: number): Promise<{ entries: TrailEntry[]; more: boolean }> {
    const rows: Pick<AuditEvent, 'occurredAt' | 'actorName' | 'action' | 'changes' | 'detail'>[] = await this.em.find(
      AuditEvent,
      { objectType: 'user', objectId: String(user.id) },
      { fields: ['occurredAt', 'actorName', 'action', 'changes', 'detail'], orderBy: { occurredAt: 'desc', id: 'desc' }, limit: limit + 1 },
    );
    const entries = rows.slice(0, limit);
    const own = new Set<string>(user.email ? [user.email.toLowerCase()] : []);
    for (const e of entries) {
      const email = e.changes?.email;
      for (const v of email ? [email.from, email.to] : []) if (typeof v === 'string') own.add(v.toLowerCase());
    }
    return {
      entries: entries.map((e) => ({
        occurredAt: e.occurredAt,
        actorName: e.actorName,
        action: e.action,
        changes: e.changes ? Object.entries(e.changes).map(([field, c]) => ({ field, from: show(c.from), to: show(c.to) })) : [],
        detail: e.detail === null || actor.isAdministrator ? e.detail : hideAddresses(e.detail, own),
      })),
      more: rows.length > limit,
    };
  }
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) return value.join(', ');
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
