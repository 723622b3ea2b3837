import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../../config/config';
import type { AppConfig } from '../../config/config';
import type { IdentityProvider } from '../identity-provider.entity';
import { oidcSettings } from '../protocols';
import { SecretBox } from '../secret-box';
import type { ProviderIdentity } from '../sso-sign-in.service';
import { oidc, OidcConfiguration } from './openid-client';

/** A refused step of the OpenID Connect flow: `reason` for the audit log, `message` for the person. */
export class OidcFlowError extends Error {
  constructor(
    readonly code: string,
    readonly userMessage: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** How long a discovered configuration is reused (the provider's keys and endpoints rarely change). */
const DISCOVERY_TTL_MS = 10 * 60 * 1000;

export interface OidcStart {
  url: string;
  checks: { state: string; nonce: string; codeVerifier: string };
}

export interface OidcResult {
  identity: ProviderIdentity;
  /** The provider's logout (RP-initiated logout) for this sign-in, when it has one. */
  endSessionUrl: string | null;
}

/**
 * OpenID Connect with `openid-client`: discovery from the issuer URL, the authorization code
 * flow with PKCE (S256), `state` and `nonce`. The callback checks the state against the session
 * itself (a clear refusal for a tampered or replayed callback), then lets the library check the
 * code exchange and the ID token (issuer, audience, nonce, expiry).
 */
@Injectable()
export class OidcService {
  private readonly discovered = new Map<string, { at: number; config: Promise<OidcConfiguration> }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly secrets: SecretBox,
  ) {}

  redirectUri(provider: Pick<IdentityProvider, 'key'>): string {
    return `${this.config.publicUrl}/sso/${encodeURIComponent(provider.key)}/callback`;
  }

  async start(provider: IdentityProvider): Promise<OidcStart> {
    const config = await this.configuration(provider);
    const settings = oidcSettings(provider.settings);
    const checks = { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier: oidc.randomPKCECodeVerifier() };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri(provider),
      scope: settings.scopes,
      response_type: 'code',
      state: checks.state,
      nonce: checks.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(checks.codeVerifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, checks };
  }

  /** `callbackPath` is the path and query the provider sent the browser back to. */
  async finish(provider: IdentityProvider, callbackPath: string, checks: Record<string, string>): Promise<OidcResult> {
    const callbackUrl = new URL(callbackPath, `${this.config.publicUrl}/`);
    const error = callbackUrl.searchParams.get('error');
    if (error) {
      const description = callbackUrl.searchParams.get('error_description');
      throw new OidcFlowError('sso_provider_error', `${provider.label} did not sign you in${description ? `: ${description}` : ` (${error})`}.`, `the provider answered ${error}${description ? `: ${description}` : ''}`);
    }
    const state = callbackUrl.searchParams.get('state');
    if (!state || state !== checks.state) {
      throw new OidcFlowError('sso_state_mismatch', 'This sign-in answer does not belong to the sign-in started in this browser. Start again.', 'the state of the answer does not match the session (tampered or foreign answer)');
    }
    const config = await this.configuration(provider);
    const settings = oidcSettings(provider.settings);
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      });
    } catch (e) {
      throw describeFailure(provider, e);
    }
    const idClaims = tokens.claims();
    if (!idClaims) throw new OidcFlowError('sso_no_id_token', `${provider.label} sent no ID token. Ask an administrator.`, 'no ID token in the token response');
    // The external id comes from the ID token only: it is the statement the library verified.
    const externalId = claimText(idClaims[settings.externalIdClaim]);
    if (!externalId) {
      throw new OidcFlowError('sso_no_external_id', `${provider.label} did not say who you are (no ${settings.externalIdClaim} claim). Ask an administrator.`, `the ID token has no "${settings.externalIdClaim}" claim`);
    }
    let claims: Record<string, unknown> = { ...idClaims };
    const metadata = config.serverMetadata();
    if (metadata.userinfo_endpoint && tokens.access_token) {
      // Name and e-mail often come only from the UserInfo endpoint; it must describe the same subject.
      try {
        claims = { ...(await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub)), ...idClaims };
      } catch (e) {
        throw describeFailure(provider, e);
      }
    }
    const endSessionUrl = metadata.end_session_endpoint
      ? oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token ?? '', post_logout_redirect_uri: `${this.config.publicUrl}/login?signedOut=1` }).href
      : null;
    const orgClaim = provider.jitOrganizationClaim;
    const orgValue = orgClaim ? claims[orgClaim] : undefined;
    return {
      endSessionUrl,
      identity: {
        externalId,
        email: settings.emailClaim ? claimText(claims[settings.emailClaim]) : null,
        username: settings.usernameClaim ? claimText(claims[settings.usernameClaim]) : null,
        firstName: settings.firstNameClaim ? claimText(claims[settings.firstNameClaim]) : null,
        lastName: settings.lastNameClaim ? claimText(claims[settings.lastNameClaim]) : null,
        organizationValues: (Array.isArray(orgValue) ? orgValue : [orgValue]).map(claimText).filter((v): v is string => v !== null),
      },
    };
  }

  /** Discovery (cached per provider version); an http:// issuer is allowed only because an Administrator typed it. */
  private configuration(provider: IdentityProvider): Promise<OidcConfiguration> {
    const cacheKey = `${provider.id}:${provider.updatedAt.getTime()}`;
    const cached = this.discovered.get(cacheKey);
    if (cached && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.config;
    const settings = oidcSettings(provider.settings);
    const secret = provider.secretSealed ? this.secrets.open(provider.secretSealed) : undefined;
    const issuer = new URL(settings.issuerUrl);
    const config = oidc
      .discovery(issuer, settings.clientId, secret, undefined, issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : undefined)
      .catch((e: unknown) => {
        this.discovered.delete(cacheKey);
        throw new OidcFlowError('sso_discovery_failed', `Tessera cannot reach ${provider.label} right now. Try again later, or ask an administrator.`, `discovery at ${settings.issuerUrl} failed: ${messageOf(e)}`);
      });
    for (const key of this.discovered.keys()) if (key.startsWith(`${provider.id}:`)) this.discovered.delete(key);
    this.discovered.set(cacheKey, { at: Date.now(), config });
    return config;
  }
}

