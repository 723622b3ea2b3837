import { EntityManager } from '@mikro-orm/postgresql';
import { AuditService } from '../../src/audit/audit.service';
import { APP_CONFIG, AppConfig } from '../../src/config/config';
import { CRASHED_TWICE, ImportWorker } from '../../src/imports/import-worker';
import { createTestApp, TestApp } from '../support/app';
import { createUser } from '../support/factories';
import { workbook } from '../support/imports-files';
import { configureProviders } from '../support/sso';

/**
 * The import worker on the real database: two workers (as two instances would) never run the
 * same job, an expired lease is taken over, a job whose worker died holding it twice is failed, and a file
 * uploaded by someone who is no longer an Administrator is not imported.
 */
jest.setTimeout(120_000);

describe('import worker', () => {
  let t: TestApp;
  let adminId: number;

  beforeAll(async () => {
    t = await createTestApp({ env: { IMPORT_POLL_SECONDS: '0' } });
    await configureProviders(t, ['azure']);
    [{ id: adminId }] = await t.sql<{ id: number }>(`select id from users where username = 'admin'`);
  });
  afterAll(async () => {
    await t.close();
  });

  async function queue(prefix: string, count: number, extra: { status?: string; attempts?: number; leaseUntil?: string; by?: number } = {}): Promise<number> {
    const file = await workbook(
      Array.from({ length: count }, (_, i) => ({ Id: `${prefix}-${i}`, UserName: `${prefix}${i}`, Email: `${prefix}${i}@example.org`, Provider: 'azure' })),
    );
    const [row] = await t.sql<{ id: number }>(
      `insert into import_jobs (created_by_id, created_by_name, file_name, file_size, file_kind, file_data, status, attempts, lease_until)
       values ($1, 'admin', $2, $3, 'xlsx', $4, $5, $6, $7) returning id`,
      [extra.by ?? adminId, `${prefix}.xlsx`, file.length, file, extra.status ?? 'queued', extra.attempts ?? 0, extra.leaseUntil ?? null],
    );
    return row.id;
  }

  const job = async (id: number) =>
    (await t.sql<{ status: string; attempts: number; imported_count: number; message: string }>('select status, attempts, imported_count, message from import_jobs where id = $1', [id]))[0];

  it('two workers drain the queue together and run every job exactly once', async () => {
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push(await queue(`w${i}x`, 20));
    const first = t.app.get(ImportWorker);
    const second = new ImportWorker(t.app.get(EntityManager), t.app.get(AuditService), t.app.get<AppConfig>(APP_CONFIG));
    await Promise.all([first.drain(), second.drain()]);
    for (const id of ids) expect(await job(id)).toMatchObject({ status: 'succeeded', attempts: 1, imported_count: 20 });
    const [{ n }] = await t.sql<{ n: number }>(`select count(*)::int as n from users where username ~ '^w[0-9]x'`);
    expect(n).toBe(120);
    const [{ audits }] = await t.sql<{ audits: number }>(`select count(*)::int as audits from audit_events where action = 'import.succeeded'`);
    expect(audits).toBe(6);
  });

  it('takes over a job whose lease ran out (its instance died) and finishes it', async () => {
    const id = await queue('lease', 3, { status: 'importing', attempts: 1, leaseUntil: '2000-01-01T00:00:00Z' });
    const untouched = await queue('held', 3, { status: 'importing', attempts: 1, leaseUntil: '2999-01-01T00:00:00Z' });
    await t.app.get(ImportWorker).drain();
    expect(await job(id)).toMatchObject({ status: 'succeeded', attempts: 2, imported_count: 3 });
    expect(await job(untouched)).toMatchObject({ status: 'importing', attempts: 1 });
    await t.sql(`update import_jobs set status = 'failed', lease_until = null where id = $1`, [untouched]);
  });

  it('fails a job whose worker died holding it twice, with the reason, instead of running it again', async () => {
    // Claimed twice (attempts = 2), and the second holder died too: its lease ran out. The file is
    // a valid one, so running it a third time would import it.
    const id = await queue('crashy', 2, { status: 'validating', attempts: 2, leaseUntil: '2000-01-01T00:00:00Z' });
    await t.app.get(ImportWorker).drain();
    expect(await job(id)).toMatchObject({ status: 'failed', attempts: 3, message: `Import failed: ${CRASHED_TWICE}` });
    expect(CRASHED_TWICE).toMatch(/stopped the server running it 2 times .* Nothing was imported/);
    expect(await t.sql(`select 1 from users where username like 'crashy%'`)).toEqual([]);
    const [audit] = await t.sql<{ detail: string }>(`select detail from audit_events where action = 'import.failed' and object_id = $1`, [String(id)]);
    expect(audit.detail).toBe(`Import failed: ${CRASHED_TWICE}`);
    // One crash is not enough: a job taken over after its first holder died still runs.
    const once = await queue('crashonce', 2, { status: 'importing', attempts: 1, leaseUntil: '2000-01-01T00:00:00Z' });
    await t.app.get(ImportWorker).drain();
    expect(await job(once)).toMatchObject({ status: 'succeeded', attempts: 2, imported_count: 2 });
  });

  it('does not import a file whose uploader is no longer an Administrator', async () => {
    const former = await createUser(t, { username: 'former_admin', roles: ['administrator'] });
    const id = await queue('orphan', 2, { by: former.id });
    await t.sql(`delete from user_roles where user_id = $1 and role_id = (select id from roles where built_in_key = 'administrator')`, [former.id]);
    await t.app.get(ImportWorker).drain();
    expect(await job(id)).toMatchObject({ status: 'failed', message: 'Import failed: The user who uploaded the file is no longer an Administrator.' });
    expect(await t.sql(`select 1 from users where username like 'orphan%'`)).toEqual([]);
  });
});
