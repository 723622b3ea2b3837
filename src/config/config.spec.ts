import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, withDotEnv } from './config';

describe('loadConfig', () => {
  it('applies the defaults of SPEC §1 to an empty environment', () => {
    const config = loadConfig({}, '/srv/tessera');
    expect(config).toEqual({
      port: 3000,
      publicUrl: 'http://localhost:3000',
      dataDir: '/srv/tessera/data',
      databaseUrl: null,
      sessionSecret: null,
      secretsKey: null,
      smtpUrl: null,
      mailFrom: 'Tessera <no-reply@localhost>',
      schedulerEnabled: true,
      adminPassword: null,
      secureCookies: false,
      imports: { maxBytes: 20 * 1024 * 1024, maxInflatedBytes: 200 * 1024 * 1024, maxRows: 100_000, pollSeconds: 5 },
      logLevel: 'log',
    });
  });

  it('reads SECRETS_KEY and refuses a short one', () => {
    expect(loadConfig({ SECRETS_KEY: 'k'.repeat(32) }).secretsKey).toBe('k'.repeat(32));
    expect(() => loadConfig({ SECRETS_KEY: 'short' })).toThrow(/SECRETS_KEY must be at least 32 characters/);
  });

  it('reads LOG_LEVEL in any case and names a bad one', () => {
    expect(loadConfig({ LOG_LEVEL: 'Debug' }).logLevel).toBe('debug');
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL must be one of error, warn, log, debug, verbose/);
  });

  it('reads the import limits and names a bad one', () => {
    expect(loadConfig({ IMPORT_MAX_BYTES: '2048', IMPORT_MAX_ROWS: '10', IMPORT_POLL_SECONDS: '0' }).imports).toEqual({
      maxBytes: 2048,
      maxInflatedBytes: 200 * 1024 * 1024,
      maxRows: 10,
      pollSeconds: 0,
    });
    expect(() => loadConfig({ IMPORT_MAX_ROWS: 'lots' })).toThrow(/IMPORT_MAX_ROWS must be a whole number/);
  });

  it('derives PUBLIC_URL from PORT and strips a trailing slash from an explicit one', () => {
    expect(loadConfig({ PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
    expect(loadConfig({ PUBLIC_URL: 'https://tessera.example.org/' }).publicUrl).toBe('https://tessera.example.org');
  });

  it('marks cookies Secure when PUBLIC_URL is https', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://tessera.example.org' }).secureCookies).toBe(true);
  });

  it('treats blank values as unset', () => {
    const config = loadConfig({ DATABASE_URL: '  ', SMTP_URL: '', PORT: '' });
    expect(config.databaseUrl).toBeNull();
    expect(config.smtpUrl).toBeNull();
    expect(config.port).toBe(3000);
  });

  it('accepts valid production values', () => {
    const config = loadConfig({
      PORT: '8443',
      DATABASE_URL: 'postgres://tessera:secret@db.internal:5432/tessera',
      SMTP_URL: 'smtp://mailer:pw@smtp.internal:587',
      MAIL_FROM: 'Tessera <it@example.org>',
      SESSION_SECRET: 'x'.repeat(40),
      ADMIN_PASSWORD: 'Initial-pass-1',
      DATA_DIR: '/var/lib/tessera',
    });
    expect(config.port).toBe(8443);
    expect(config.databaseUrl).toBe('postgres://tessera:secret@db.internal:5432/tessera');
    expect(config.smtpUrl).toBe('smtp://mailer:pw@smtp.internal:587');
    expect(config.dataDir).toBe('/var/lib/tessera');
    expect(config.adminPassword).toBe('Initial-pass-1');
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        PUBLIC_URL: 'ftp://nope',
        DATABASE_URL: 'mysql://x',
        SESSION_SECRET: 'short',
        SMTP_URL: 'http://mail',
        MAIL_FROM: 'not an address',
        ADMIN_PASSWORD: 'abc',
        SCHEDULER: 'sometimes',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ['PORT', 'PUBLIC_URL', 'DATABASE_URL', 'SESSION_SECRET', 'SMTP_URL', 'MAIL_FROM', 'ADMIN_PASSWORD', 'SCHEDULER']) {
      expect(message).toContain(name);
    }
    expect((error as ConfigError).problems).toHaveLength(8);
  });

  it('turns the in-process scheduler off with SCHEDULER=off', () => {
    expect(loadConfig({ SCHEDULER: 'off' }).schedulerEnabled).toBe(false);
    expect(loadConfig({ SCHEDULER: 'ON' }).schedulerEnabled).toBe(true);
  });

  it('refuses a port out of range', () => {
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/PORT/);
    expect(() => loadConfig({ PORT: '0' })).toThrow(/PORT/);
  });
});

describe('withDotEnv', () => {
  it('reads KEY=value lines, strips quotes, ignores comments, and never overrides the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-env-'));
    const file = join(dir, '.env');
    writeFileSync(file, '# comment\nPORT=4000\nMAIL_FROM="Ops <ops@example.org>"\nexport DATA_DIR=/tmp/x\nADMIN_PASSWORD=from-file\n');
    const env = withDotEnv({ ADMIN_PASSWORD: 'from-env' }, file);
    expect(env.PORT).toBe('4000');
    expect(env.MAIL_FROM).toBe('Ops <ops@example.org>');
    expect(env.DATA_DIR).toBe('/tmp/x');
    expect(env.ADMIN_PASSWORD).toBe('from-env');
  });

  it('returns a copy of the environment when there is no .env file', () => {
    expect(withDotEnv({ PORT: '1' }, '/nonexistent/.env')).toEqual({ PORT: '1' });
  });
});
