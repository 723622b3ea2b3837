/**
 * The one place that loads `openid-client` 6. It is ESM-only; this CommonJS build gets it
 * through Node's `require()` of ES modules (Node ≥ 20.19, no flag), which `module: nodenext`
 * lets TypeScript compile to. Jest on Node 20 cannot do that and compiles the package to
 * CommonJS instead (see `jest.config.js`).
 */
import * as oidc from 'openid-client';

export { oidc };
export type { Configuration as OidcConfiguration } from 'openid-client';
