import type { CaseObjects, Expectations, MatrixWorld, RouteCase } from '../authorization-matrix';
import { userRow, workbook } from '../imports-files';

/**
 * Imports (SPEC §4 "Import (Excel)": only Administrators logged in to Global; everyone else is
 * refused with 403, the page being seen-but-not-allowed) and the users export (permission
 * import/export users, for organization administrators in their subtree).
 */

// Local helper: importing `statuses` from authorization-matrix would be a circular import.
const statuses = (administrator: number, orgAdminWithUsers: number, orgAdminWithoutUsers: number, plainMemberWithUsers: number): Expectations => ({
  administrator,
  orgAdminWithUsers,
  orgAdminWithoutUsers,
  plainMemberWithUsers,
});

async function job(w: MatrixWorld, status: 'succeeded' | 'failed', withFile: boolean): Promise<CaseObjects> {
  const file = withFile ? await workbook([userRow(1, { Email: 'not-an-email' })]) : null;
  const [row] = await w.t.sql<{ id: number }>(
    `insert into import_jobs (created_by_id, created_by_name, file_name, file_size, file_kind, file_data, status, message, error_count, error_row_count, finished_at)
     values ((select id from users where username = 'admin'), 'admin', 'matrix.xlsx', $1, 'xlsx', $2, $3, 'done', $4, $4, now()) returning id`,
    [file?.length ?? 0, file, status, status === 'failed' ? 1 : 0],
  );
  if (status === 'failed') {
    await w.t.sql(`insert into import_errors (job_id, seq, row_number, column_name, value, message) values ($1, 1, 2, 'Email', 'not-an-email', 'bad')`, [row.id]);
  }
  return { jobId: row.id };
}

export const IMPORT_CASES: RouteCase[] = [
  { method: 'GET', route: '/imports', target: 'the import page', path: () => '/imports', expect: statuses(200, 403, 403, 403) },
  { method: 'POST', route: '/imports', target: 'an upload without file', path: () => '/imports', expect: statuses(422, 403, 403, 403) },
  { method: 'GET', route: '/imports/template', target: 'the template', path: () => '/imports/template', expect: statuses(200, 403, 403, 403) },
  {
    method: 'GET',
    route: '/imports/:id',
    target: 'a finished import',
    prepare: (w) => job(w, 'succeeded', false),
    path: (_w, o) => `/imports/${o.jobId as number}`,
    expect: statuses(200, 403, 403, 403),
  },
  {
    method: 'GET',
    route: '/imports/:id/errors',
    target: 'a failed import with its file',
    prepare: (w) => job(w, 'failed', true),
    path: (_w, o) => `/imports/${o.jobId as number}/errors`,
    expect: statuses(200, 403, 403, 403),
  },
  {
    method: 'GET',
    route: '/imports/:id/errors',
    target: 'a succeeded import (no errors to download)',
    prepare: (w) => job(w, 'succeeded', false),
    path: (_w, o) => `/imports/${o.jobId as number}/errors`,
    expect: statuses(404, 403, 403, 403),
  },
  { method: 'GET', route: '/users/export', target: 'the users in scope', path: () => '/users/export', expect: statuses(200, 200, 403, 403) },
];
