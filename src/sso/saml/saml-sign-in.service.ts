import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { CacheProvider, SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import type { Profile } from '@node-saml/node-saml';
import { createHash } from 'node:crypto';
import type { User } from '../../users/user.entity';
import { NotFoundError } from '../../common/errors';
import { IdentityProvider } from '../identity-provider.entity';
import type { SamlSessionFacts } from '../sso-session';
import { SamlKeysService } from './saml-keys.service';
import { IdpMetadata, MetadataProblem, parseIdpMetadata, pemCertificate, spMetadataXml } from './saml-metadata';
import { NAME_ID, samlSettings } from './saml-settings';
import { consumeSamlRequest, recordSamlAssertion, saveSamlRequest, samlRequestIssued } from './saml.queries';
import { ProviderIdentity, SsoRefusedError, SsoSignInService } from '../sso-sign-in.service';

/** How long a started sign-in may take at the IdP (typing a password, a second factor). */
export const SAML_REQUEST_TTL_MINUTES = 15;
/** Clocks of Tessera and the IdP may differ by this much. */
const CLOCK_SKEW_MS = 60_000;

/** Where the IdP reaches Tessera for one provider: shown for copying and in the SP metadata. */
export interface SamlEndpoints {
  entityId: string;
  acsUrl: string;
  metadataUrl: string;
  /** Single logout (HTTP-Redirect): the IdP's answers to Tessera's LogoutRequests, and its own LogoutRequests. */
  sloUrl: string;
}

export function samlEndpoints(baseUrl: string, providerKey: string): SamlEndpoints {
  const base = `${baseUrl.replace(/\/+$/, '')}/sso/${encodeURIComponent(providerKey)}/saml`;
  return { entityId: `${base}/metadata`, acsUrl: `${base}/acs`, metadataUrl: `${base}/metadata`, sloUrl: `${base}/slo` };
}

/** What a SAML sign-in yields: the user, and what single logout needs of the assertion. */
export interface SamlSignInResult {
  user: User;
  session: SamlSessionFacts;
}

/**
 * SAML 2.0 sign-in as a service provider (SP-initiated, HTTP-Redirect out, HTTP-POST back), with
 * node-saml checking the response: the assertion must be signed by a certificate of the IdP's
 * metadata, name Tessera as its audience, be within its time window and answer a request this
 * browser started (`InResponseTo`). What must survive the round trip is in PostgreSQL, so the
 * response may land on another instance:
 * - `saml_requests`: each request's id, bound to the browser that started it by the hash of a
 *   cookie set at the start (the IdP's POST back is cross-site, so the session cookie — SameSite
 *   Lax — is not sent with it; this cookie is SameSite=None when cookies are secure), used once;
 * - `saml_assertions`: the id of every accepted assertion until it expires, so that the same
 *   assertion is never accepted twice, even by two instances at the same moment.
 * The identity then goes through `SsoSignInService`, like every protocol's.
 */
@Injectable()
export class SamlSignInService {
  constructor(
    private readonly em: EntityManager,
    private readonly sso: SsoSignInService,
    private readonly keys: SamlKeysService,
  ) {}

  /** The URL of the IdP's sign-in page with this request; remembers the request for `complete`. */
  async start(provider: IdentityProvider, baseUrl: string, browserKey: string, relayState: string): Promise<string> {
    const metadata = idpMetadataOf(provider);
    const saml = this.client(provider, metadata, baseUrl, samlRequestStore(this.em.fork(), provider, browserKey));
    return saml.getAuthorizeUrlAsync(relayState, undefined, {});
  }

  /** Checks the IdP's POST to the ACS URL and signs its user in, or refuses with the reason. */
  async complete(provider: IdentityProvider, baseUrl: string, body: Record<string, unknown>, browserKey: string | null, ip: string | null): Promise<SamlSignInResult> {
    const metadata = idpMetadataOf(provider);
    if (typeof body.SAMLResponse !== 'string' || body.SAMLResponse === '') {
      throw await this.sso.refuse(provider, ip, 'saml_no_response', failed(provider, 'the identity provider sent no SAML response'), 'SAML: no SAMLResponse in the POST');
    }
    const saml = this.client(provider, metadata, baseUrl, samlRequestStore(this.em.fork(), provider, browserKey));
    let profile: Profile | null;
    try {
      ({ profile } = await saml.validatePostResponseAsync({ SAMLResponse: body.SAMLResponse }));
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw await this.sso.refuse(provider, ip, 'saml_invalid', failed(provider, reasonFor(detail)), `SAML: ${detail}`);
    }
    if (!profile) throw await this.sso.refuse(provider, ip, 'saml_invalid', failed(provider, 'the response holds no assertion'), 'SAML: no assertion');

    const { id: assertionId, notOnOrAfter } = assertionFacts(profile);
    const fresh = await recordSamlAssertion(this.em.fork(), provider.id, assertionId, notOnOrAfter);
    if (!fresh) {
      throw await this.sso.refuse(provider, ip, 'saml_replayed', failed(provider, 'this sign-in response was already used'), `SAML: assertion ${assertionId} replayed`);
    }
    const identity = identityOf(provider, profile);
    if (!identity) {
      const attribute = samlSettings(provider.settings).externalIdAttribute;
      throw await this.sso.refuse(provider, ip, 'saml_no_external_id', failed(provider, `the identity provider sent no ${attribute}, so Tessera cannot tell who you are`), `SAML: no ${attribute} in the assertion`);
    }
    const user = await this.sso.signIn(provider, identity, ip);
    return { user, session: sessionFacts(provider, profile) };
  }

  /** Tessera's SP metadata for the SAML provider with this key (enabled or not); 404 otherwise. */
  async spMetadataOf(key: string, baseUrl: string): Promise<string> {
    const provider = await this.em.fork().findOne(IdentityProvider, { key, kind: 'saml' });
    if (!provider) throw new NotFoundError();
    const { entityId, acsUrl, sloUrl } = samlEndpoints(baseUrl, provider.key);
    const { certificatePem } = await this.keys.keysOf(provider);
    return spMetadataXml({ entityId, acsUrl, sloUrl, certificatePem });
  }

  private client(provider: IdentityProvider, metadata: IdpMetadata, baseUrl: string, cacheProvider: CacheProvider): SAML {
    const { entityId, acsUrl } = samlEndpoints(baseUrl, provider.key);
    return new SAML({
      entryPoint: metadata.ssoUrl,
      idpIssuer: metadata.entityId,
      idpCert: metadata.certificates.map(pemCertificate),
      issuer: entityId,
      audience: entityId,
      callbackUrl: acsUrl,
      identifierFormat: UNSPECIFIED,
      // AD FS with Windows authentication refuses a request for password-protected transport.
      disableRequestedAuthnContext: true,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: false,
      acceptedClockSkewMs: CLOCK_SKEW_MS,
      validateInResponseTo: ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: SAML_REQUEST_TTL_MINUTES * 60_000,
      cacheProvider,
    });
  }
}

/** The IdP's metadata as saved with the provider (checked when it was saved). */
export function idpMetadataOf(provider: IdentityProvider): IdpMetadata {
  try {
    return parseIdpMetadata(samlSettings(provider.settings).metadataXml);
  } catch (error) {
    // Saved metadata was checked; this is a provider edited outside the pages.
    if (error instanceof MetadataProblem) throw new SsoRefusedError('saml_metadata', failed(provider, `its metadata cannot be used (${error.message})`));
    throw error;
  }
}

/**
 * node-saml's request cache, on `saml_requests`, bound to this provider and browser: sign-in
 * (AuthnRequest ids, bound to a cookie) and single logout (LogoutRequest ids, bound to the session).
 */
export function samlRequestStore(em: EntityManager, provider: Pick<IdentityProvider, 'id'>, browserKey: string | null): CacheProvider {
  const browser = browserKey ? hashKey(browserKey) : null;
  return {
    saveAsync: async (id, value) => {
      if (!browser) throw new Error('A SAML request needs the browser key');
      await saveSamlRequest(em, id, provider.id, browser, value, SAML_REQUEST_TTL_MINUTES);
      return { value, createdAt: Date.now() };
    },
    getAsync: async (id) => (browser ? samlRequestIssued(em, id, provider.id, browser) : null),
    removeAsync: async (id) => (id && browser ? consumeSamlRequest(em, id, provider.id, browser) : null),
  };
}

export const UNSPECIFIED = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';

/** The subject as the assertion named it: what a LogoutRequest repeats and an IdP's LogoutRequest names. */
function sessionFacts(provider: IdentityProvider, profile: Profile): SamlSessionFacts {
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);
  return {
    providerId: provider.id,
    nameId: profile.nameID,
    nameIdFormat: text(profile.nameIDFormat),
    nameQualifier: text(profile.nameQualifier),
    spNameQualifier: text(profile.spNameQualifier),
    sessionIndex: text(profile.sessionIndex),
  };
}

