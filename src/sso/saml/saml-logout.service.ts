import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import type { Profile } from '@node-saml/node-saml';
import { AuditService } from '../../audit/audit.service';
import { NotFoundError } from '../../common/errors';
import { IdentityProvider } from '../identity-provider.entity';
import type { PendingSamlLogout, SamlSessionFacts } from '../sso-session';
import { SsoRefusedError } from '../sso-sign-in.service';
import { SamlKeysService } from './saml-keys.service';
import { IdpMetadata, pemCertificate } from './saml-metadata';
import { readRedirectMessage, RedirectMessage, RedirectProblem, redirectSignatureValid } from './saml-redirect';
import { idpMetadataOf, SAML_REQUEST_TTL_MINUTES, samlEndpoints, samlRequestStore, UNSPECIFIED } from './saml-sign-in.service';
import { endSamlSessions } from './saml.queries';

const CLOCK_SKEW_MS = 60_000;

/** A logout message refused: `message` for the person, `reason` for the audit log. */
export class SamlLogoutProblem extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

/** What the single logout endpoint did with a message. */
export type SloOutcome =
  /** The IdP answered Tessera's LogoutRequest: it ended its session too. */
  | { kind: 'confirmed' }
  /** The IdP asked Tessera to end the sessions of a subject; `answerUrl` carries the signed LogoutResponse. */
  | { kind: 'ended'; answerUrl: string | null; sessions: number; subject: LogoutSubject };

/** Whom an IdP's LogoutRequest signs out. */
export interface LogoutSubject {
  providerId: number;
  nameId: string;
  sessionIndex: string | null;
}

/** Whether a session's SAML sign-in is one the LogoutRequest names (the rule `endSamlSessions` applies in SQL). */
export function isSessionOf(facts: SamlSessionFacts | undefined, subject: LogoutSubject): boolean {
  if (!facts || facts.providerId !== subject.providerId || facts.nameId !== subject.nameId) return false;
  return subject.sessionIndex === null || facts.sessionIndex === null || facts.sessionIndex === subject.sessionIndex;
}

/**
 * SAML single logout (HTTP-Redirect binding both ways), with Tessera's signing key of the
 * provider (`SamlKeysService`):
 * - after signing out of Tessera, the signed-out page's "Also sign out of …" sends the IdP a signed
 *   LogoutRequest for the subject and session index of the assertion (kept in the Tessera session
 *   at sign-in, then in the signed-out one); its id is kept in `saml_requests`,
 *   bound to the signed-out browser session, and the IdP's LogoutResponse must answer it once,
 *   be signed by a certificate of the metadata and come from the metadata's issuer;
 * - an IdP's own signed LogoutRequest ends the Tessera sessions of that subject (see
 *   `endSamlSessions`) and is answered with a signed LogoutResponse.
 * node-saml builds and signs the messages and checks issuer, status, time window and
 * `InResponseTo`; Tessera checks the query signature itself first, and requires it (node-saml
 * would accept an unsigned redirect message).
 */
@Injectable()
export class SamlLogoutService {
  constructor(
    private readonly em: EntityManager,
    private readonly keys: SamlKeysService,
    private readonly audit: AuditService,
  ) {}

  /** The SAML provider with this key, enabled or not (ending sessions is always allowed); 404 otherwise. */
  async providerOf(key: string): Promise<IdentityProvider> {
    const provider = await this.em.fork().findOne(IdentityProvider, { key, kind: 'saml' });
    if (!provider) throw new NotFoundError();
    return provider;
  }

  /** The key of the SAML provider with this id when its IdP has a logout endpoint, else `null`. */
  async singleLogoutKey(providerId: number): Promise<string | null> {
    const provider = await this.em.fork().findOne(IdentityProvider, { id: providerId, kind: 'saml' });
    return provider && this.logoutUrlOf(provider) ? provider.key : null;
  }

  /** The IdP's logout endpoint from the saved metadata, if it has one (and the metadata is usable). */
  private logoutUrlOf(provider: IdentityProvider): string | null {
    try {
      return idpMetadataOf(provider).logoutUrl;
    } catch (error) {
      if (error instanceof SsoRefusedError) return null;
      throw error;
    }
  }

  /**
   * The IdP's logout URL with a signed LogoutRequest for this signed-in subject, remembered for the
   * answer; `null` when the provider is gone or its IdP has no HTTP-Redirect logout endpoint.
   */
  async requestUrl(facts: SamlSessionFacts, baseUrl: string, browserKey: string): Promise<string | null> {
    const provider = await this.em.fork().findOne(IdentityProvider, { id: facts.providerId, kind: 'saml' });
    if (!provider || !this.logoutUrlOf(provider)) return null;
    const metadata = idpMetadataOf(provider);
    const saml = await this.client(provider, metadata, baseUrl, metadata.logoutUrl!, browserKey);
    const subject = {
      issuer: metadata.entityId,
      nameID: facts.nameId,
      nameIDFormat: facts.nameIdFormat ?? UNSPECIFIED,
      ...(facts.nameQualifier ? { nameQualifier: facts.nameQualifier } : {}),
      ...(facts.spNameQualifier ? { spNameQualifier: facts.spNameQualifier } : {}),
      ...(facts.sessionIndex ? { sessionIndex: facts.sessionIndex } : {}),
    } satisfies Profile;
    return saml.getLogoutUrlAsync(subject, '', {});
  }

