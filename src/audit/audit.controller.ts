import { Controller, Get, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
import { queryText } from '../common/form';
import { pageLinks, pageSize } from '../common/pagination';
import { AuditQueryService } from './audit-query.service';

/** Parses a `yyyy-mm-dd` date field; `undefined` when empty or invalid. */
function day(value: unknown, addDays = 0): Date | undefined {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
  const date = new Date(`${value}T00:00:00Z`);
  // Not a real day (2021-02-30 would roll over), or a year PostgreSQL cannot take (0000, 10000).
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) return undefined;
  if (date.getUTCFullYear() < 1 || date.getUTCFullYear() > 9998) return undefined;
  date.setUTCDate(date.getUTCDate() + addDays);
  return date;
}

@Controller('audit')
@RequirePermission('view_audit_log')
export class AuditController {
  constructor(private readonly auditLog: AuditQueryService) {}

  @Get()
  async index(@CurrentActor() actor: Actor, @Query() query: Record<string, unknown>, @Res() res: Response) {
    const filter = {
      q: queryText(query.q) || undefined,
      action: queryText(query.action) || undefined,
      objectType: queryText(query.objectType) || undefined,
      from: day(query.from),
      to: day(query.to, 1),
      before: queryText(query.before) || undefined,
      size: pageSize(query.size),
    };
    const { events, nextCursor, actions } = await this.auditLog.list(actor, filter);
    res.render('audit/index', {
      title: 'Audit log',
      events,
      actions,
      values: { q: filter.q ?? '', action: filter.action ?? '', objectType: filter.objectType ?? '', from: queryText(query.from), to: queryText(query.to) },
      pages: pageLinks('/audit', query, 'before', nextCursor),
    });
  }
}
