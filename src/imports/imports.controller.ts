import { Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
import { NotFoundError, ValidationError } from '../common/errors';
import { flash } from '../common/flash';
import { FormView, parseId, queryText } from '../common/form';
import { ImportsService } from './imports.service';
import { exportFilters, UsersExportService } from './users-export';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

function jobId(value: string): number {
  const id = parseId(value);
  if (id === null) throw new NotFoundError();
  return id;
}

/** `attachment; filename=…` with a plain ASCII fallback and the UTF-8 name (RFC 6266). */
function attachment(res: Response, fileName: string): void {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  res.setHeader('Content-Type', XLSX);
  res.setHeader('Content-Disposition', `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`);
  res.setHeader('Cache-Control', 'no-store');
}

@Controller('imports')
export class ImportsController {
  constructor(private readonly imports: ImportsService) {}

  @Get()
  async index(@CurrentActor() actor: Actor, @Res() res: Response) {
    res.render('imports/index', { title: 'Import users', jobs: await this.imports.history(actor) });
  }

  @Post()
  @FormView('imports/index', { title: 'Import users' })
  async upload(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response) {
    try {
      const { id } = await this.imports.upload(actor, req.upload ?? null, req.uploadError);
      flash(req, 'info', 'The file was received and is being checked.');
      res.redirect(303, `/imports/${id}`);
    } catch (error) {
      if (error instanceof ValidationError) res.locals.jobs = await this.imports.history(actor);
      throw error;
    }
  }

  @Get('template')
  async template(@CurrentActor() actor: Actor, @Res() res: Response) {
    this.imports.assertAllowed(actor);
    attachment(res, 'tessera-users-template.xlsx');
    await this.imports.writeTemplate(actor, res);
    res.end();
  }

  @Get(':id')
  async show(@CurrentActor() actor: Actor, @Param('id') idParam: string, @Query('page') page: unknown, @Res() res: Response) {
    const details = await this.imports.job(actor, jobId(idParam), Number(queryText(page)) || 1);
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
  async errors(@CurrentActor() actor: Actor, @Param('id') idParam: string, @Res() res: Response) {
    const id = jobId(idParam);
    // Everything that can refuse runs before the first byte goes out.
    const { job } = await this.imports.job(actor, id, 1);
    if (job.status !== 'failed' || !job.hasFile) throw new NotFoundError('This import has no file with errors to download.');
    attachment(res, job.fileName.replace(/\.(xlsx|csv)$/i, '') + '-errors.xlsx');
    await this.imports.writeErrorWorkbook(actor, id, res);
    res.end();
  }
}

@Controller('users')
export class UsersExportController {
  constructor(private readonly exporter: UsersExportService) {}

  @Get('export')
  @RequirePermission('import_export_users')
  async export(@CurrentActor() actor: Actor, @Query() query: Record<string, unknown>, @Res() res: Response) {
    // Before the attachment headers, so that a refusal is an ordinary error page.
    await this.exporter.assertFilters(actor, exportFilters(query));
    attachment(res, `users-${new Date().toISOString().slice(0, 10)}.xlsx`);
    await this.exporter.write(actor, exportFilters(query), res);
    res.end();
  }
}
