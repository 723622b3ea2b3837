import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { join } from 'node:path';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { AppConfig } from './config/config';
import { sessionSecret } from './database/data-dir';
import { EmbeddedDatabase, ensureDatabase, startEmbeddedPostgres } from './database/embedded-postgres';
import { PreparedDatabase, prepareDatabase } from './database/prepare';
import { AppRuntime } from './runtime';

export interface RunningServer {
  app: NestExpressApplication;
  url: string;
  prepared: PreparedDatabase;
  stop(): Promise<void>;
}

/**
 * Starts Tessera: the database (DATABASE_URL, or the embedded cluster in DATA_DIR/pg),
 * migrations and first-start data under the advisory lock, then the HTTP server.
 */
export async function startServer(config: AppConfig, logger = new Logger('Tessera')): Promise<RunningServer> {
  let embedded: EmbeddedDatabase | null = null;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    logger.log(`Starting the embedded PostgreSQL in ${join(config.dataDir, 'pg')}`);
    embedded = await startEmbeddedPostgres(join(config.dataDir, 'pg'));
    databaseUrl = await ensureDatabase(embedded, 'tessera');
  }
  try {
    const prepared = await prepareDatabase(databaseUrl, config.adminPassword);
    for (const name of prepared.appliedMigrations) logger.log(`Applied migration ${name}`);
    if (prepared.generatedAdminPassword) announceAdminPassword(prepared.generatedAdminPassword);
    else if (prepared.adminCreated) logger.log('Created the built-in admin with the password from ADMIN_PASSWORD.');

    const runtime: AppRuntime = { config, databaseUrl, sessionSecret: sessionSecret(config.sessionSecret, config.dataDir), pruneSessions: true };
    const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(runtime), { bodyParser: false, logger: ['log', 'warn', 'error'], abortOnError: false });
    configureApp(app, runtime);
    await app.listen(config.port);
    logger.log(`Tessera is ready at ${config.publicUrl} (listening on port ${config.port})`);
    return {
      app,
      url: config.publicUrl,
      prepared,
      async stop() {
        await app.close();
        await embedded?.stop();
      },
    };
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}

function announceAdminPassword(password: string): void {
  const line = '='.repeat(72);
  // Printed once, on the console only: it is never logged to a file or stored in clear.
  process.stdout.write(
    `\n${line}\n  Tessera first start: the built-in administrator was created.\n\n` +
      `    username: admin\n    password: ${password}\n\n` +
      `  Sign in and choose a new password (you will be asked to).\n${line}\n\n`,
  );
}
