import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { randomBytes } from 'node:crypto';
import { Public } from '../access/decorators';
import { flash } from '../common/flash';
import { safeReturnPath } from '../common/form';
import { APP_CONFIG } from '../config/config';
import type { AppConfig } from '../config/config';
import { OidcFlowError, OidcService } from './oidc/oidc.service';
import { SAML_BROWSER_COOKIE, cookieOf } from './saml/saml-browser';
import { SAML_REQUEST_TTL_MINUTES, SamlSignInService } from './saml/saml-sign-in.service';
import { destroySession, sessionUser } from '../auth/session';
import { isSessionOf, SamlLogoutProblem, SamlLogoutService } from './saml/saml-logout.service';
import { logInSso, SSO_PENDING_MS, takePending } from './sso-session';
import { SsoRefusedError, SsoSignInService } from './sso-sign-in.service';

/**
 * Signing in through an identity provider, under `/sso/<key>/`:
 * - `GET start` (the login page's "Sign in with …" link) sends the browser to the provider;
 * - OpenID Connect: the provider sends it back to `GET callback`; what the callback must check is
 *   in the PostgreSQL session, so it may land on any instance;
 * - SAML 2.0: the IdP posts its response to `POST saml/acs`; `GET saml/metadata` is Tessera's SP
 *   metadata for the IdP's administrator; single logout starts at `GET saml/logout` (the
 *   signed-out page's link) and `GET saml/slo` takes the IdP's messages (both directions).
 * A refusal goes back to the login page with its message (and an audit entry with the reason).
 */
