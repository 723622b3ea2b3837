import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { join } from 'node:path';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { AppLogger } from './common/app-logger';
import { AppConfig } from './config/config';
import { sessionSecret } from './database/data-dir';
import { EmbeddedDatabase, ensureDatabase, startEmbeddedPostgres, StartupError } from './database/embedded-postgres';
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
    embedded = await startEmbeddedPostgres(join(config.dataDir, 'pg'), (message) => {
      // Only the clean-up after an abnormal exit; PostgreSQL's own chatter stays out of the console
      // (what it says when it refuses to start is in the error).
      if (/^(Stopping|Removing) /.test(message)) logger.warn(message);
    });
    try {
      databaseUrl = await ensureDatabase(embedded, 'tessera');
    } catch (error) {
      await embedded.stop();
      throw new StartupError(`The embedded PostgreSQL started but its database "tessera" could not be opened: ${causeOf(error)}`);
    }
  }
  try {
    const prepared = await prepareDatabase(databaseUrl, config.adminPassword).catch((error: unknown) => {
      throw new StartupError(`Preparing the database (migrations, first-start data) failed: ${causeOf(error)}`);
    });
    for (const name of prepared.appliedMigrations) logger.log(`Applied migration ${name}`);
    adminPassword = prepared.generatedAdminPassword;
    if (prepared.adminCreated && !adminPassword) logger.log('Created the built-in admin with the password from ADMIN_PASSWORD.');

    const runtime: AppRuntime = { config, databaseUrl, sessionSecret: sessionSecret(config.sessionSecret, config.dataDir), pruneSessions: true };
    const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(runtime), { bodyParser: false, logger: appLogger, abortOnError: false });
    configureApp(app, runtime);
    await app.listen(config.port).catch(async (error: unknown) => {
      await app.close().catch(() => undefined);
      throw new StartupError(listenFailure(error, config.port));
    });
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

/** A failure's cause in words, never "undefined". */
export function causeOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = error.message || error.name;
    return code && !message.includes(code) ? `${message} (${code})` : message;
  }
  if (error === undefined || error === null || String(error) === '') return 'no reason was given by the failing step';
  return String(error);
}

function listenFailure(error: unknown, port: number): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE') return `PORT ${port} is already in use by another program: stop it or choose another PORT.`;
  if (code === 'EACCES') return `Tessera may not listen on PORT ${port} (permission denied): ports below 1024 need privileges; choose another PORT.`;
  return `Listening on PORT ${port} failed: ${causeOf(error)}`;
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
