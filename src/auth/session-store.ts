import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import connectPgSimple from 'connect-pg-simple';
import session from 'express-session';
import type { RequestHandler } from 'express';
import { Pool } from 'pg';
import { APP_RUNTIME } from '../runtime';
import type { AppRuntime } from '../runtime';
import { SESSION_COOKIE } from './auth.controller';
import { SESSION_IDLE_MS } from './session';
import { SessionCompanions, sessionWithCompanions } from './session.queries';

/**
 * A session row whose expiry was written less than this long ago is not written again: renewing
 * it on every request was a write (and a WAL flush) per page view. Idle sessions therefore end
 * 29 to 30 minutes after their last request instead of exactly 30.
 */
export const SESSION_RENEW_MS = 60 * 1000;

/**
 * Server-side sessions in PostgreSQL (connect-pg-simple, table `session` created by the initial
 * migration). Idle sessions expire after 30 minutes: the cookie is renewed on every request
 * (`rolling`), the row at most once a `SESSION_RENEW_MS`. Cookies are HttpOnly, SameSite=Lax, and
 * Secure when PUBLIC_URL is https.
 */
@Injectable()
export class SessionStore implements OnApplicationShutdown {
  private readonly pool: Pool;
  private readonly store: session.Store & { close?: () => Promise<void> | void };
  private closing = false;

  constructor(@Inject(APP_RUNTIME) private readonly runtime: AppRuntime) {
    this.pool = new Pool({ connectionString: runtime.databaseUrl, max: 5 });
    // An idle client that loses its connection (PostgreSQL restarting or stopping, even during our
    // own shutdown) makes the pool emit 'error': without a listener that would end the process.
    this.pool.on('error', (error) => {
      if (!this.closing) new Logger('Sessions').warn(`Idle session-store connection lost: ${error.message}`);
    });
    const PgStore = connectPgSimple(session);
    this.store = new PgStore({
      pool: this.pool,
      tableName: 'session',
      createTableIfMissing: false,
      pruneSessionInterval: runtime.pruneSessions ? 15 * 60 : false,
    });
    this.renewAtMostOnceAMinute();
  }

  /**
   * The store reads the session with its companions (`sessionWithCompanions`: the user, the
   * client time zone, the list choices' version) and leaves them on the request
   * (`req.sessionCompanions`) for the access guard and the views.
   *
   * It reads the row's expiry with the session and skips the renewal (`touch`) while that
   * expiry is less than a minute older than the one the request would write. The expiry is the
   * row's own, read in the same request, so this holds with several instances and when the row
   * was changed by anyone else.
   */
  private renewAtMostOnceAMinute(): void {
    const store = this.store;
    const touch = store.touch!.bind(store);
    const set = store.set.bind(store);
    const destroy = store.destroy.bind(store);
    // sid → the row's expiry (epoch ms) as read by `get` of the current request.
    const stored = new Map<string, number>();
    // The companions read with a session (see `SessionCompanions`), until express-session turns
    // that session's data into the request's session (`createSession`, in the same tick).
    const companions = new WeakMap<session.SessionData, SessionCompanions>();
    store.get = (sid, callback) => {
      sessionWithCompanions(this.pool, sid, Math.ceil(Date.now() / 1000)).then((row) => {
        if (!row) return callback(null, null);
        // Sessions read but never touched (a request that failed early) must not pile up.
        if (stored.size >= 10_000) stored.clear();
        stored.set(sid, row.expire.getTime());
        companions.set(row.sess, { user: row.user, timeZone: row.timeZone, listChoicesVersion: row.listChoicesVersion });
        callback(null, row.sess);
      }, callback);
    };
    const createSession = store.createSession.bind(store);
    store.createSession = (req, data) => {
      req.sessionCompanions = companions.get(data);
      return createSession(req, data);
    };
    store.touch = (sid, data, callback) => {
      const expire = stored.get(sid);
      stored.delete(sid);
      const wanted = data.cookie.expires ? new Date(data.cookie.expires).getTime() : Date.now() + SESSION_IDLE_MS;
      if (expire !== undefined && wanted - expire < SESSION_RENEW_MS) return callback?.();
      touch(sid, data, callback);
    };
    store.set = (sid, data, callback) => {
      stored.delete(sid);
      set(sid, data, callback);
    };
    store.destroy = (sid, callback) => {
      stored.delete(sid);
      destroy(sid, callback);
    };
  }

  middleware(): RequestHandler {
    return session({
      store: this.store,
      name: SESSION_COOKIE,
      secret: this.runtime.sessionSecret,
      resave: false,
      saveUninitialized: false,
      rolling: true,
      proxy: undefined,
      cookie: {
        httpOnly: true,
        sameSite: 'lax',
        secure: this.runtime.config.secureCookies,
        maxAge: SESSION_IDLE_MS,
        path: '/',
      },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await this.store.close?.();
    await this.pool.end().catch(() => undefined);
  }
}
