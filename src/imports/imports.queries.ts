import type { EntityManager } from '@mikro-orm/postgresql';
import { executeAlone } from '../jobs/job-runner';
import type { ImportError } from './import-rules';
import type { ImportStatus } from './import-job.entity';

/**
 * The SQL of import jobs: the job rows (queued, claimed, leased, finished), their errors, and what
 * the import pages read. Functions named `…Alone` commit on their own (see `executeAlone`); the
 * others run in the entity manager they are given, so inside `em.transactional` they are part of
 * the transaction. The users a job writes are not here (import-store.ts).
 */

export interface ImportJobRow {
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
  hasFile: boolean;
}

export interface ClaimedImport {
  id: number;
  attempts: number;
  /** Taken over from holders that died `maxCrashes` times: failed without being read again. */
  crashed: boolean;
}

export interface ImportJobFile {
  file_name: string;
  file_data: Buffer | null;
  created_by_id: number | null;
  created_by_name: string;
  created_by_ip: string | null;
}

const json = (value: unknown) => JSON.stringify(value);

const JOB_COLUMNS = `id, created_by_name as "createdByName", file_name as "fileName", file_size as "fileSize", status,
  total_rows as "totalRows", processed_rows as "processedRows", imported_count as "importedCount", error_count as "errorCount",
  error_row_count as "errorRowCount", message, created_at as "createdAt", finished_at as "finishedAt", file_data is not null as "hasFile"`;

// ---- The worker: claims and leases ----

/** Jobs waiting for a worker: queued, or claimed by a holder whose lease ran out. */
export async function countRunnableImports(em: EntityManager): Promise<number> {
  const [{ n }]: { n: number }[] = await em.execute(
    `select count(*)::int as n from import_jobs where status = 'queued' or (status in ('validating', 'importing') and lease_until < now())`,
  );
  return n;
}

/** Failed jobs keep their file (for "Download with errors") for `keep` (an interval), then lose it. */
export async function dropOldFailedFiles(em: EntityManager, keep: string): Promise<void> {
  await em.execute(`update import_jobs set file_data = null where status = 'failed' and file_data is not null and finished_at < now() - ?::interval`, [keep]);
}

/**
 * Claims the next job for `lease` (an interval), counting the attempt on the job row. A job taken
 * over from a holder that died (`validating`/`importing` with its lease run out) after
 * `maxCrashes` claims comes back with `crashed` set.
 */
export async function claimImportAlone(em: EntityManager, p: { lease: string; maxCrashes: number; limit: number }): Promise<ClaimedImport[]> {
  return executeAlone(
    em,
    `with next as (
       select id, status in ('validating', 'importing') and attempts >= ? as crashed from import_jobs
        where status = 'queued' or (status in ('validating', 'importing') and lease_until < now())
        order by id limit ? for update skip locked)
     update import_jobs j
        set status = 'validating', attempts = j.attempts + 1, lease_until = now() + ?::interval,
            started_at = coalesce(j.started_at, now()), processed_rows = 0
       from next where j.id = next.id
     returning j.id, j.attempts, next.crashed`,
    [p.maxCrashes, p.limit, p.lease],
  );
}

/** The job's uploader and file; the file only when `withFile` (a crashed job is not read again). */
export async function loadImportJob(em: EntityManager, id: number, withFile: boolean): Promise<ImportJobFile> {
  const [job]: ImportJobFile[] = await em.execute(
    `select file_name, case when ? then file_data end as file_data, created_by_id, created_by_name, created_by_ip from import_jobs where id = ?`,
    [withFile, id],
  );
  return job;
}

/** The file was read: its row count, and the lease renewed. */
export async function setImportTotalRows(em: EntityManager, id: number, totalRows: number, lease: string): Promise<void> {
  await em.execute('update import_jobs set total_rows = ?, lease_until = now() + ?::interval where id = ?', [totalRows, lease, id]);
}

/** The file passed the rules: from here on the job writes (and the lease is renewed). */
export async function markImporting(em: EntityManager, id: number, lease: string): Promise<void> {
  await em.execute(`update import_jobs set status = 'importing', lease_until = now() + ?::interval where id = ?`, [lease, id]);
}

/** Passwords hashed so far, for the progress bar; the lease renewed. */
export async function reportImportProgress(em: EntityManager, id: number, processedRows: number, lease: string): Promise<void> {
  await em.execute(`update import_jobs set processed_rows = ?, lease_until = now() + ?::interval where id = ?`, [processedRows, lease, id]);
}

/** Whether the user is (still) an enabled Administrator. */
export async function isEnabledAdministrator(em: EntityManager, userId: number): Promise<boolean> {
  const [row]: { ok: boolean }[] = await em.execute(
    `select exists (select 1 from users u join user_roles ur on ur.user_id = u.id join roles r on r.id = ur.role_id
                     where u.id = ? and u.enabled and r.built_in_key = 'administrator') as ok`,
    [userId],
  );
  return row.ok;
}

// ---- The worker: the final write (in its transaction) ----

/** Serialises the final write of concurrent imports until the transaction ends. */
export async function lockImportWrites(tx: EntityManager, lockKey: number): Promise<void> {
  await tx.execute('select pg_advisory_xact_lock(?)', [lockKey]);
}

