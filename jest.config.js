/**
 * Test projects: `unit` (pure code, beside it in src/), `integration` (services on a real
 * PostgreSQL), `e2e` (HTML through supertest), `instances` (the compiled app as two processes on
 * one database) and `browser` (Debian's Chromium via playwright-core). One PostgreSQL per run
 * (embedded, or TEST_DATABASE_URL) is started by the global setup; each test file gets its own
 * database cloned from a migrated template.
 */
// openid-client 6 and its dependencies are ESM-only. Node (≥ 20.19) require()s them natively, but
// jest's module loader only does so on Node ≥ 24.9: on Node 20 jest compiles them to CommonJS.
const ESM_ONLY = ['openid-client', 'oauth4webapi', 'jose'];
const transform = {
  '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  [`/node_modules/(${ESM_ONLY.join('|')})/.+\\.js$`]: ['ts-jest', { diagnostics: false, tsconfig: { allowJs: true, module: 'commonjs', moduleResolution: 'node10', isolatedModules: true } }],
};
const transformIgnorePatterns = [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`];
const common = { transform, transformIgnorePatterns, testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  transform,
  transformIgnorePatterns,
  // Setting up a test file (a database cloned from the template, a Nest app) takes seconds on a
  // busy 2-core machine: hooks and tests get a minute, not jest's default 5 s (a global option:
  // jest ignores it inside projects).
  testTimeout: 60_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/support/**/*.spec.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'] },
    { ...common, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'] },
    // The compiled app as child processes; its global setup builds dist when missing or stale.
    { ...common, displayName: 'instances', testMatch: ['<rootDir>/test/instances/**/*.spec.ts'], globalSetup: '<rootDir>/test/instances/global-setup.ts' },
  ],
};
