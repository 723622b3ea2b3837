import { MikroORM } from '@mikro-orm/postgresql';
import { BootstrapResult, bootstrapDatabase } from '../bootstrap/bootstrap.service';
import { runMigrations, withMigrationLock } from './migrate';
import { ormOptions } from './orm-options';

export interface PreparedDatabase extends BootstrapResult {
  appliedMigrations: string[];
}

/**
 * Brings a database up to date before the app serves requests: pending migrations, then the
 * first-start data, both under the migration advisory lock so concurrent starts take turns.
 */
export async function prepareDatabase(databaseUrl: string, adminPassword: string | null): Promise<PreparedDatabase> {
  const orm = await MikroORM.init(ormOptions({ databaseUrl, poolMax: 2 }));
  try {
    return await withMigrationLock(databaseUrl, async () => {
      const appliedMigrations = await runMigrations(orm);
      const result = await bootstrapDatabase(orm.em.fork(), adminPassword);
      return { appliedMigrations, ...result };
    });
  } finally {
    await orm.close(true);
  }
}