/** The job's claim count and status, the row locked until the transaction ends. */
export async function lockImportJob(tx: EntityManager, id: number): Promise<{ attempts: number; status: string }> {
  const [current]: { attempts: number; status: string }[] = await tx.execute('select attempts, status from import_jobs where id = ? for update', [id]);
  return current;
}

/** Locks the licence rows until the transaction ends, so that the seat counts read after cannot change. */
export async function lockLicences(tx: EntityManager): Promise<void> {
  await tx.execute('select id from licence_types order by id for update');
}

export async function markImportSucceeded(tx: EntityManager, id: number, imported: number, message: string): Promise<void> {
  await tx.execute(
    `update import_jobs set status = 'succeeded', imported_count = ?, processed_rows = ?, file_data = null, lease_until = null, finished_at = now(), message = ?
      where id = ?`,
    [imported, imported, message, id],
  );
}

export async function markImportFailed(tx: EntityManager, id: number, p: { errorCount: number; errorRows: number; message: string }): Promise<void> {
  await tx.execute(`update import_jobs set status = 'failed', error_count = ?, error_row_count = ?, message = ?, lease_until = null, finished_at = now() where id = ?`, [
    p.errorCount,
    p.errorRows,
    p.message,
    id,
  ]);
}

/** Stores the violations of a failed run (replacing any of an earlier attempt). */
export async function storeErrors(em: EntityManager, jobId: number, errors: ImportError[]): Promise<void> {
  await em.execute('delete from import_errors where job_id = ?', [jobId]);
  const CHUNK = 5000;
  for (let start = 0; start < errors.length; start += CHUNK) {
    const rows = errors.slice(start, start + CHUNK).map((e, i) => ({ seq: start + i + 1, row: e.row, col: e.column.slice(0, 120), value: e.value, message: e.message }));
    await em.execute(
      `insert into import_errors (job_id, seq, row_number, column_name, value, message)
       select ?, seq, "row", col, value, message from jsonb_to_recordset(?::jsonb) as x(seq int, "row" int, col text, value text, message text)`,
      [jobId, json(rows)],
    );
  }
}

// ---- The import pages ----

export function recentImportJobs(em: EntityManager, limit: number): Promise<ImportJobRow[]> {
  return em.execute(`select ${JOB_COLUMNS} from import_jobs order by created_at desc, id desc limit ?`, [limit]);
}

export async function findImportJob(em: EntityManager, id: number): Promise<ImportJobRow | null> {
  const [row]: ImportJobRow[] = await em.execute(`select ${JOB_COLUMNS} from import_jobs where id = ?`, [id]);
  return row ?? null;
}

/** Queues an upload for the worker. */
export async function insertImportJob(
  em: EntityManager,
  p: { createdById: number; createdByName: string; createdByIp: string | null; fileName: string; kind: 'xlsx' | 'csv'; file: Buffer },
): Promise<number> {
  // Through knex with bindings, so that the file goes to PostgreSQL as a binary parameter:
  // `em.execute` would inline it into the SQL text as hex, several copies of twice its size
  // (an 11 MB upload cost the server 160 MB).
  const result: { rows: { id: number }[] } = await em.getKnex().raw(
    `insert into import_jobs (created_by_id, created_by_name, created_by_ip, file_name, file_size, file_kind, file_data)
     values (?, ?, ?, ?, ?, ?, ?) returning id`,
    [p.createdById, p.createdByName, p.createdByIp, p.fileName, p.file.length, p.kind, p.file],
  );
  return result.rows[0].id;
}

export function importErrorsPage(em: EntityManager, jobId: number, limit: number, offset: number): Promise<{ row: number; column: string; value: string; message: string }[]> {
  return em.execute(`select row_number as "row", column_name as "column", value, message from import_errors where job_id = ? order by seq limit ? offset ?`, [
    jobId,
    limit,
    offset,
  ]);
}

export function allImportErrors(em: EntityManager, jobId: number): Promise<{ row: number; column: string; message: string }[]> {
  return em.execute('select row_number as "row", column_name as "column", message from import_errors where job_id = ? order by seq', [jobId]);
}

export async function importJobFile(em: EntityManager, id: number): Promise<{ file_name: string; file_data: Buffer | null; status: string } | null> {
  const [row]: { file_name: string; file_data: Buffer | null; status: string }[] = await em.execute('select file_name, file_data, status from import_jobs where id = ?', [id]);
  return row ?? null;
}

/** The names the template's drop-down lists offer (custom properties and organizations aside). */
export async function templateChoices(em: EntityManager): Promise<{ roles: string[]; licences: string[]; profiles: string[]; departments: string[]; providers: string[] }> {
  const [roles, licences, profiles, departments, providers] = await Promise.all([
    em.execute<{ name: string }[]>('select name from roles order by lower(name)'),
    em.execute<{ name: string }[]>('select name from licence_types order by lower(name)'),
    em.execute<{ name: string }[]>('select name from user_profiles order by lower(name)'),
    em.execute<{ name: string }[]>('select name from departments order by lower(name)'),
    // The configured identity providers: the import refuses any other key but local.
    em.execute<{ provider: string }[]>(`select key as provider from identity_providers order by key`),
  ]);
  return {
    roles: roles.map((r) => r.name),
    licences: licences.map((l) => l.name),
    profiles: profiles.map((p) => p.name),
    departments: departments.map((d) => d.name),
    providers: providers.map((p) => p.provider),
  };
}
