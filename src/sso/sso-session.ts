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

/**
 * What a SAML sign-in keeps for single logout: the subject as the IdP named it in the assertion,
 * which a LogoutRequest must repeat, and which an IdP's LogoutRequest names. The index
 * `session_saml_name_id_idx` and `endSamlSessions` read `providerId` and `nameId` by these names.
 */
export interface SamlSessionFacts {
  providerId: number;
  nameId: string;
  nameIdFormat: string | null;
  nameQualifier: string | null;
  spNameQualifier: string | null;
  sessionIndex: string | null;
}

/** How the session came from a provider, for signing out of it too. */
export interface SsoSignOut {
  label: string;
  /** OpenID Connect: the provider's end-session link, if it has one. */
  url: string | null;
  /** SAML: what a LogoutRequest needs (sent only when the IdP's metadata has a logout endpoint). */
  saml?: SamlSessionFacts;
}

/** Who signed out of a session that came from a provider, for the audit entries of what follows. */
export interface SignedOutUser {
  userId?: number | null;
  username?: string | null;
}

/** A SAML single logout the signed-out page offers, until its link is followed (once). */
export interface OfferedSamlLogout extends SignedOutUser {
  label: string;
  facts: SamlSessionFacts;
}

/** A SAML LogoutRequest sent for this (signed-out) browser session, until the IdP answers. */
export interface PendingSamlLogout {
  providerId: number;
  /** Binds the request (in `saml_requests`, by its hash) to this session. */
  browserKey: string;
  /** Who signed out, for the audit entry of the answer. */
  userId: number | null;
  username: string | null;
}

declare module 'express-session' {
  interface SessionData {
    /** At most one sign-in in progress per browser session: a new one replaces the old. */
    ssoPending?: PendingSso;
    /** Set when signed in through a provider: how to sign out of it after signing out of Tessera. */
    ssoSignOut?: SsoSignOut;
    /** After signing out of such a session: what `/sso/signed-out` offers or does (once). */
    ssoSignedOut?: SsoSignOut & SignedOutUser;
    /** A SAML single logout the signed-out page links to (`/sso/<key>/saml/logout`). */
    samlLogoutOffer?: OfferedSamlLogout;
    /** A SAML single logout on its way to the IdP and back. */
    samlLogout?: PendingSamlLogout;
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
export async function logInSso(req: Request, user: User, signOut: SsoSignOut): Promise<void> {
  const sessionUser: SessionUser = { id: user.id, v: user.sessionVersion };
  await new Promise<void>((resolve, reject) => req.logIn(sessionUser, (error?: unknown) => (error ? reject(error) : resolve())));
  req.session.authenticatedAt = Date.now();
  req.session.ssoSignOut = signOut;
}
