import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Public } from '../../access/decorators';
import { flash } from '../../common/flash';
import { safeReturnPath } from '../../common/form';
import { logInSso, SSO_PENDING_MS, takePending } from '../sso-session';
import { SsoRefusedError, SsoSignInService } from '../sso-sign-in.service';
import { OidcFlowError, OidcService } from './oidc.service';

/**
 * The OpenID Connect sign-in: `GET /sso/<key>/start` (the login page's "Sign in with …"
 * link) sends the browser to the provider; the provider sends it back to
 * `GET /sso/<key>/callback`. What the callback must check is in the PostgreSQL session, so it may
 * land on any instance. A refusal goes back to the login page with its message (and an audit
 * entry with the reason).
 */
@Controller('sso')
export class OidcController {
  constructor(
    private readonly oidc: OidcService,
    private readonly signIn: SsoSignInService,
  ) {}

  /**
   * A GET (the login page's link): the provider is another origin, which a form may not redirect
   * to under the Content-Security-Policy. Starting a sign-in changes nothing but this session's
   * pending sign-in, which the state binds to this browser.
   */
  @Public()
  @Get(':key/start')
  async start(@Param('key') key: string, @Req() req: Request, @Res() res: Response, @Query('next') next?: string) {
    const provider = await this.signIn.enabledProvider(key);
    if (!provider || provider.kind !== 'oidc') return this.refused(req, res, 'This sign-in option is not available (any more). Choose another.');
    try {
      const { url, checks } = await this.oidc.start(provider);
      req.session.ssoPending = { key: provider.key, checks, next: safeReturnPath(next), startedAt: Date.now() };
      res.redirect(303, url);
    } catch (error) {
      if (!(error instanceof OidcFlowError)) throw error;
      await this.signIn.refuse(provider, req.ip ?? null, error.code, error.userMessage, error.reason);
      this.refused(req, res, error.userMessage);
    }
  }

  @Public()
  @Get(':key/callback')
  async callback(@Param('key') key: string, @Req() req: Request, @Res() res: Response) {
    const ip = req.ip ?? null;
    const pending = takePending(req);
    const provider = await this.signIn.enabledProvider(key);
    try {
      if (!provider || provider.kind !== 'oidc') {
        throw await this.signIn.refuse(null, ip, 'sso_unknown_provider', 'This sign-in option is not available (any more). Choose another.', `callback for unknown or disabled provider ${JSON.stringify(key)}`);
      }
      if (!pending || pending.key !== provider.key) {
        throw await this.signIn.refuse(provider, ip, 'sso_not_started', 'This sign-in was not started in this browser, or it was already completed. Start again.', 'callback without a sign-in in progress in this session (replayed or foreign answer)');
      }
      if (Date.now() - pending.startedAt > SSO_PENDING_MS) {
        throw await this.signIn.refuse(provider, ip, 'sso_too_slow', 'The sign-in took too long. Start again.', 'callback after the sign-in in progress expired');
      }
      let result;
      try {
        result = await this.oidc.finish(provider, req.originalUrl, pending.checks);
      } catch (error) {
        if (error instanceof OidcFlowError) throw await this.signIn.refuse(provider, ip, error.code, error.userMessage, error.reason);
        throw error;
      }
      const user = await this.signIn.signIn(provider, result.identity, ip);
      await logInSso(req, user, { label: provider.label, url: result.endSessionUrl });
      res.redirect(303, pending.next);
    } catch (error) {
      if (error instanceof SsoRefusedError) return this.refused(req, res, error.message);
      throw error;
    }
  }

  /** After signing out of a session that came from a provider: offers the provider's logout. */
  @Public()
  @Get('signed-out')
  signedOut(@Req() req: Request, @Res() res: Response) {
    const provider = req.session?.ssoSignedOut ?? null;
    if (!provider) return res.redirect(303, '/login?signedOut=1');
    delete req.session.ssoSignedOut;
    res.render('auth/signed-out', { title: 'Signed out', provider });
  }

  /** Back to the login page (POST-redirect-GET), the reason in a flash message. */
  private refused(req: Request, res: Response, message: string): void {
    flash(req, 'error', message);
    res.redirect(303, '/login');
  }
}
