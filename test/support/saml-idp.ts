import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import * as samlify from 'samlify';

/** A person the IdP knows: what they type on its sign-in page and what it asserts about them. */
export interface SamlIdpUser {
  login: string;
  password: string;
  nameId: string;
  attributes?: Record<string, string>;
}

/** What the next responses get wrong on purpose, to test the service provider's refusals. */
export interface SamlIdpFaults {
  /** Send the assertion without any signature. */
  unsigned?: boolean;
  /** Sign with a key the service provider does not trust. */
  foreignKey?: boolean;
  /** The assertion's validity window ended this many minutes ago. */
  expiredMinutesAgo?: number;
  /** The assertion names another audience than the service provider. */
  audience?: string;
  /** Answer for another request than the one the service provider sent. */
  inResponseTo?: string;
  /** Answer a LogoutRequest without signing the LogoutResponse. */
  logoutUnsigned?: boolean;
  /** Sign the LogoutResponse with a key the service provider does not trust. */
  logoutForeignKey?: boolean;
}

/** A sign-in the IdP remembers: its session at the IdP, which single logout ends. */
export interface SamlIdpSession {
  login: string;
  nameId: string;
  sessionIndex: string;
  spEntityId: string;
}

/** A LogoutRequest the IdP received from a service provider (after checking its signature). */
export interface ReceivedLogoutRequest {
  issuer: string;
  nameId: string;
  sessionIndex: string | null;
}

// The IdP's schema check of incoming AuthnRequests: the service provider under test builds them
// with node-saml, and what matters here is how it checks the responses, not how this IdP checks it.
samlify.setSchemaValidator({ validate: () => Promise.resolve('skipped') });

const ATTRIBUTE_NAMES = ['email', 'givenName', 'surname', 'department'] as const;

const AUTHN_STATEMENT =
  '<saml:AuthnStatement AuthnInstant="{AuthnInstant}" SessionIndex="{SessionIndex}"><saml:AuthnContext>' +
  '<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>' +
  '</saml:AuthnContext></saml:AuthnStatement>';

/**
 * A real SAML 2.0 identity provider on 127.0.0.1 for tests, built on samlify: HTTP-Redirect
 * binding in, HTTP-POST binding out, RSA-SHA256 signed assertions with its own freshly made
 * certificate. Its pages work without JavaScript: a sign-in form, then the usual "Continue" form
 * that posts the SAMLResponse to the service provider's ACS URL. Single logout (HTTP-Redirect, signed
 * both ways) at `/logout`, for service providers registered from their metadata.
 */
export class SamlIdp {
  readonly users: SamlIdpUser[] = [];
  faults: SamlIdpFaults = {};
  /** The IdP's open sessions (one per sign-in), ended by single logout. */
  readonly sessions: SamlIdpSession[] = [];
  readonly logoutRequests: ReceivedLogoutRequest[] = [];
  /** Service providers registered from their metadata (as an IdP administrator imports it), by entity id. */
  private readonly serviceProviders = new Map<string, ReturnType<typeof samlify.ServiceProvider>>();
  /** LogoutResponses the IdP accepted, answering the LogoutRequests it sent (`logoutRequestUrl`). */
  readonly logoutResponses: { inResponseTo: string; issuer: string }[] = [];
  private server: Server | null = null;
  private port = 0;
  private idp!: ReturnType<typeof samlify.IdentityProvider>;
  private foreign!: ReturnType<typeof samlify.IdentityProvider>;
  readonly cert: string;
  private readonly key: string;
  private readonly foreignKeyPair: { key: string; cert: string };

  private constructor() {
    ({ key: this.key, cert: this.cert } = keyPair('tessera-test-idp'));
    this.foreignKeyPair = keyPair('someone-else');
  }