function failed(provider: IdentityProvider, reason: string): string {
  return `Signing in with ${provider.label} did not work: ${reason}. Try again; if it keeps failing, tell an administrator.`;
}

/** node-saml's reason, in words for the person at the login page (the audit keeps the original). */
export function reasonFor(detail: string): string {
  if (/signature/i.test(detail)) return 'the identity provider’s signature is missing or does not verify';
  if (/audience/i.test(detail)) return 'the response was meant for another service';
  if (/subject confirmation|expired|NotBefore|NotOnOrAfter|too old/i.test(detail)) {
    return 'the response has expired (if this repeats, the clocks of Tessera and the identity provider differ)';
  }
  if (/InResponseTo/i.test(detail)) return 'the response does not answer a sign-in started in this browser, or it was already used';
  if (/issuer/i.test(detail)) return 'the response comes from another identity provider';
  if (/Responder|Requester|status/i.test(detail)) return 'the identity provider refused the sign-in';
  return 'the response could not be verified';
}

/** The assertion's id and end of validity, for the replay store. */
function assertionFacts(profile: Profile): { id: string; notOnOrAfter: Date } {
  const xml = profile.getAssertionXml?.() ?? '';
  const id = /<(?:\w+:)?Assertion\b[^>]*\sID="([^"]+)"/.exec(xml)?.[1];
  if (!id) throw new Error('A validated SAML assertion has no ID');
  const ends = [...xml.matchAll(/\sNotOnOrAfter="([^"]+)"/g)].map((m) => new Date(m[1]).getTime()).filter((t) => Number.isFinite(t));
  // Without an end, keep it as long as a request may live.
  const end = ends.length > 0 ? Math.max(...ends) : Date.now() + SAML_REQUEST_TTL_MINUTES * 60_000;
  return { id, notOnOrAfter: new Date(end + CLOCK_SKEW_MS) };
}

/** The identity the IdP vouched for, read with the provider's attribute names. */
export function identityOf(provider: Pick<IdentityProvider, 'settings' | 'jitOrganizationClaim'>, profile: Profile): ProviderIdentity | null {
  const settings = samlSettings(provider.settings);
  const values = (name: string): string[] => {
    if (name === '') return [];
    if (name === NAME_ID) return profile.nameID ? [profile.nameID] : [];
    const raw = (profile.attributes as Record<string, unknown> | undefined)?.[name] ?? profile[name];
    return (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string' && v.trim() !== '').map((v) => v.trim());
  };
  const one = (name: string) => values(name)[0] ?? null;
  const externalId = one(settings.externalIdAttribute);
  if (!externalId) return null;
  return {
    externalId,
    email: one(settings.emailAttribute),
    username: one(settings.usernameAttribute),
    firstName: one(settings.firstNameAttribute),
    lastName: one(settings.lastNameAttribute),
    organizationValues: provider.jitOrganizationClaim ? values(provider.jitOrganizationClaim) : [],
  };
}

function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}
