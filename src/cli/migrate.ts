import 'reflect-metadata';
import { join } from 'node:path';
import { ConfigError, loadConfig, withDotEnv } from '../config/config';
import { ensureDatabase, startEmbeddedPostgres } from '../database/embedded-postgres';
import { prepareDatabase } from '../database/prepare';

/**
 * `npm run migrate`: applies pending migrations (and the idempotent first-start data) without
 * starting the web server. Uses DATABASE_URL, or the embedded cluster in DATA_DIR/pg.
 */
async function main(): Promise<void> {
  const config = loadConfig(withDotEnv(process.env));
  const embedded = config.databaseUrl ? null : await startEmbeddedPostgres(join(config.dataDir, 'pg'));
  try {
    const url = config.databaseUrl ?? (await ensureDatabase(embedded!, 'tessera'));
    const result = await prepareDatabase(url, config.adminPassword);
    if (result.appliedMigrations.length === 0) console.log('The database is up to date.');
    for (const name of result.appliedMigrations) console.log(`Applied ${name}`);
    if (result.generatedAdminPassword) console.log(`Created the built-in admin; its password is ${result.generatedAdminPassword} (change it at first sign-in).`);
  } finally {
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(error instanceof ConfigError ? `${error.message}\n` : `Migration failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