  static async start(): Promise<SamlIdp> {
    const idp = new SamlIdp();
    await idp.listen();
    return idp;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get entityId(): string {
    return `${this.url}/metadata`;
  }

  /** The IdP's metadata XML, as an administrator pastes it into Tessera. */
  get metadata(): string {
    return this.idp.getMetadata();
  }

  addUser(user: SamlIdpUser): void {
    this.users.push(user);
  }

  /**
   * Registers a service provider from its metadata, as an IdP administrator imports it: its
   * single logout endpoint and signing certificate. Logout requests of an unregistered service
   * provider are refused.
   */
  registerServiceProvider(metadata: string): void {
    const sp = samlify.ServiceProvider({ metadata, wantLogoutRequestSigned: true, wantLogoutResponseSigned: true });
    this.serviceProviders.set(sp.entityMeta.getEntityID(), sp);
  }

  /**
   * IdP-initiated single logout: the URL (the service provider's single logout endpoint) with a
   * signed LogoutRequest for the latest session of this login there.
   */
  logoutRequestUrl(login: string, options: { sessionIndex?: string | null } = {}): string {
    const session = [...this.sessions].reverse().find((s) => s.login === login);
    if (!session) throw new Error(`${login} has no session at the test IdP`);
    const sp = this.registered(session.spEntityId);
    const sessionIndex = options.sessionIndex === undefined ? session.sessionIndex : options.sessionIndex;
    // samlify passes the request's values as a second argument (its type declares only the template).
    const replace = (template: string, values?: Record<string, string>) => {
      const id = `_${randomUUID()}`;
      const xml = sessionIndex === null ? template.replace('<samlp:SessionIndex>{SessionIndex}</samlp:SessionIndex>', '') : template;
      return { id, context: samlify.SamlLib.replaceTagsByValue(xml, { ...values, ID: id }) };
    };
    const { context } = this.idp.createLogoutRequest(sp, 'redirect', { logoutNameID: session.nameId, sessionIndex: sessionIndex ?? '' }, { customTagReplacement: replace });
    return context;
  }

  private registered(entityId: string) {
    const sp = this.serviceProviders.get(entityId);
    if (!sp) throw new Error(`The service provider ${entityId} is not registered at the test IdP`);
    return sp;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }

  private async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error instanceof Error ? error.message : error));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    this.idp = this.entity(this.key, this.cert);
    this.foreign = this.entity(this.foreignKeyPair.key, this.foreignKeyPair.cert);
  }

  private entity(privateKey: string, signingCert: string) {
    return samlify.IdentityProvider({
      entityID: `${this.url}/metadata`,
      privateKey,
      signingCert,
      requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      wantLogoutRequestSigned: true,
      wantLogoutResponseSigned: true,
      nameIDFormat: ['urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'],
      singleSignOnService: [{ Binding: samlify.Constants.namespace.binding.redirect, Location: `${this.url}/sso` }],
      singleLogoutService: [{ Binding: samlify.Constants.namespace.binding.redirect, Location: `${this.url}/logout` }],
      loginResponseTemplate: {
        context: samlify.SamlLib.defaultLoginResponseTemplate.context,
        attributes: ATTRIBUTE_NAMES.map((name) => ({
          name,
          valueTag: name,
          nameFormat: 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
          valueXsiType: 'xs:string',
        })),
      },
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    if (req.method === 'GET' && url.pathname === '/metadata') {
      res.setHeader('Content-Type', 'application/samlmetadata+xml');
      return void res.end(this.metadata);
    }
    if (req.method === 'GET' && url.pathname === '/sso') {
      return void page(res, 200, 'Sign in to the test IdP', loginForm(url.searchParams.get('SAMLRequest') ?? '', url.searchParams.get('RelayState') ?? '', null));
    }
    if (req.method === 'GET' && url.pathname === '/logout') {
      return this.logout(req, res, url);
    }
    if (req.method === 'POST' && url.pathname === '/sso') {
      const form = new URLSearchParams(await body(req));
      const request = form.get('SAMLRequest') ?? '';
      const relayState = form.get('RelayState') ?? '';
      const user = this.users.find((u) => u.login === form.get('login') && u.password === form.get('password'));
      if (!user) return void page(res, 401, 'Sign in to the test IdP', loginForm(request, relayState, 'Wrong login or password.'));
      return void page(res, 200, 'Continue to the service', await this.responseForm(request, relayState, user));
    }
    res.statusCode = 404;
    res.end('not found');
  }

  /**
   * The single logout endpoint (HTTP-Redirect): a service provider's signed LogoutRequest ends the
   * IdP's session and is answered with a signed LogoutResponse (302 to the service provider's
   * logout endpoint); a LogoutResponse answers a LogoutRequest the IdP sent.
   */
  private async logout(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const query = Object.fromEntries(url.searchParams);
    const raw = (url.search.startsWith('?') ? url.search.slice(1) : url.search).split('&');
    const token = (name: string) => raw.find((t) => t.startsWith(`${name}=`));
    const octetString = ['SAMLRequest', 'SAMLResponse', 'RelayState', 'SigAlg'].map(token).filter(Boolean).join('&');
    const issuer = element(inflateRequest(query.SAMLRequest ?? query.SAMLResponse ?? ''), 'Issuer');
    const sp = this.serviceProviders.get(issuer);
    if (!sp) return void page(res, 400, 'Logout refused', `<p>Unknown service provider ${escapeHtml(issuer)}.</p>`);
    if (query.SAMLResponse) {
      try {
        const parsed = await this.idp.parseLogoutResponse(sp, 'redirect', { query, octetString });
        this.logoutResponses.push({ inResponseTo: String(parsed.extract.response?.inResponseTo), issuer: String(parsed.extract.issuer) });
      } catch (error) {
        return void page(res, 400, 'Logout refused', `<p>${escapeHtml(String(error instanceof Error ? error.message : error))}</p>`);
      }
      return void page(res, 200, 'Signed out at the test IdP', '<p>The service provider ended its session.</p>');
    }
    let parsed;
    try {
      parsed = await this.idp.parseLogoutRequest(sp, 'redirect', { query, octetString });
    } catch (error) {
      return void page(res, 400, 'Logout refused', `<p>${escapeHtml(String(error instanceof Error ? error.message : error))}</p>`);
    }
    const nameId = String(parsed.extract.nameID);
    const sessionIndex = parsed.extract.sessionIndex ? String(parsed.extract.sessionIndex) : null;
    this.logoutRequests.push({ issuer, nameId, sessionIndex });
    for (let i = this.sessions.length - 1; i >= 0; i--) {
      const s = this.sessions[i];
      if (s.spEntityId === issuer && s.nameId === nameId && (sessionIndex === null || s.sessionIndex === sessionIndex)) this.sessions.splice(i, 1);
    }
    const faults = this.faults;
    const signer = faults.logoutForeignKey ? this.foreign : this.idp;
    const target = faults.logoutUnsigned ? samlify.ServiceProvider({ metadata: sp.entityMeta.getMetadata(), wantLogoutResponseSigned: false }) : sp;
    const { context } = signer.createLogoutResponse(target, { extract: { request: { id: String(parsed.extract.request?.id) } } }, 'redirect', query.RelayState ?? '');
    res.statusCode = 302;
    res.setHeader('Location', context);
    res.end();
  }

  /** The HTTP-POST binding's form: SAMLResponse and RelayState for the service provider's ACS. */
  private async responseForm(samlRequest: string, relayState: string, user: SamlIdpUser): Promise<string> {
    const request = inflateRequest(samlRequest);
    const acs = attribute(request, 'AssertionConsumerServiceURL');
    const spEntityId = element(request, 'Issuer');
    const faults = this.faults;
    const sp = samlify.ServiceProvider({
      entityID: spEntityId,
      wantAssertionsSigned: !faults.unsigned,
      assertionConsumerService: [{ Binding: samlify.Constants.namespace.binding.post, Location: acs }],
    });
    const signer = faults.foreignKey ? this.foreign : this.idp;
    const now = new Date();
    const start = faults.expiredMinutesAgo ? new Date(now.getTime() - (faults.expiredMinutesAgo + 10) * 60_000) : now;
    const end = new Date(start.getTime() + (faults.expiredMinutesAgo ? 10 : 5) * 60_000);
    const inResponseTo = faults.inResponseTo ?? attribute(request, 'ID');
    const sessionIndex = `_session-${randomUUID()}`;
    this.sessions.push({ login: user.login, nameId: user.nameId, sessionIndex, spEntityId });
    const { context } = await signer.createLoginResponse(sp, { extract: { request: { id: inResponseTo } } }, 'post', { ...user }, (raw: string) => {
      // The session at the IdP: what single logout names (samlify escapes tag values, so the element goes in the template).
      const template = raw.replace('{AuthnStatement}', AUTHN_STATEMENT);
      const values: Record<string, string> = {
        ID: `_${randomUUID()}`,
        AssertionID: `_${randomUUID()}`,
        Destination: acs,
        Audience: faults.audience ?? spEntityId,
        EntityID: spEntityId,
        SubjectRecipient: acs,
        Issuer: this.entityId,
        IssueInstant: start.toISOString(),
        AssertionConsumerServiceURL: acs,
        StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
        ConditionsNotBefore: start.toISOString(),
        ConditionsNotOnOrAfter: end.toISOString(),
        SubjectConfirmationDataNotOnOrAfter: end.toISOString(),
        NameIDFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
        NameID: user.nameId,
        InResponseTo: inResponseTo,
        AuthnInstant: start.toISOString(),
        SessionIndex: sessionIndex,
        ...Object.fromEntries(ATTRIBUTE_NAMES.map((name) => [`attr${name[0].toUpperCase()}${name.slice(1)}`, user.attributes?.[name] ?? ''])),
      };
      return { id: values.ID, context: samlify.SamlLib.replaceTagsByValue(template, values) };
    });
    return `<form method="post" action="${escapeHtml(acs)}">
      <input type="hidden" name="SAMLResponse" value="${escapeHtml(context)}">
      <input type="hidden" name="RelayState" value="${escapeHtml(relayState)}">
      <p>You are signed in at the test IdP as ${escapeHtml(user.login)}.</p>
      <button type="submit">Continue</button>
    </form>`;
  }
}

function loginForm(samlRequest: string, relayState: string, error: string | null): string {
  return `${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
    <form method="post" action="/sso">
      <input type="hidden" name="SAMLRequest" value="${escapeHtml(samlRequest)}">
      <input type="hidden" name="RelayState" value="${escapeHtml(relayState)}">
      <label for="login">Login</label> <input id="login" name="login">
      <label for="password">Password</label> <input id="password" name="password" type="password">
      <button type="submit">Sign in</button>
    </form>`;
}

function page(res: ServerResponse, status: number, title: string, content: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(`<!doctype html><html><head><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${content}</body></html>`);
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function inflateRequest(samlRequest: string): string {
  return inflateRawSync(Buffer.from(samlRequest, 'base64')).toString('utf8');
}

function attribute(xml: string, name: string): string {
  const match = new RegExp(`\\s${name}="([^"]*)"`).exec(xml);
  if (!match) throw new Error(`The AuthnRequest has no ${name}`);
  return match[1];
}

function element(xml: string, local: string): string {
  const match = new RegExp(`<(?:\\w+:)?${local}[^>]*>([^<]*)</`).exec(xml);
  if (!match) throw new Error(`The AuthnRequest has no ${local}`);
  return match[1].trim();
}

/** A fresh RSA key and self-signed certificate (openssl, as an IdP administrator makes one). */
function keyPair(commonName: string): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'saml-idp-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', `/CN=${commonName}`,
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
