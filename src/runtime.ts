import type { AppConfig } from './config/config';

/**
 * What the app needs at run time beyond the validated configuration: the effective database URL
 * (the embedded cluster's when DATABASE_URL is unset) and the session secret (generated and kept
 * in DATA_DIR when SESSION_SECRET is unset).
 */
export interface AppRuntime {
  config: AppConfig;
  databaseUrl: string;
  sessionSecret: string;
  /** Delete expired session rows periodically (off in tests, so no timer keeps jest alive). */
  pruneSessions: boolean;
  /** Connections of the app's MikroORM pool. */
  poolMax?: number;
}

export const APP_RUNTIME = Symbol('APP_RUNTIME');