function claimText(value: unknown): string | null {
  if (typeof value === 'string') return value.trim() === '' ? null : value.trim();
  if (typeof value === 'number') return String(value);
  return null;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A failure of the code exchange or the ID token checks, as a clear refusal. */
function describeFailure(provider: IdentityProvider, e: unknown): OidcFlowError {
  if (e instanceof OidcFlowError) return e;
  if (e instanceof oidc.ResponseBodyError) {
    if (e.error === 'invalid_grant') {
      return new OidcFlowError('sso_code_rejected', `${provider.label} no longer accepts this sign-in (it expired or was already used). Start again.`, `the provider refused the code: ${e.error}${e.error_description ? ` (${e.error_description})` : ''}`);
    }
    return new OidcFlowError('sso_token_error', `${provider.label} refused to complete the sign-in (${e.error}). Ask an administrator.`, `the token endpoint answered ${e.error}${e.error_description ? ` (${e.error_description})` : ''}`);
  }
  const code = (e as { code?: string }).code;
  const claim = ((e as { cause?: { cause?: { claim?: string } } }).cause?.cause?.claim) ?? null;
  if (code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && claim === 'nonce') {
    return new OidcFlowError('sso_nonce_mismatch', `The answer of ${provider.label} does not belong to this sign-in. Start again.`, 'the ID token nonce does not match the session (replayed or foreign ID token)');
  }
  if (code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && (claim === 'aud' || claim === 'azp')) {
    return new OidcFlowError('sso_wrong_audience', `${provider.label} issued this sign-in to another application. Ask an administrator to check the client id.`, `the ID token is for another audience (${claim})`);
  }
  if (code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && claim === 'iss') {
    return new OidcFlowError('sso_wrong_issuer', `The answer did not come from ${provider.label}. Ask an administrator.`, 'the ID token is from another issuer');
  }
  if (code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED' || code === 'OAUTH_JWT_TIMESTAMP_CHECK') {
    return new OidcFlowError('sso_token_expired', `The answer of ${provider.label} has expired. Start again.`, `the ID token failed its time checks: ${messageOf((e as { cause?: unknown }).cause ?? e)}`);
  }
  return new OidcFlowError('sso_invalid_answer', `The answer of ${provider.label} could not be verified. Start again, or ask an administrator.`, `the answer failed verification: ${messageOf(e)}${code ? ` (${code})` : ''}`);
}
