import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Tessera's configuration: the environment variables of SPEC §1, validated once at start.
 * Nothing else in the code base reads `process.env`; everything receives an `AppConfig`.
 */
export interface AppConfig {
  port: number;
  publicUrl: string;
  dataDir: string;
  databaseUrl: string | null;
  sessionSecret: string | null;
  /**
   * SECRETS_KEY: the key material for secrets stored in the database (identity providers' client
   * secrets); unset → derived from the session secret. Its own variable lets an operator rotate
   * the session secret without losing the stored secrets.
   */
  secretsKey: string | null;
  smtpUrl: string | null;
  mailFrom: string;
  /** Run the credential-mail scheduler in this process every minute (`SCHEDULER=off` disables it). */
  schedulerEnabled: boolean;
  adminPassword: string | null;
  /** `true` when PUBLIC_URL is https: session cookies are then marked `Secure`. */
  secureCookies: boolean;
  /** Limits and worker of the Excel import (SPEC §4 "Import (Excel)"). */
  imports: ImportLimits;
  /** LOG_LEVEL: the least severe level written to the console (`debug` adds Nest's route mapping). */
  logLevel: LogLevelName;
}

/** From most to least severe; a level shows its own messages and every more severe one. */
export const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export interface ImportLimits {
  /** IMPORT_MAX_BYTES: largest upload accepted (default 20 MiB). */
  maxBytes: number;
  /** IMPORT_MAX_INFLATED_BYTES: largest total uncompressed size of a workbook (default 200 MiB). */
  maxInflatedBytes: number;
  /** IMPORT_MAX_ROWS: most data rows in one file (default 100,000). */
  maxRows: number;
  /** IMPORT_POLL_SECONDS: how often an instance looks for queued imports; 0 = only when kicked (default 5). */
  pollSeconds: number;
}

export const APP_CONFIG = Symbol('APP_CONFIG');

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function blankToUndefined(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** An http:// or https:// URL with a host. */
export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** `Name <addr@host>` or `addr@host`. */
const MAIL_ADDRESS = /^(?:[^<>]*<\s*[^\s@<>]+@[^\s@<>]+\s*>|[^\s@<>]+@[^\s@<>]+)$/;

/**
 * Validates the environment and returns the configuration. Every bad variable is named in one
 * error, so an operator fixes them all in one go.
 */
export function loadConfig(env: Env, cwd = process.cwd()): AppConfig {
  const problems: string[] = [];

  const portRaw = blankToUndefined(env.PORT) ?? '3000';
  const port = Number(portRaw);
  if (!/^\d+$/.test(portRaw) || port < 1 || port > 65535) {
    problems.push(`PORT must be a whole number from 1 to 65535 (got "${portRaw}")`);
  }

  const publicUrlRaw = blankToUndefined(env.PUBLIC_URL) ?? `http://localhost:${portRaw}`;
  if (!isHttpUrl(publicUrlRaw)) {
    problems.push(`PUBLIC_URL must be an http:// or https:// URL (got "${publicUrlRaw}")`);
  }

  const dataDir = resolve(cwd, blankToUndefined(env.DATA_DIR) ?? './data');

  const databaseUrl = blankToUndefined(env.DATABASE_URL) ?? null;
  if (databaseUrl !== null) {
    let ok = false;
    try {
      const url = new URL(databaseUrl);
      ok = (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.pathname.length > 1;
    } catch {
      ok = false;
    }
    if (!ok) problems.push('DATABASE_URL must look like postgres://user:password@host:5432/database');
  }

  const sessionSecret = blankToUndefined(env.SESSION_SECRET) ?? null;
  if (sessionSecret !== null && sessionSecret.length < 32) {
    problems.push('SESSION_SECRET must be at least 32 characters long (or unset to generate one)');
  }

  const secretsKey = blankToUndefined(env.SECRETS_KEY) ?? null;
  if (secretsKey !== null && secretsKey.length < 32) {
    problems.push('SECRETS_KEY must be at least 32 characters long (or unset to derive it from the session secret)');
  }

  const smtpUrl = blankToUndefined(env.SMTP_URL) ?? null;
  if (smtpUrl !== null) {
    let ok = false;
    try {
      const url = new URL(smtpUrl);
      ok = (url.protocol === 'smtp:' || url.protocol === 'smtps:') && url.hostname !== '';
    } catch {
      ok = false;
    }
    if (!ok) problems.push('SMTP_URL must look like smtp://user:pass@host:587 or smtps://host:465');
  }

  const mailFrom = blankToUndefined(env.MAIL_FROM) ?? 'Tessera <no-reply@localhost>';
  if (!MAIL_ADDRESS.test(mailFrom)) {
    problems.push(`MAIL_FROM must be an address like "Tessera <no-reply@example.org>" (got "${mailFrom}")`);
  }

  const schedulerRaw = (blankToUndefined(env.SCHEDULER) ?? 'on').toLowerCase();
  if (schedulerRaw !== 'on' && schedulerRaw !== 'off') {
    problems.push(`SCHEDULER must be "on" or "off" (got "${env.SCHEDULER}")`);
  }

  const adminPassword = env.ADMIN_PASSWORD === undefined || env.ADMIN_PASSWORD === '' ? null : env.ADMIN_PASSWORD;
  if (adminPassword !== null && (adminPassword.length < 8 || adminPassword.length > 128)) {
    problems.push('ADMIN_PASSWORD must be 8 to 128 characters long (or unset to generate one)');
  }

  const wholeNumber = (name: string, fallback: number, min: number, max: number): number => {
    const rawValue = blankToUndefined(env[name]);
    if (rawValue === undefined) return fallback;
    const n = Number(rawValue);
    if (!/^\d+$/.test(rawValue) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${rawValue}")`);
      return fallback;
    }
    return n;
  };
  const imports: ImportLimits = {
    maxBytes: wholeNumber('IMPORT_MAX_BYTES', 20 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maxInflatedBytes: wholeNumber('IMPORT_MAX_INFLATED_BYTES', 200 * 1024 * 1024, 1024, 4 * 1024 * 1024 * 1024),
    maxRows: wholeNumber('IMPORT_MAX_ROWS', 100_000, 1, 10_000_000),
    pollSeconds: wholeNumber('IMPORT_POLL_SECONDS', 5, 0, 3600),
  };

  const logLevelRaw = (blankToUndefined(env.LOG_LEVEL) ?? 'log').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevelRaw)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${env.LOG_LEVEL}")`);
  }

  if (problems.length > 0) throw new ConfigError(problems);

  const publicUrl = publicUrlRaw.replace(/\/+$/, '');
  return Object.freeze({
    port,
    publicUrl,
    dataDir,
    databaseUrl,
    sessionSecret,
    secretsKey,
    smtpUrl,
    mailFrom,
    schedulerEnabled: schedulerRaw !== 'off',
    adminPassword,
    secureCookies: publicUrl.startsWith('https://'),
    imports: Object.freeze(imports),
    logLevel: logLevelRaw as LogLevelName,
  });
}

/**
 * Reads `KEY=value` lines from a `.env` file into a copy of `env`; variables already set win.
 * Kept tiny on purpose: quotes around a value are removed, `#` starts a comment line.
 */
export function withDotEnv(env: Env, file = resolve(process.cwd(), '.env')): Env {
  if (!existsSync(file)) return { ...env };
  const merged: Env = { ...env };
  for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (!match || line.trimStart().startsWith('#')) continue;
    const [, key, rawValue] = match;
    const value = rawValue.replace(/^(['"])(.*)\1$/, '$2');
    if (merged[key] === undefined) merged[key] = value;
  }
  return merged;
}
