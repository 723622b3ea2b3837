import 'reflect-metadata';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, withDotEnv } from '../config/config';
import { DEMO_PASSWORD, seedDemoData } from '../database/demo-data';
import { ensureDatabase, startEmbeddedPostgres } from '../database/embedded-postgres';
import { prepareDatabase } from '../database/prepare';

/**
 * `npm run seed:demo -- --users 100000 --orgs 1000 --depth 6`: fills a new Tessera database with
 * demo data (DATABASE_URL, or the embedded cluster in DATA_DIR/pg, migrated first). Refuses a
 * database that already holds organizations or users besides the first-start ones.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { users: { type: 'string', default: '1000' }, orgs: { type: 'string', default: '50' }, depth: { type: 'string', default: '4' } },
  });
  const options = { users: whole(values.users, 'users', 1, 2_000_000), orgs: whole(values.orgs, 'orgs', 1, 100_000), depth: whole(values.depth, 'depth', 1, 20) };
  const config = loadConfig(withDotEnv(process.env));
  const embedded = config.databaseUrl ? null : await startEmbeddedPostgres(join(config.dataDir, 'pg'));
  try {
    const url = config.databaseUrl ?? (await ensureDatabase(embedded!, 'tessera'));
    const prepared = await prepareDatabase(url, config.adminPassword);
    if (prepared.generatedAdminPassword) console.log(`Created the built-in admin; its password is ${prepared.generatedAdminPassword}.`);
    const result = await seedDemoData(url, options, (line) => console.log(line));
    console.log(`Demo data ready in ${result.seconds.toFixed(1)} s. Every demo user (user1 … user${options.users}) signs in with the password ${DEMO_PASSWORD}.`);
  } finally {
    await embedded?.stop();
  }
}

class UsageError extends Error {}

function whole(value: string | undefined, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}.`);
  return n;
}

main().catch((error: unknown) => {
  process.stderr.write(error instanceof ConfigError || error instanceof UsageError ? `${error.message}\n` : `Seeding failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
