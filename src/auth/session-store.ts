import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import connectPgSimple from 'connect-pg-simple';
import session from 'express-session';
import type { RequestHandler } from 'express';
import { Pool } from 'pg';
import { APP_RUNTIME } from '../runtime';
import type { AppRuntime } from '../runtime';
import { SESSION_COOKIE } from './auth.controller';
import { SESSION_IDLE_MS } from './session';

/**
 * Server-side sessions in PostgreSQL (connect-pg-simple, table `session` created by the initial
 * migration). Idle sessions expire after 30 minutes: the cookie and the row are renewed on every
 * request (`rolling`). Cookies are HttpOnly, SameSite=Lax, and Secure when PUBLIC_URL is https.
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
