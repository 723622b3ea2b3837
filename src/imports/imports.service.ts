import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import type { Writable } from 'node:stream';
import type { Actor } from '../access/actor';
import { ForbiddenError, NotFoundError, ValidationError } from '../common/errors';
import { APP_CONFIG } from '../config/config';
import type { AppConfig } from '../config/config';
import { ERRORS_COLUMN } from './columns';
import { ERRORS_KEPT_MAX } from './import-rules';
import { ImportWorker } from './import-worker';
import { loadProperties, organizationPaths } from './import-store';
import { allImportErrors, findImportJob, ImportJobRow, importErrorsPage, importJobFile, insertImportJob, recentImportJobs, templateChoices } from './imports.queries';
import { streamingWorkbook, writeTemplate } from './sheet-writers';
import { gateUpload, ImportFileError, readUpload } from './workbook-reader';
import type { Upload } from './upload-parser';

export interface ImportJobView extends ImportJobRow {
  running: boolean;
}

export interface ImportErrorView {
  row: number;
  column: string;
  value: string;
  message: string;
}

const ERRORS_PAGE = 200;
/**
 * The import pages (SPEC §4 "Import (Excel)"): only Administrators logged in to Global may import
 * ("import users only for the Global organization"). Uploads pass the hostile-file gate at once;
 * the worker does the rest in the background.
 */
@Injectable()
export class ImportsService {
  constructor(
    private readonly em: EntityManager,
    private readonly worker: ImportWorker,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Seen-but-not-allowed: every other session gets 403 (the menu does not offer it). */
  assertAllowed(actor: Actor): void {
    if (!actor.isAdministrator) throw new ForbiddenError('Only Administrators signed in to Global may import users.');
  }

  async history(actor: Actor): Promise<ImportJobView[]> {
    this.assertAllowed(actor);
    return (await recentImportJobs(this.em, 50)).map(withRunning);
  }

  /**
   * Takes an upload: refused at once (nothing stored) when it is missing, too large, not a
   * workbook, encrypted or a zip bomb by its declared sizes; otherwise queued for the worker.
   */
  async upload(actor: Actor, upload: Upload | null, uploadError: string | undefined): Promise<{ id: number }> {
    this.assertAllowed(actor);
    if (uploadError) throw ValidationError.single('file', uploadError);
    if (!upload) throw ValidationError.single('file', 'Choose an Excel workbook (.xlsx) or a CSV file to import.');
    const fileName = upload.fileName.replace(/[\u0000-\u001f\u007f]/g, '').slice(-255) || 'upload';
    let kind: 'xlsx' | 'csv';
    try {
      kind = (await gateUpload(upload.buffer, fileName, this.config.imports)).kind;
    } catch (error) {
      if (error instanceof ImportFileError) throw ValidationError.single('file', error.message);
      throw error;
    }
    const id = await insertImportJob(this.em, {
      createdById: actor.userId,
      createdByName: actor.username.slice(0, 100),
      createdByIp: actor.ip ? actor.ip.slice(0, 64) : null,
      fileName,
      kind,
      file: upload.buffer,
    });
    this.worker.kick();
    return { id };
  }

  /** The job with one page of its errors; `errorsKept` is less than `job.errorCount` when only the first `ERRORS_KEPT_MAX` were kept. */
  async job(actor: Actor, id: number, page: number): Promise<{ job: ImportJobView; errors: ImportErrorView[]; errorsKept: number; page: number; pages: number }> {
    this.assertAllowed(actor);
    const row = await findImportJob(this.em, id);
    if (!row) throw new NotFoundError();
    const errorsKept = Math.min(row.errorCount, ERRORS_KEPT_MAX);
    const pages = Math.max(1, Math.ceil(errorsKept / ERRORS_PAGE));
    const current = Math.min(Math.max(1, page), pages);
    const errors: ImportErrorView[] = await importErrorsPage(this.em, id, ERRORS_PAGE, (current - 1) * ERRORS_PAGE);
    return { job: withRunning(row), errors, errorsKept, page: current, pages };
  }

  /** "Download with errors": the uploaded rows again, with a column listing each row's errors. */
  async writeErrorWorkbook(actor: Actor, id: number, out: Writable): Promise<string> {
    this.assertAllowed(actor);
    const row = await importJobFile(this.em, id);
    if (!row || row.status !== 'failed' || !row.file_data) throw new NotFoundError('This import has no file with errors to download.');
    const sheet = await readUpload(row.file_data, row.file_name, this.config.imports).catch(() => null);
    if (!sheet) throw new NotFoundError('This file cannot be read, so there is nothing to download.');
    const errors = await allImportErrors(this.em, id);
    const byRow = new Map<number, string[]>();
    for (const e of errors) byRow.set(e.row, [...(byRow.get(e.row) ?? []), e.column ? `${e.column}: ${e.message}` : e.message]);
    const errorsAt = sheet.headers.findIndex((h) => h.trim().toLowerCase() === ERRORS_COLUMN.toLowerCase());
    const headers = errorsAt >= 0 ? sheet.headers.filter((_, i) => i !== errorsAt) : sheet.headers;
    const writer = streamingWorkbook(out, 'Users');
    writer.header([...headers, ERRORS_COLUMN]);
    const headerErrors = byRow.get(sheet.headerRow);
    if (headerErrors) writer.row([...headers.map(() => ''), headerErrors.join('\n')]);
    // Rows keep their cells only up to the last filled one: take every column by its index.
    const columns = sheet.headers.map((_, i) => i).filter((i) => i !== errorsAt);
    for (const r of sheet.rows) {
      const cells = columns.map((i) => r.cells[i]?.text ?? '');
      writer.row([...cells, (byRow.get(r.rowNumber) ?? []).join('\n')]);
    }
    await writer.finish();
    return row.file_name.replace(/\.(xlsx|csv)$/i, '') + '-errors.xlsx';
  }

  async writeTemplate(actor: Actor, out: Writable): Promise<void> {
    this.assertAllowed(actor);
    const [properties, orgs, choices] = await Promise.all([loadProperties(this.em), organizationPaths(this.em), templateChoices(this.em)]);
    await writeTemplate(out, {
      properties,
      providers: ['local', ...choices.providers],
      roles: choices.roles,
      organizations: orgs.filter((o) => o.namePath !== '').map((o) => o.namePath),
      rootName: orgs.find((o) => o.namePath === '')?.name ?? 'Global',
      licences: choices.licences,
      profiles: choices.profiles,
      departments: choices.departments,
    });
  }
}

function withRunning(job: ImportJobRow): ImportJobView {
  return { ...job, running: job.status === 'queued' || job.status === 'validating' || job.status === 'importing' };
}
