import ExcelJS from 'exceljs';
import request from 'supertest';
import { verifyPassword } from '../../src/accounts/password-hasher';
import { ImportWorker } from '../../src/imports/import-worker';
import type { TestApp } from './app';
import { databaseFingerprint } from './fingerprint';
import { openForm } from './forms';
import { Agent } from './http';

/** Seeds a custom property (name, allowed values, multi-valued). */
export async function createProperty(t: TestApp, name: string, allowedValues: string[] = [], multiValued = false): Promise<number> {
  const [row] = await t.sql<{ id: number }>('insert into custom_properties (name, allowed_values, multi_valued) values ($1, $2, $3) returning id', [name, allowedValues, multiValued]);
  return row.id;
}

export async function createDepartment(t: TestApp, name: string): Promise<void> {
  await t.sql('insert into departments (name) values ($1)', [name]);
}

/** The label of the import page's file field and its button. */
export const IMPORT_FILE_LABEL = 'Excel workbook or CSV file';

/** The content type a browser gives a chosen file, from its extension. */
function browserContentType(fileName: string): string {
  if (/\.xlsx$/i.test(fileName)) return 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
  if (/\.csv$/i.test(fileName)) return 'text/csv';
  return 'application/octet-stream';
}

/** Chooses the file in the import page's form and presses Import, as a browser does. */
export async function uploadFile(agent: Agent, file: Buffer, fileName: string): Promise<request.Response> {
  const form = await openForm(agent, '/imports', 'Import');
  return form.attach(IMPORT_FILE_LABEL, file, fileName, browserContentType(fileName)).submit('Import');
}

export interface JobRow {
  id: number;
  status: string;
  message: string | null;
  error_count: number;
  error_row_count: number;
  imported_count: number;
  total_rows: number | null;
}

/** Uploads, lets the worker finish every queued job, and returns the job row and its page. */
export async function importFile(t: TestApp, agent: Agent, file: Buffer, fileName = 'users.xlsx'): Promise<{ job: JobRow; page: string }> {
  const res = await uploadFile(agent, file, fileName);
  if (res.status !== 303) throw new Error(`Upload answered ${res.status}:\n${res.text.slice(0, 1500)}`);
  const id = Number(/^\/imports\/(\d+)$/.exec(res.headers.location as string)?.[1]);
  await t.app.get(ImportWorker).drain();
  const [job] = await t.sql<JobRow>('select id, status, message, error_count, error_row_count, imported_count, total_rows from import_jobs where id = $1', [id]);
  const page = await agent.get(`/imports/${id}`);
  if (page.status !== 200) throw new Error(`GET /imports/${id} answered ${page.status}`);
  return { job, page: page.text };
}

export async function importErrors(t: TestApp, jobId: number): Promise<{ row_number: number; column_name: string; value: string; message: string }[]> {
  return t.sql('select row_number, column_name, value, message from import_errors where job_id = $1 order by seq', [jobId]);
}

/** Every table that holds users and what belongs to them (not the import history, not the audit log). */
export async function userDataFingerprint(t: TestApp): Promise<Record<string, string>> {
  const all = await databaseFingerprint(t);
  delete all.import_jobs;
  delete all.import_errors;
  return all;
}

export async function passwordWorks(t: TestApp, username: string, password: string): Promise<boolean> {
  const [row] = await t.sql<{ password_hash: string | null }>('select password_hash from users where username = $1', [username]);
  return verifyPassword(row?.password_hash ?? null, password);
}

/** GETs a download and returns its bytes (supertest would otherwise try to parse it as text). */
export async function download(agent: Agent, path: string): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const res = await agent
    .get(path)
    .buffer(true)
    .parse((stream, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => callback(null, Buffer.concat(chunks)));
    });
  return { status: res.status, headers: res.headers as Record<string, string>, body: res.body as Buffer };
}

/** Opens a downloaded workbook with exceljs (tests only: never for uploads). */
export async function openWorkbook(body: Buffer): Promise<ExcelJS.Workbook> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(body as never);
  return wb;
}
