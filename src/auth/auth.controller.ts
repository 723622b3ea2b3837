import { Body, Controller, Get, Post, Query, Req, Res } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import passport from 'passport';
import { Public, SessionSetupRoute } from '../access/decorators';
import { AuditService } from '../audit/audit.service';
import { ValidationError } from '../common/errors';
import { flash } from '../common/flash';
import { FormView, parseId, safeReturnPath, text } from '../common/form';
import { LoginRefusedError, LoginThrottledError } from './auth.service';
import { SessionService } from './session.service';
import { SessionUser, destroySession, sessionUser } from './session';

const LOGIN_REASONS: Record<string, string> = {
  expired: 'Your session has expired. Please sign in again.',
  ended: 'Your session has ended. Please sign in again.',
};

@Controller()
export class AuthController {
  constructor(
    private readonly sessions: SessionService,
    private readonly audit: AuditService,
  ) {}

  @Public()
  @Get('login')
  loginPage(@Req() req: Request, @Res() res: Response, @Query('next') next?: string, @Query('reason') reason?: string, @Query('signedOut') signedOut?: string) {
    if (req.actor) return res.redirect(303, safeReturnPath(next));
    const notice = signedOut ? 'You have signed out.' : reason ? (LOGIN_REASONS[reason] ?? null) : null;
    res.render('auth/login', { title: 'Sign in', values: { next: safeReturnPath(next) }, notice });
  }

  @Public()
  @Post('login')
  @FormView('auth/login', { title: 'Sign in' })
  async login(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const errors: Record<string, string> = {};
    if (!text(body, 'username')) errors.username = 'Enter your username.';
    if (typeof body.password !== 'string' || body.password === '') errors.password = 'Enter your password.';
    if (Object.keys(errors).length > 0) throw new ValidationError(errors);

    const user = await authenticate(req, res);
    await logIn(req, user);
    req.session.authenticatedAt = Date.now();
    res.redirect(303, safeReturnPath(body.next));
  }

  /** The organization chooser: shown after sign-in to users with several memberships. */
  @SessionSetupRoute()
  @Get('session/organization')
  async chooseOrganizationPage(@Req() req: Request, @Res() res: Response, @Query('next') next?: string) {
    const identity = sessionUser(req);
    if (!identity) return res.redirect(303, '/login');
    const memberships = await this.sessions.memberships(identity.id);
    res.render('auth/choose-organization', {
      title: 'Choose an organization',
      memberships,
      current: req.session.currentOrganizationId ?? null,
      values: { next: safeReturnPath(next) },
    });
  }

  /** Sets the session's current organization (chooser after sign-in and the header switcher). */
  @SessionSetupRoute()
  @Post('session/organization')
  async chooseOrganization(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const identity = sessionUser(req);
    if (!identity) return res.redirect(303, '/login');
    const organization = await this.sessions.membershipOrganization(identity.id, parseId(body.organizationId));
    req.session.currentOrganizationId = organization.id;
    flash(req, 'info', `You are now working in ${organization.name}.`);
    res.redirect(303, safeReturnPath(body.next));
  }

  @Public()
  @Post('logout')
  async logout(@Req() req: Request, @Res() res: Response) {
    const identity = sessionUser(req);
    if (identity) {
      // A session that has not chosen its organization yet has no actor, but it is still a sign-out.
      const source = { actorId: identity.id, actorName: req.actor?.username ?? null, ip: req.ip ?? null };
      await this.audit.write(source, { action: 'logout', objectType: 'user', objectId: identity.id, objectLabel: req.actor?.username });
    }
    // Signed in through an identity provider: Tessera's session ends here; the provider's own
    // session is the person's to end, so /sso/signed-out offers its logout (OpenID Connect's
    // end-session link, SAML single logout) instead of following it.
    const providerSignOut = req.session?.ssoSignOut ?? null;
    if (providerSignOut) {
      // A fresh, signed-out session carries what that page needs.
      await new Promise<void>((resolve, reject) => req.session.regenerate((error?: unknown) => (error ? reject(error) : resolve())));
      req.session.ssoSignedOut = { ...providerSignOut, userId: identity?.id ?? null, username: req.actor?.username ?? null };
      return res.redirect(303, '/sso/signed-out');
    }
    await destroySession(req);
    res.clearCookie(SESSION_COOKIE);
    res.redirect(303, '/login?signedOut=1');
  }
}

export const SESSION_COOKIE = 'tessera.sid';

/** A throttled sign-in: the login form again with its message, answered 429 Too Many Requests. */
class ThrottledLoginForm extends ValidationError {
  override readonly status = 429;

  constructor(message: string) {
    super({}, message);
  }
}

/** Runs passport-local; a refused sign-in becomes a form error. */
function authenticate(req: Request, res: Response): Promise<SessionUser> {
  return new Promise((resolve, reject) => {
    const next: NextFunction = (error?: unknown) => reject(error ?? new Error('passport called next() without a result'));
    passport.authenticate('local', { session: false }, (error: unknown, user: SessionUser | false) => {
      if (error instanceof LoginRefusedError) return reject(ValidationError.form(error.message));
      if (error instanceof LoginThrottledError) {
        res.setHeader('Retry-After', String(error.retryAfterSeconds));
        return reject(new ThrottledLoginForm(error.message));
      }
      if (error) return reject(error);
      if (!user) return reject(new ValidationError({ username: 'Enter your username.', password: 'Enter your password.' }));
      resolve(user);
    })(req, res, next);
  })
}

/** passport's `req.logIn`: regenerates the session (no fixation) and stores the user in it. */
function logIn(req: Request, user: SessionUser): Promise<void> {
  return new Promise((resolve, reject) => req.logIn(user, (error?: unknown) => (error ? reject(error) : resolve())));
}
