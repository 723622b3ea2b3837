import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
import { queryText } from '../common/form';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { pageLinks, pageSize } from '../common/pagination';
import { MailService } from './mail.service';

/** Sent and pending mail (SPEC §4 `/mail`). */
@Controller('mail')
@RequirePermission('send_credentials')
export class MailController {
  constructor(private readonly mail: MailService) {}

  @Get()
  async index(@CurrentActor() actor: Actor, @Query() query: Record<string, unknown>, @Res() res: Response) {
    const status = queryText(query.status);
    const page = await this.mail.list(actor, { after: queryText(query.after) || undefined, size: pageSize(query.size), status: status || undefined });
    res.render('mail/index', { title: 'Mail', ...page, status, isAdministrator: actor.isAdministrator, pages: pageLinks('/mail', query, 'after', page.next) });
  }

  @Get(':id/eml')
  async eml(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) id: number | null, @Res() res: Response) {
    const file = await this.mail.eml(actor, id);
    res.setHeader('Content-Type', 'message/rfc822');
    res.setHeader('Content-Disposition', `attachment; filename="${file.name}"`);
    res.setHeader('Cache-Control', 'no-store');
    file.stream.pipe(res);
  }
}
