import 'reflect-metadata';
import { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { loadConfig } from '../../src/config/config';
import { PreparedDatabase, prepareDatabase } from '../../src/database/prepare';
import { APP_RUNTIME, AppRuntime } from '../../src/runtime';
import { createTestDatabase, TestDatabase } from './database';
import { describeStrays, installTransactionProbe, ProbeReport } from './transaction-probe';

export const ADMIN_PASSWORD = 'Admin-pass-2026';

export interface TestApp {
  app: NestExpressApplication;
  /** The Node HTTP server, for supertest. */
  http: ReturnType<NestExpressApplication['getHttpServer']>;
  orm: MikroORM;
  db: TestDatabase;
  prepared: PreparedDatabase;
  /** A fresh EntityManager (its own identity map) for arranging and asserting. */
  em(): EntityManager;
  /** Runs SQL directly on the test database. */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /**
   * The transactions begun and the statements that strayed from their transaction's connection
   * since the last call (see `installTransactionProbe`). `close()` fails the test file when
   * strays are left unreported.
   */
  transactions(): Promise<ProbeReport>;
  /** Starts listening on a free loopback port (browser tests); returns the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** `null`: let first start generate the admin password (returned in `prepared`). */
  adminPassword?: string | null;
  env?: Record<string, string>;
  /** Connections of the app's pool (default 5). */
  poolMax?: number;
}

/**
 * The real application on a database of this test file's own: same module, same `configureApp`
 * as `main.ts`, migrated and bootstrapped the way a first start does it.
 */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-test-data-'));
  const adminPassword = options.adminPassword === undefined ? ADMIN_PASSWORD : options.adminPassword;
  const config = loadConfig({ DATA_DIR: dataDir, ...(adminPassword ? { ADMIN_PASSWORD: adminPassword } : {}), ...options.env });
  const prepared = await prepareDatabase(db.url, config.adminPassword);
  const runtime: AppRuntime = {
    config,
    databaseUrl: db.url,
    sessionSecret: 'test-session-secret-test-session-secret-0123',
    pruneSessions: false,
    poolMax: options.poolMax ?? 5,
  };
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(runtime), { bodyParser: false, logger: ['error', 'warn'], abortOnError: false });
  configureApp(app, runtime);
  await app.init();
  const orm = app.get(MikroORM) as MikroORM;
  const probe = installTransactionProbe(orm);
  const pg = new Client({ connectionString: db.url });
  await pg.connect();

  return {
    app,
    http: app.getHttpServer(),
    orm,
    db,
    prepared,
    em: () => orm.em.fork(),
    sql: async <T>(text: string, params: unknown[] = []) => (await pg.query(text, params)).rows as T[],
    transactions: () => probe.report(),
    async listen() {
      await app.listen(0, '127.0.0.1');
      const address = app.getHttpServer().address();
      return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    },
    async close() {
      const { strays } = await probe.report();
      await pg.end();
      await app.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
      if (strays.length > 0) throw new Error(`Statements ran outside the transaction they were issued in (on another pool connection):\n${describeStrays(strays)}`);
    },
  };
}

/**
 * A second instance of the app on the test app's database, configured like the first (as a
 * second server behind a load balancer would run it), optionally reaching it through another URL
 * (a `TcpProxy`); close it before the first.
 */
export async function createSecondInstance(
  t: TestApp,
  options: { databaseUrl?: string } = {},
): Promise<{ app: NestExpressApplication; http: TestApp['http']; close(): Promise<void> }> {
  const runtime = { ...t.app.get<AppRuntime>(APP_RUNTIME), ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}) };
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(runtime), { bodyParser: false, logger: ['error', 'warn'], abortOnError: false });
  configureApp(app, runtime);
  await app.init();
  return { app, http: app.getHttpServer(), close: () => app.close() };
}
