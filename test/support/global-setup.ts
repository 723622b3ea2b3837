import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';

declare global {
  // Read by the global teardown (same process).
  var __TESSERA_TEST_PG__: { stop(): Promise<void> } | undefined;
  var __TESSERA_TEST_PG_DIR__: string | undefined;
}

/**
 * Starts one PostgreSQL for the whole run: the embedded one, or the server of TEST_DATABASE_URL.
 * The migrated template that test files clone is built by the first file that needs it (see
 * `database.ts`), inside a jest worker, so that MikroORM is only ever loaded in test sandboxes.
 */
export default async function globalSetup(): Promise<void> {
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-test-pg-'));
    const pg = await startEmbeddedPostgres(dir);
    globalThis.__TESSERA_TEST_PG__ = pg;
    globalThis.__TESSERA_TEST_PG_DIR__ = dir;
    adminUrl = pg.adminUrl;
  }
  process.env.TESSERA_TEST_ADMIN_URL = adminUrl;
  process.env.TESSERA_TEST_TEMPLATE = `tessera_template_${process.pid}_${Date.now().toString(36)}`;
}
