import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { join } from 'node:path';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { AppLogger } from './common/app-logger';
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
  // Every Logger (ours and Nest's) writes through one console logger that obeys LOG_LEVEL.
  const appLogger = new AppLogger(config.logLevel);
  Logger.overrideLogger(appLogger);
  let embedded: EmbeddedDatabase | null = null;
  let adminPassword: string | null = null;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    logger.log(`Starting the embedded PostgreSQL in ${join(config.dataDir, 'pg')}`);
    embedded = await startEmbeddedPostgres(join(config.dataDir, 'pg'));
    databaseUrl = await ensureDatabase(embedded, 'tessera');
  }
  try {
    const prepared = await prepareDatabase(databaseUrl, config.adminPassword);
    for (const name of prepared.appliedMigrations) logger.log(`Applied migration ${name}`);
    adminPassword = prepared.generatedAdminPassword;
    if (prepared.adminCreated && !adminPassword) logger.log('Created the built-in admin with the password from ADMIN_PASSWORD.');

    const runtime: AppRuntime = { config, databaseUrl, sessionSecret: sessionSecret(config.sessionSecret, config.dataDir), pruneSessions: true };
    const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(runtime), { bodyParser: false, logger: appLogger, abortOnError: false });
    configureApp(app, runtime);
    await app.listen(config.port);
    logger.log(`Tessera is ready at ${config.publicUrl} (listening on port ${config.port})`);
    // Last, so that it is the last thing on the console and does not scroll away.
    if (adminPassword) announceAdminPassword(adminPassword, config.publicUrl);
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
    // The admin now exists with this password: it must be shown even when the start fails later
    // (a busy port), or nobody could ever sign in.
    if (adminPassword) announceAdminPassword(adminPassword, config.publicUrl);
    await embedded?.stop();
    throw error;
  }
}

/** The one-time admin password in a frame (exported for its test). */
export function adminPasswordNotice(password: string, url: string): string {
  const lines = [
    'Tessera first start: the built-in administrator was created.',
    '',
    `  Sign in at ${url}/login`,
    '  username: admin',
    `  password: ${password}`,
    '',
    'This password is shown only now. Sign in and choose a new one (you will be asked to).',
  ];
  const width = Math.max(...lines.map((l) => l.length));
  const border = `+${'-'.repeat(width + 2)}+`;
  return `\n${border}\n${lines.map((l) => `| ${l.padEnd(width)} |`).join('\n')}\n${border}\n\n`;
}

function announceAdminPassword(password: string, url: string): void {
  // Printed once, on the console only: it is never logged to a file or stored in clear.
  process.stdout.write(adminPasswordNotice(password, url));
}
