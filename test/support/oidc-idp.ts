import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** An account of the test identity provider: `sub` and password to sign in, the claims it vouches for. */
export interface IdpAccount {
  sub: string;
  password: string;
  claims?: Record<string, unknown>;
}

export interface IdpClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
  post_logout_redirect_uris?: string[];
}

export interface TestIdp {
  issuer: string;
  /** Makes the provider misbehave for the next token response (see `oidc-idp.mjs`). */
  control(settings: { tamper?: Record<string, unknown>; codeTtl?: number }): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the real OpenID Connect provider of `oidc-idp.mjs` (oidc-provider) in a child process
 * on a free loopback port.
 */
export async function startIdp(options: { clients: IdpClient[]; accounts: IdpAccount[] }): Promise<TestIdp> {
  const child: ChildProcess = spawn(process.execPath, ['--no-warnings', join(__dirname, 'oidc-idp.mjs'), JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  const issuer = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve((JSON.parse(line) as { issuer: string }).issuer));
    child.once('exit', (code) => reject(new Error(`The test IdP exited (${code}) before it listened:\n${stderr}`)));
  });
  return {
    issuer,
    async control(settings) {
      const res = await fetch(`${issuer}/__control`, { method: 'POST', body: JSON.stringify(settings) });
      if (res.status !== 204) throw new Error(`IdP control answered ${res.status}`);
    },
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}
