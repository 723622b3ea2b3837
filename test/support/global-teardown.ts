import { rmSync } from 'node:fs';
import { Client } from 'pg';

/** Drops the template and any database a crashed test file left behind, then stops PostgreSQL. */
export default async function globalTeardown(): Promise<void> {
  const adminUrl = process.env.TESSERA_TEST_ADMIN_URL;
  const template = process.env.TESSERA_TEST_TEMPLATE;
  if (adminUrl && template) {
    const admin = new Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ datname: string }>(
        `select datname from pg_database where datname = $1 or datname like $2`,
        [template, `${template}\\_t\\_%`],
      );
      for (const { datname } of rows) await admin.query(`drop database if exists "${datname}" with (force)`);
    } finally {
      await admin.end();
    }
  }
  if (globalThis.__TESSERA_TEST_PG__) await globalThis.__TESSERA_TEST_PG__.stop();
  if (globalThis.__TESSERA_TEST_PG_DIR__) rmSync(globalThis.__TESSERA_TEST_PG_DIR__, { recursive: true, force: true });
}
