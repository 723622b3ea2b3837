import type { Request } from 'express';
import type { SessionCompanions } from './session.queries';

/** What passport keeps in the session for a signed-in user. */
export interface SessionUser {
  id: number;
  /** The user's session version at sign-in; a later bump ends this session. */
  v: number;
}

declare module 'express' {
  interface Request {
    /**
     * What the session read brought along (`SessionStore`): the user as of this request, the
     * client time zone, the list choices' version. Absent when no stored session was read.
     */
    sessionCompanions?: SessionCompanions;
  }
}

declare module 'express-session' {
  interface SessionData {
    currentOrganizationId?: number;
    /** Epoch milliseconds of the sign-in, for the absolute session lifetime. */
    authenticatedAt?: number;
    passport?: { user?: SessionUser };
  }
}

/** Sessions end after 30 minutes without a request... */
export const SESSION_IDLE_MS = 30 * 60 * 1000;
/** ...and 12 hours after sign-in, whatever happens. */
export const SESSION_ABSOLUTE_MS = 12 * 60 * 60 * 1000;

export function sessionUser(req: Request): SessionUser | null {
  const user = req.session?.passport?.user;
  return user && typeof user.id === 'number' && typeof user.v === 'number' ? user : null;
}

/** Ends the session: server-side row removed, cookie cleared by the caller's response. */
export function destroySession(req: Request): Promise<void> {
  return new Promise((resolve) => {
    if (!req.session) return resolve();
    req.session.destroy(() => resolve());
  });
}
