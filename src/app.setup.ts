import { NestExpressApplication } from '@nestjs/platform-express';
import csurf from 'csurf';
import express, { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import hbs from 'hbs';
import { join } from 'node:path';
import passport from 'passport';
import { SessionStore } from './auth/session-store';
import { SessionUser } from './auth/session';
import { HttpErrorFilter } from './common/error.filter';
import { takeFlash } from './common/flash';
import { registerHelpers } from './common/hbs-helpers';
import { projectRoot } from './common/project-root';
import { uploadParser } from './imports/upload-parser';
import { AppRuntime } from './runtime';

/** Largest urlencoded form Tessera accepts (uploads have their own limits). */
const FORM_LIMIT = '1mb';

/**
 * Configures a Nest application the same way for `main.ts` and for the tests: views, static
 * files, security headers, sessions, body parsing, CSRF, passport, and the error filter.
 * The app must be created with `bodyParser: false`: the body parser has to run before csurf.
 */
/** The SAML assertion consumer service of a provider: `/sso/<key>/saml/acs`. */
const SAML_ACS_PATH = /^\/sso\/[^/]+\/saml\/acs$/;

export function configureApp(app: NestExpressApplication, runtime: AppRuntime): void {
  const root = projectRoot();

  // Proxies on loopback or private networks may tell us the client's address and protocol.
  app.set('trust proxy', 'loopback, linklocal, uniquelocal');
  app.disable('x-powered-by');

  app.setBaseViewsDir(join(root, 'views'));
  app.setViewEngine('hbs');
  app.set('view options', { layout: 'layouts/main' });
  // Compiled templates are kept (Express does so by itself only with NODE_ENV=production, which
  // `npm start` does not set): compiling the view and layout again on every request doubled the
  // CPU time of a users-list page. Template edits need a restart.
  app.set('view cache', true);
  hbs.registerPartials(join(root, 'views', 'partials'));
  registerHelpers(hbs);

  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          ...(runtime.config.secureCookies ? { upgradeInsecureRequests: [] } : {}),
        },
      },
      strictTransportSecurity: runtime.config.secureCookies ? { maxAge: 15552000, includeSubDomains: false } : false,
      referrerPolicy: { policy: 'same-origin' },
      frameguard: { action: 'deny' },
    }),
  );
  app.useStaticAssets(join(root, 'public'), { prefix: '/public/', maxAge: '1h', index: false });

  // /health is polled by load balancers: it needs no session, so it creates none.
  const sessionless = (req: Request) => req.path === '/health';
  const unlessSessionless = (handler: RequestHandler): RequestHandler => (req, res, next) => (sessionless(req) ? next() : handler(req, res, next));

  app.use(unlessSessionless(app.get(SessionStore).middleware()));
  // express-session saves a changed session while the response ends, after the headers went out:
  // a browser follows a 303 as soon as it has the headers, so the next request could still read
  // the old session (lost flash message, sign-in time or session version: "session ended" right
  // after a password change). Redirects therefore wait until the session is saved.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const redirect = res.redirect.bind(res) as (...args: unknown[]) => void;
    res.redirect = ((...args: unknown[]) => {
      if (!req.session) return redirect(...args);
      // A failed save is retried, and reported, by express-session when the response ends.
      req.session.save(() => redirect(...args));
    }) as Response['redirect'];
    next();
  });
  app.use(express.urlencoded({ extended: false, limit: FORM_LIMIT, parameterLimit: 5000 }));
  // Uploads (multipart) are parsed before csurf too, so their `_csrf` field is checked like a form's.
  app.use(uploadParser(runtime.config.imports.maxBytes));
  // The token is read from the form body (or a header), never from the URL where it could leak.
  const csrf = csurf({ value: (req) => (typeof req.body?._csrf === 'string' ? req.body._csrf : String(req.headers['x-csrf-token'] ?? '')) });
  // A SAML identity provider posts its answer from its own page and cannot know our token: what
  // protects that one route is the response itself (signed, for our audience, answering a request
  // this browser started, used once — see SamlSignInService).
  app.use(unlessSessionless((req, res, next) => (req.method === 'POST' && SAML_ACS_PATH.test(req.path) ? next() : csrf(req, res, next))));
  // PostgreSQL text cannot hold a NUL character: such a request is refused (400) before any query.
  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(containsNul(req.query) || containsNul(req.body) ? Object.assign(new Error('NUL character in the request'), { status: 400 }) : undefined);
  });
  app.use(passport.initialize());
  app.use(unlessSessionless(passport.session()));
  passport.serializeUser<SessionUser>((user, done) => done(null, user as SessionUser));
  passport.deserializeUser<SessionUser>((user, done) => done(null, user));

  // Page locals: the CSRF token and the flash messages, taken only when a page is rendered.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const render = res.render.bind(res);
    res.render = ((view: string, options?: object | ((err: Error, html: string) => void), callback?: (err: Error, html: string) => void) => {
      res.locals.csrfToken = typeof req.csrfToken === 'function' ? req.csrfToken() : '';
      res.locals.flash = takeFlash(req);
      res.locals.currentPath = req.originalUrl;
      return render(view, options as object, callback);
    }) as Response['render'];
    next();
  });

  app.useGlobalFilters(new HttpErrorFilter());
}

/** Whether a parsed query or form (strings, arrays, nested objects) contains a NUL character. */
function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (value && typeof value === 'object') return Object.values(value).some(containsNul);
  return false;
}
