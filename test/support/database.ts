import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { migrateDatabase } from '../../src/database/migrate';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (npm test), whose global setup starts PostgreSQL.`);
  return value;
}

function urlFor(adminUrl: string, database: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

async function withAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: env('TESSERA_TEST_ADMIN_URL') });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Advisory lock key serializing the one-time template build across jest workers. */
const TEMPLATE_LOCK = 0x7e55e2b;

/**
 * Builds the run's migrated template database once: the first worker to get here migrates a
 * scratch database and renames it into place; the others wait on the lock and find it ready.
 */
async function ensureTemplate(template: string): Promise<void> {
  await withAdmin(async (c) => {
    await c.query('select pg_advisory_lock($1)', [TEMPLATE_LOCK]);
    try {
      const exists = await c.query('select 1 from pg_database where datname = $1', [template]);
      if (exists.rowCount) return;
      const building = `${template}_t_building`;
      await c.query(`drop database if exists "${building}" with (force)`);
      await c.query(`create database "${building}"`);
      await migrateDatabase(urlFor(env('TESSERA_TEST_ADMIN_URL'), building));
      await c.query(`alter database "${building}" rename to "${template}"`);
    } finally {
      await c.query('select pg_advisory_unlock($1)', [TEMPLATE_LOCK]);
    }
  });
}

/** A fresh, migrated database of this test file's own, cloned from the run's template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const template = env('TESSERA_TEST_TEMPLATE');
  await ensureTemplate(template);
  const name = `${template}_t_${randomBytes(5).toString('hex')}`;
  await withAdmin((c) => c.query(`create database "${name}" template "${template}"`));
  return { url: urlFor(env('TESSERA_TEST_ADMIN_URL'), name), name, drop: () => dropDatabase(name) };
}

/** An empty database (no schema), for migration tests. */
export async function createBlankDatabase(): Promise<TestDatabase> {
  const name = `${env('TESSERA_TEST_TEMPLATE')}_t_blank_${randomBytes(5).toString('hex')}`;
  await withAdmin((c) => c.query(`create database "${name}"`));
  return { url: urlFor(env('TESSERA_TEST_ADMIN_URL'), name), name, drop: () => dropDatabase(name) };
}

async function dropDatabase(name: string): Promise<void> {
  await withAdmin((c) => c.query(`drop database if exists "${name}" with (force)`));
}