  /**
   * A message at `/sso/<key>/saml/slo`: the IdP's answer to this browser's sign-out (`pending`), or
   * the IdP's own LogoutRequest. Refusals are audited (`logout.failure`) and thrown as
   * `SamlLogoutProblem`; successes are audited too.
   */
  async receive(provider: IdentityProvider, baseUrl: string, rawQuery: string, pending: PendingSamlLogout | null, ip: string | null): Promise<SloOutcome> {
    const source = { actorId: pending?.userId ?? null, actorName: pending?.username ?? null, ip };
    try {
      const message = this.read(provider, rawQuery);
      return message.kind === 'SAMLResponse'
        ? await this.confirm(provider, baseUrl, message, pending, source)
        : await this.endSessions(provider, baseUrl, message, ip);
    } catch (error) {
      if (!(error instanceof SamlLogoutProblem)) throw error;
      await this.audit.write(source, {
        action: 'logout.failure',
        objectType: 'identity_provider',
        objectId: provider.id,
        objectLabel: provider.key,
        detail: `single logout with ${provider.key}: SAML: ${error.reason}`,
      });
      throw error;
    }
  }

  /** The message, signed with a certificate of the IdP's metadata, or a refusal. */
  private read(provider: IdentityProvider, rawQuery: string): RedirectMessage & { metadata: IdpMetadata } {
    let message: RedirectMessage;
    try {
      message = readRedirectMessage(rawQuery);
    } catch (error) {
      if (!(error instanceof RedirectProblem)) throw error;
      const words = /not signed|signature algorithm/.test(error.message) ? 'its signature is missing or not accepted' : 'the message could not be read';
      throw new SamlLogoutProblem(problem(provider, words), error.message);
    }
    const expected = message.kind === 'SAMLResponse' ? 'LogoutResponse' : 'LogoutRequest';
    if (message.root !== expected) throw new SamlLogoutProblem(problem(provider, 'the message could not be read'), `a ${message.root} came as ${message.kind}`);
    const metadata = idpMetadataOf(provider);
    if (!redirectSignatureValid(message, metadata.certificates.map(pemCertificate))) {
      throw new SamlLogoutProblem(problem(provider, 'its signature does not verify'), `invalid query signature on the ${message.root}`);
    }
    return { ...message, metadata };
  }

  /** The IdP's LogoutResponse to the LogoutRequest this browser session sent. */
  private async confirm(provider: IdentityProvider, baseUrl: string, message: RedirectMessage & { metadata: IdpMetadata }, pending: PendingSamlLogout | null, source: { actorId: number | null; actorName: string | null; ip: string | null }): Promise<SloOutcome> {
    const notOurs = problem(provider, 'it does not answer a sign-out started in this browser, or it was already used');
    if (!pending || pending.providerId !== provider.id) throw new SamlLogoutProblem(notOurs, `LogoutResponse ${message.id} without a single logout in progress for ${provider.key} in this session`);
    if (!message.inResponseTo) throw new SamlLogoutProblem(notOurs, `LogoutResponse ${message.id} has no InResponseTo`);
    this.checkDestination(provider, baseUrl, message);
    const saml = await this.client(provider, message.metadata, baseUrl, message.metadata.logoutUrl ?? message.metadata.ssoUrl, pending.browserKey);
    try {
      await saml.validateRedirectAsync(message.params, message.canonicalQuery);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new SamlLogoutProblem(problem(provider, logoutReasonFor(detail)), detail);
    }
    // Used once: a second delivery of the same answer (or a race on two instances) finds nothing.
    if (!(await samlRequestStore(this.em.fork(), provider, pending.browserKey).removeAsync(message.inResponseTo))) {
      throw new SamlLogoutProblem(notOurs, `LogoutResponse to ${message.inResponseTo} replayed`);
    }
    await this.audit.write(source, {
      action: 'logout.provider',
      objectType: 'identity_provider',
      objectId: provider.id,
      objectLabel: provider.key,
      detail: `single logout with ${provider.key}: the identity provider ended its session too`,
    });
    return { kind: 'confirmed' };
  }

