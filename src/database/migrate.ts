import { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { ormOptions } from './orm-options';

/** Key of the session-level advisory lock taken while migrating (and seeding). */
export const MIGRATION_LOCK_KEY = 0x7e55e2a;

/**
 * Runs `work` while holding a PostgreSQL advisory lock on a dedicated connection, so that two
 * instances starting together take turns: the second waits, then finds nothing left to do.
 */
export async function withMigrationLock<T>(databaseUrl: string, work: () => Promise<T>): Promise<T> {
  const lock = new Client({ connectionString: databaseUrl });
  await lock.connect();
  try {
    await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      return await work();
    } finally {
      await lock.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await lock.end();
  }
}

/** Applies pending migrations; returns the names of those it applied. */
export async function runMigrations(orm: MikroORM): Promise<string[]> {
  const applied = await orm.getMigrator().up();
  return applied.map((m) => m.name);
}

/** Standalone migration: connect, migrate under the lock, disconnect. */
export async function migrateDatabase(databaseUrl: string): Promise<string[]> {
  const orm = await MikroORM.init(ormOptions({ databaseUrl, poolMax: 2 }));
  try {
    return await withMigrationLock(databaseUrl, () => runMigrations(orm));
  } finally {
    await orm.close(true);
  }
}
