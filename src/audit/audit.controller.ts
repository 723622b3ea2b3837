import { Controller, Get, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
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

function str(value: unknown): string {
  return typeof value === 'string' ? value.trim().slice(0, 200) : '';
}

@Controller('audit')
@RequirePermission('view_audit_log')
export class AuditController {
  constructor(private readonly auditLog: AuditQueryService) {}

  @Get()
  async index(@CurrentActor() actor: Actor, @Query() query: Record<string, unknown>, @Res() res: Response) {
    const filter = {
      q: str(query.q) || undefined,
      action: str(query.action) || undefined,
      objectType: str(query.objectType) || undefined,
      from: day(query.from),
      to: day(query.to, 1),
      before: str(query.before) || undefined,
      size: pageSize(query.size),
    };
    const { events, nextCursor, actions } = await this.auditLog.list(actor, filter);
    res.render('audit/index', {
      title: 'Audit log',
      events,
      actions,
      values: { q: filter.q ?? '', action: filter.action ?? '', objectType: filter.objectType ?? '', from: str(query.from), to: str(query.to) },
      pages: pageLinks('/audit', query, 'before', nextCursor),
    });
  }
}