@Controller('sso')
export class SsoController {
  constructor(
    private readonly oidc: OidcService,
    private readonly saml: SamlSignInService,
    private readonly samlLogout: SamlLogoutService,
    private readonly signIn: SsoSignInService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * A GET (the login page's link): the provider is another origin, which a form may not redirect
   * to under the Content-Security-Policy. Starting a sign-in changes nothing but this browser's
   * pending sign-in (OIDC: in the session, bound by the state; SAML: a request bound to a cookie).
   */
  @Public()
  @Get(':key/start')
  async start(@Param('key') key: string, @Req() req: Request, @Res() res: Response, @Query('next') next?: string) {
    const provider = await this.signIn.enabledProvider(key);
    if (!provider) return this.refused(req, res, 'This sign-in option is not available (any more). Choose another.');
    if (provider.kind === 'saml') return this.startSaml(provider, req, res, safeReturnPath(next));
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
      if (!provider || provider.kind !== "oidc") {
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

  /**
   * After signing out of a session that came from a provider: offers the provider's logout — the
   * OpenID Connect provider's end-session link, or Tessera's SAML single logout (`saml/logout`)
   * when the IdP's metadata has a logout endpoint. A link, not a redirect: the sign-out is a form,
   * and the Content-Security-Policy (`form-action 'self'`) lets a form's redirects stay on Tessera.
   * Shown once: the signed-out session carries what it needs from the sign-out (POST /logout).
   */
  @Public()
  @Get('signed-out')
  async signedOut(@Req() req: Request, @Res() res: Response) {
    const signedOut = req.session?.ssoSignedOut ?? null;
    if (!signedOut) return res.redirect(303, '/login?signedOut=1');
    delete req.session.ssoSignedOut;
    let url = signedOut.url;
    const key = signedOut.saml ? await this.samlLogout.singleLogoutKey(signedOut.saml.providerId) : null;
    if (signedOut.saml && key) {
      req.session.samlLogoutOffer = { label: signedOut.label, facts: signedOut.saml, userId: signedOut.userId ?? null, username: signedOut.username ?? null };
      url = `/sso/${encodeURIComponent(key)}/saml/logout`;
    }
    res.render('auth/signed-out', { title: 'Signed out', provider: { label: signedOut.label, url } });
  }

  /**
   * The signed-out page's "Also sign out of …" for a SAML provider: a signed LogoutRequest for the
   * subject and session index of the sign-in, to the IdP's logout endpoint (HTTP-Redirect); its
   * answer comes to `saml/slo`. A GET, like `start`: it changes nothing but this browser's
   * single logout in progress, and only after this browser signed out of such a session.
   */
  @Public()
  @Get(':key/saml/logout')
  async samlLogoutStart(@Param('key') key: string, @Req() req: Request, @Res() res: Response) {
    const offer = req.session?.samlLogoutOffer ?? null;
    const provider = await this.samlLogout.providerOf(key);
    if (!offer || offer.facts.providerId !== provider.id) return res.redirect(303, '/login?signedOut=1');
    delete req.session.samlLogoutOffer;
    const browserKey = randomBytes(32).toString('base64url');
    const url = await this.samlLogout.requestUrl(offer.facts, this.config.publicUrl, browserKey);
    if (!url) return res.render('auth/signed-out', { title: 'Signed out', provider: { label: provider.label, url: null } });
    req.session.samlLogout = { providerId: provider.id, browserKey, userId: offer.userId ?? null, username: offer.username ?? null };
    res.redirect(303, url);
  }

  /**
   * Single logout (HTTP-Redirect): the IdP's answer to the LogoutRequest this browser sent, shown
   * as the signed-out page; or the IdP's own LogoutRequest, which ends the Tessera sessions of its
   * subject and goes back to the IdP with a signed LogoutResponse. A message that is refused says
   * why (the person is signed out of Tessera all the same when they signed out here).
   */
  @Public()
  @Get(':key/saml/slo')
  async samlSlo(@Param('key') key: string, @Req() req: Request, @Res() res: Response) {
    const provider = await this.samlLogout.providerOf(key);
    const at = req.originalUrl.indexOf('?');
    const rawQuery = at < 0 ? '' : req.originalUrl.slice(at + 1);
    const pending = req.session?.samlLogout ?? null;
    const signedIn = sessionUser(req) !== null;
    try {
      const outcome = await this.samlLogout.receive(provider, this.config.publicUrl, rawQuery, pending, req.ip ?? null);
      if (outcome.kind === 'confirmed') {
        // Kept until a genuine answer came: a forged one sent to this browser cannot cancel the real one.
        delete req.session.samlLogout;
        return res.render('auth/signed-out', { title: 'Signed out', provider: { label: provider.label }, providerEnded: true });
      }
      // This browser's own session may be among those ended: it must not be saved again.
      if (signedIn && isSessionOf(req.session.ssoSignOut?.saml, outcome.subject)) await destroySession(req);
      if (outcome.answerUrl) return res.redirect(303, outcome.answerUrl);
      res.render('auth/signed-out', { title: 'Signed out', provider: { label: provider.label }, providerEnded: true });
    } catch (error) {
      if (!(error instanceof SamlLogoutProblem)) throw error;
      res.status(400).render('auth/signed-out', { title: signedIn ? 'Sign-out not accepted' : 'Signed out', provider: { label: provider.label }, problem: error.message, stillSignedIn: signedIn });
    }
  }

  private async startSaml(provider: Parameters<SamlSignInService['start']>[0], req: Request, res: Response, next: string) {
    const browserKey = randomBytes(32).toString('base64url');
    try {
      const url = await this.saml.start(provider, this.config.publicUrl, browserKey, next);
      res.cookie(SAML_BROWSER_COOKIE, browserKey, {
        httpOnly: true,
        // The IdP's answer is a cross-site POST: only a SameSite=None cookie comes with it, and
        // browsers take those only when Secure. Over plain http (a test or a lab) Lax is all there is.
        sameSite: this.config.secureCookies ? 'none' : 'lax',
        secure: this.config.secureCookies,
        path: '/sso/',
        maxAge: SAML_REQUEST_TTL_MINUTES * 60_000,
      });
      res.redirect(303, url);
    } catch (error) {
      if (error instanceof SsoRefusedError) return this.refused(req, res, error.message);
      throw error;
    }
  }

  /** The assertion consumer service: the IdP's HTTP-POST binding lands here (no CSRF token: see app.setup). */
  @Public()
  @Post(':key/saml/acs')
  async samlAcs(@Param('key') key: string, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const ip = req.ip ?? null;
    const browserKey = cookieOf(req, SAML_BROWSER_COOKIE);
    res.clearCookie(SAML_BROWSER_COOKIE, { path: '/sso/' });
    try {
      const provider = await this.signIn.enabledProvider(key);
      if (!provider || provider.kind !== 'saml') {
        throw await this.signIn.refuse(null, ip, 'sso_unknown_provider', 'This sign-in option is not available (any more). Choose another.', `SAML response for unknown or disabled provider ${JSON.stringify(key)}`);
      }
      const { user, session } = await this.saml.complete(provider, this.config.publicUrl, body, browserKey, ip);
      // Single logout repeats the assertion's subject and session index (see `signedOut`).
      await logInSso(req, user, { label: provider.label, url: null, saml: session });
      res.redirect(303, safeReturnPath(body.RelayState));
    } catch (error) {
      if (error instanceof SsoRefusedError) return this.refused(req, res, error.message);
      throw error;
    }
  }

  /** Tessera's SP metadata for this provider, for the IdP's administrator to import. */
  @Public()
  @Get(':key/saml/metadata')
  async metadata(@Param('key') key: string, @Res() res: Response) {
    const xml = await this.saml.spMetadataOf(key, this.config.publicUrl);
    res.type('application/samlmetadata+xml').setHeader('Content-Disposition', `inline; filename="tessera-${key.replace(/[^a-z0-9._-]/g, '')}-sp-metadata.xml"`);
    res.send(xml);
  }

  /** Back to the login page (POST-redirect-GET), the reason in a flash message. */
  private refused(req: Request, res: Response, message: string): void {
    flash(req, 'error', message);
    res.redirect(303, '/login');
  }
}
