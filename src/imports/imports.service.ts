import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import type { Writable } from 'node:stream';
import type { Actor } from '../access/actor';
import { ForbiddenError, NotFoundError, ValidationError } from '../common/errors';
import { APP_CONFIG } from '../config/config';
import type { AppConfig } from '../config/config';
import { ERRORS_COLUMN } from './columns';
import { ImportStatus } from './import-job.entity';
import { ImportWorker } from './import-worker';
import { loadProperties, organizationPaths } from './import-store';
import { streamingWorkbook, writeTemplate } from './sheet-writers';
import { gateUpload, ImportFileError, readUpload } from './workbook-reader';
import type { Upload } from './upload-parser';

export interface ImportJobView {
  id: number;
  createdByName: string;
  fileName: string;
  fileSize: number;
  status: ImportStatus;
  totalRows: number | null;
  processedRows: number;
  importedCount: number;
  errorCount: number;
  errorRowCount: number;
  message: string | null;
  createdAt: Date;
  finishedAt: Date | null;
  running: boolean;
  hasFile: boolean;
}

export interface ImportErrorView {
  row: number;
  column: string;
  value: string;
  message: string;
}

const ERRORS_PAGE = 200;
const JOB_COLUMNS = `id, created_by_name as "createdByName", file_name as "fileName", file_size as "fileSize", status,
  total_rows as "totalRows", processed_rows as "processedRows", imported_count as "importedCount", error_count as "errorCount",
  error_row_count as "errorRowCount", message, created_at as "createdAt", finished_at as "finishedAt", file_data is not null as "hasFile"`;

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
    const rows: ImportJobView[] = await this.em.execute(`select ${JOB_COLUMNS} from import_jobs order by created_at desc, id desc limit 50`);
    return rows.map(withRunning);
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
    // Through knex with bindings, so that the file goes to PostgreSQL as a binary parameter:
    // `em.execute` would inline it into the SQL text as hex, several copies of twice its size
    // (an 11 MB upload cost the server 160 MB).
    const result: { rows: { id: number }[] } = await this.em.getKnex().raw(
      `insert into import_jobs (created_by_id, created_by_name, created_by_ip, file_name, file_size, file_kind, file_data)
       values (?, ?, ?, ?, ?, ?, ?) returning id`,
      [actor.userId, actor.username.slice(0, 100), actor.ip ? actor.ip.slice(0, 64) : null, fileName, upload.buffer.length, kind, upload.buffer],
    );
    const [row] = result.rows;
    this.worker.kick();
    return { id: row.id };
  }

  async job(actor: Actor, id: number, page: number): Promise<{ job: ImportJobView; errors: ImportErrorView[]; page: number; pages: number }> {
    this.assertAllowed(actor);
    const [row]: ImportJobView[] = await this.em.execute(`select ${JOB_COLUMNS} from import_jobs where id = ?`, [id]);
    if (!row) throw new NotFoundError();
    const pages = Math.max(1, Math.ceil(row.errorCount / ERRORS_PAGE));
    const current = Math.min(Math.max(1, page), pages);
    const errors: ImportErrorView[] = await this.em.execute(
      `select row_number as "row", column_name as "column", value, message from import_errors where job_id = ? order by seq limit ? offset ?`,
      [id, ERRORS_PAGE, (current - 1) * ERRORS_PAGE],
    );
    return { job: withRunning(row), errors, page: current, pages };
  }

  /** "Download with errors": the uploaded rows again, with a column listing each row's errors. */
  async writeErrorWorkbook(actor: Actor, id: number, out: Writable): Promise<string> {
    this.assertAllowed(actor);
    const [row]: { file_name: string; file_data: Buffer | null; status: string }[] = await this.em.execute(
      'select file_name, file_data, status from import_jobs where id = ?',
      [id],
    );
    if (!row || row.status !== 'failed' || !row.file_data) throw new NotFoundError('This import has no file with errors to download.');
    const sheet = await readUpload(row.file_data, row.file_name, this.config.imports).catch(() => null);
    if (!sheet) throw new NotFoundError('This file cannot be read, so there is nothing to download.');
    const errors: { row: number; column: string; message: string }[] = await this.em.execute(
      'select row_number as "row", column_name as "column", message from import_errors where job_id = ? order by seq',
      [id],
    );
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
    const [properties, orgs, roles, licences, profiles, departments, providers] = await Promise.all([
      loadProperties(this.em),
      organizationPaths(this.em),
      this.em.execute<{ name: string }[]>('select name from roles order by lower(name)'),
      this.em.execute<{ name: string }[]>('select name from licence_types order by lower(name)'),
      this.em.execute<{ name: string }[]>('select name from user_profiles order by lower(name)'),
      this.em.execute<{ name: string }[]>('select name from departments order by lower(name)'),
      this.em.execute<{ provider: string }[]>(`select distinct provider from users where provider <> 'local' order by provider`),
    ]);
    await writeTemplate(out, {
      properties,
      providers: ['local', ...providers.map((p) => p.provider)],
      roles: roles.map((r) => r.name),
      organizations: orgs.filter((o) => o.namePath !== '').map((o) => o.namePath),
      rootName: orgs.find((o) => o.namePath === '')?.name ?? 'Global',
      licences: licences.map((l) => l.name),
      profiles: profiles.map((p) => p.name),
      departments: departments.map((d) => d.name),
    });
  }
}

function withRunning(job: ImportJobView): ImportJobView {
  return { ...job, running: job.status === 'queued' || job.status === 'validating' || job.status === 'importing' };
}
