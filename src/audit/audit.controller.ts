import { Controller, Get, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
import { queryText } from '../common/form';
import { pageLinks, pageSize } from '../common/pagination';
import { zonedLocalToUtc } from '../credentials/credential-mail';
import { SettingsService } from '../settings/settings.service';
import { AuditQueryService } from './audit-query.service';

/**
 * Parses a `yyyy-mm-dd` date field as the start of that day (plus `addDays`) in the client time
 * zone, the zone every date is shown in; `undefined` when empty or invalid.
 */
function day(value: unknown, timeZone: string, addDays = 0): Date | undefined {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
  const date = new Date(`${value}T00:00:00Z`);
  // Not a real day (2021-02-30 would roll over), or a year PostgreSQL cannot take (0000, 10000).
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) return undefined;
  if (date.getUTCFullYear() < 1 || date.getUTCFullYear() > 9998) return undefined;
  date.setUTCDate(date.getUTCDate() + addDays);
  // A zone whose clocks skip midnight that day: the day starts at the first hour that exists.
  const ymd = date.toISOString().slice(0, 10);
  return zonedLocalToUtc(`${ymd}T00:00`, timeZone) ?? zonedLocalToUtc(`${ymd}T01:00`, timeZone) ?? date;
}

@Controller('audit')
@RequirePermission('view_audit_log')
export class AuditController {
  constructor(
    private readonly auditLog: AuditQueryService,
    private readonly settings: SettingsService,
  ) {}

  @Get()
  async index(@CurrentActor() actor: Actor, @Query() query: Record<string, unknown>, @Res() res: Response) {
    // The client time zone is read only for the date fields (the view helpers show dates in it by themselves).
    const timeZone = query.from || query.to ? (await this.settings.get()).timeZone : null;
    const filter = {
      q: queryText(query.q) || undefined,
      action: queryText(query.action) || undefined,
      objectType: queryText(query.objectType) || undefined,
      from: timeZone === null ? undefined : day(query.from, timeZone),
      to: timeZone === null ? undefined : day(query.to, timeZone, 1),
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
