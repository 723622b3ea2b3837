import { Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor } from '../access/decorators';
import { NotFoundError } from '../common/errors';
import { xlsxAttachment } from '../common/download';
import { flash } from '../common/flash';
import { FormView, queryText } from '../common/form';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { ImportsService } from './imports.service';

@Controller('imports')
export class ImportsController {
  constructor(private readonly imports: ImportsService) {}

  @Get()
  async index(@CurrentActor() actor: Actor, @Res() res: Response) {
    res.render('imports/index', { title: 'Import users', jobs: await this.imports.history(actor) });
  }

  @Post()
  @FormView('imports/index', { title: 'Import users' }, async (c: ImportsController, { actor }) => ({ jobs: await c.imports.history(actor) }))
  async upload(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response) {
    const { id } = await this.imports.upload(actor, req.upload ?? null, req.uploadError);
    flash(req, 'info', 'The file was received and is being checked.');
    res.redirect(303, `/imports/${id}`);
  }

  @Get('template')
  async template(@CurrentActor() actor: Actor, @Res() res: Response) {
    this.imports.assertAllowed(actor);
    xlsxAttachment(res, 'tessera-users-template.xlsx');
    await this.imports.writeTemplate(actor, res);
    res.end();
  }

  @Get(':id')
  async show(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Query('page') page: unknown, @Res() res: Response) {
    const details = await this.imports.job(actor, id, Number(queryText(page)) || 1);
    const { job } = details;
    res.render('imports/show', {
      title: `Import ${job.fileName}`,
      ...details,
      refreshSeconds: job.running ? 2 : null,
      progressMax: job.totalRows ?? 0,
      prevPage: details.page > 1 ? details.page - 1 : null,
      nextPage: details.page < details.pages ? details.page + 1 : null,
    });
  }

  @Get(':id/errors')
  async errors(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Res() res: Response) {
    // Everything that can refuse runs before the first byte goes out.
    const { job } = await this.imports.job(actor, id, 1);
    if (job.status !== 'failed' || !job.hasFile) throw new NotFoundError('This import has no file with errors to download.');
    xlsxAttachment(res, job.fileName.replace(/\.(xlsx|csv)$/i, '') + '-errors.xlsx');
    await this.imports.writeErrorWorkbook(actor, id, res);
    res.end();
  }
}