  /** The IdP's own LogoutRequest: ends the subject's Tessera sessions and answers with a signed LogoutResponse. */
  private async endSessions(provider: IdentityProvider, baseUrl: string, message: RedirectMessage & { metadata: IdpMetadata }, ip: string | null): Promise<SloOutcome> {
    this.checkDestination(provider, baseUrl, message);
    const issued = message.issueInstant?.getTime();
    const now = Date.now();
    if (issued === undefined || issued > now + CLOCK_SKEW_MS || issued < now - SAML_REQUEST_TTL_MINUTES * 60_000 - CLOCK_SKEW_MS) {
      throw new SamlLogoutProblem(problem(provider, 'the request has expired (if this repeats, the clocks of Tessera and the identity provider differ)'), `LogoutRequest ${message.id} issued at ${message.issueInstant?.toISOString() ?? '(none)'}`);
    }
    const responseUrl = message.metadata.logoutResponseUrl;
    // Without a logout endpoint at the IdP there is nowhere to answer, but the request is checked all the same.
    const saml = await this.client(provider, message.metadata, baseUrl, responseUrl ?? message.metadata.ssoUrl, null);
    let subject: Profile;
    try {
      ({ profile: subject } = (await saml.validateRedirectAsync(message.params, message.canonicalQuery)) as { profile: Profile });
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new SamlLogoutProblem(problem(provider, logoutReasonFor(detail)), detail);
    }
    const sessionIndex = typeof subject.sessionIndex === 'string' && subject.sessionIndex !== '' ? subject.sessionIndex : null;
    const ended = await endSamlSessions(this.em.fork(), provider.id, subject.nameID, sessionIndex);
    for (const user of ended) {
      await this.audit.write(
        { actorId: user.user_id, actorName: user.username, ip },
        {
          action: 'logout',
          objectType: 'user',
          objectId: user.user_id,
          objectLabel: user.username ?? undefined,
          detail: `single logout requested by ${provider.key} (${user.sessions === 1 ? '1 session' : `${user.sessions} sessions`} ended)`,
        },
      );
    }
    const answerUrl = responseUrl ? await saml.getLogoutResponseUrlAsync(subject, message.relayState ?? '', {}, true) : null;
    return { kind: 'ended', answerUrl, sessions: ended.reduce((n, u) => n + u.sessions, 0), subject: { providerId: provider.id, nameId: subject.nameID, sessionIndex } };
  }

  /** A message that names its destination must name this provider's logout endpoint. */
  private checkDestination(provider: IdentityProvider, baseUrl: string, message: RedirectMessage): void {
    const { sloUrl } = samlEndpoints(baseUrl, provider.key);
    if (message.destination !== null && message.destination !== sloUrl) {
      throw new SamlLogoutProblem(problem(provider, 'the message was meant for another service'), `${message.root} Destination ${message.destination}, expected ${sloUrl}`);
    }
  }

  /**
   * node-saml for the logout messages of this provider, signing with Tessera's key (SHA-256).
   * `logoutUrl` is where the message it builds goes (the IdP's logout endpoint or its ResponseLocation).
   */
  private async client(provider: IdentityProvider, metadata: IdpMetadata, baseUrl: string, logoutUrl: string, browserKey: string | null): Promise<SAML> {
    const { entityId, acsUrl } = samlEndpoints(baseUrl, provider.key);
    const { privateKeyPem } = await this.keys.keysOf(provider);
    return new SAML({
      entryPoint: metadata.ssoUrl,
      logoutUrl,
      idpIssuer: metadata.entityId,
      idpCert: metadata.certificates.map(pemCertificate),
      issuer: entityId,
      callbackUrl: acsUrl,
      identifierFormat: UNSPECIFIED,
      privateKey: privateKeyPem,
      signatureAlgorithm: 'sha256',
      acceptedClockSkewMs: CLOCK_SKEW_MS,
      validateInResponseTo: ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: SAML_REQUEST_TTL_MINUTES * 60_000,
      cacheProvider: samlRequestStore(this.em.fork(), provider, browserKey),
    });
  }
}

function problem(provider: IdentityProvider, reason: string): string {
  return `${provider.label}'s sign-out message was not accepted: ${reason}.`;
}

/** node-saml's reason for a refused logout message, in words for the person. */
export function logoutReasonFor(detail: string): string {
  if (/signature/i.test(detail)) return 'its signature does not verify';
  if (/InResponseTo/i.test(detail)) return 'it does not answer a sign-out started in this browser, or it was already used';
  if (/issuer/i.test(detail)) return 'it comes from another identity provider';
  if (/status/i.test(detail)) return 'the identity provider could not end its session';
  if (/NotBefore|NotOnOrAfter|expired/i.test(detail)) return 'the message has expired (if this repeats, the clocks of Tessera and the identity provider differ)';
  if (/NameID/i.test(detail)) return 'it does not say whom to sign out';
  return 'it could not be verified';
}
