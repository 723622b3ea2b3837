import type { Request } from 'express';
import type { SessionUser } from '../auth/session';
import type { User } from '../users/user.entity';

/** A sign-in begun at a provider; kept in the (PostgreSQL) session until its callback, on any instance. */
export interface PendingSso {
  key: string;
  /** Protocol values that must come back unchanged (OIDC: state, nonce, PKCE verifier; SAML: request id). */
  checks: Record<string, string>;
  /** Where to go after signing in (a safe local path). */
  next: string;
  startedAt: number;
}

declare module 'express-session' {
  interface SessionData {
    /** At most one sign-in in progress per browser session: a new one replaces the old. */
    ssoPending?: PendingSso;
    /** Set when signed in through a provider that offers logout: shown after signing out of Tessera. */
    ssoSignOut?: { label: string; url: string | null };
    /** After signing out of such a session: what `/sso/signed-out` offers (once). */
    ssoSignedOut?: { label: string; url: string | null };
  }
}

/** How long a sign-in may take at the provider before its callback is refused. */
export const SSO_PENDING_MS = 10 * 60 * 1000;

/** Takes the pending sign-in out of the session: a callback is accepted once. */
export function takePending(req: Request): PendingSso | null {
  const pending = req.session?.ssoPending ?? null;
  if (req.session) delete req.session.ssoPending;
  return pending;
}

/**
 * Signs the user in: passport's `logIn` regenerates the session (no fixation) exactly as the
 * password sign-in does, so every session rule applies from here (organization chooser, idle and
 * absolute lifetime, session version).
 */
export async function logInSso(req: Request, user: User, signOut: { label: string; url: string | null }): Promise<void> {
  const sessionUser: SessionUser = { id: user.id, v: user.sessionVersion };
  await new Promise<void>((resolve, reject) => req.logIn(sessionUser, (error?: unknown) => (error ? reject(error) : resolve())));
  req.session.authenticatedAt = Date.now();
  req.session.ssoSignOut = signOut;
}
