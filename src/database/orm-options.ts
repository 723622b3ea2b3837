import { defineConfig } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

export interface OrmOptionsInput {
  databaseUrl: string;
  poolMax?: number;
  debug?: boolean;
}

/** MikroORM options shared by the app, the migration command and the tests. */
export function ormOptions({ databaseUrl, poolMax = 10, debug = false }: OrmOptionsInput) {
  return defineConfig({
    clientUrl: databaseUrl,
    entities: ENTITIES,
    discovery: { warnWhenNoEntities: true, requireEntitiesArray: true },
    extensions: [Migrator],
    migrations: {
      migrationsList: MIGRATIONS,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      path: 'migrations',
      silent: true,
    },
    // Tables kept by raw SQL only (no entity): a schema diff must not propose to drop them.
    schemaGenerator: { skipTables: ['session', 'login_throttle', 'list_choices_version'] },
    pool: { min: 0, max: poolMax },
    forceUtcTimezone: true,
    allowGlobalContext: false,
    debug,
  });
}
