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
}

// The IdP's schema check of incoming AuthnRequests: the service provider under test builds them
// with node-saml, and what matters here is how it checks the responses, not how this IdP checks it.
samlify.setSchemaValidator({ validate: () => Promise.resolve('skipped') });

const ATTRIBUTE_NAMES = ['email', 'givenName', 'surname', 'department'] as const;

/**
 * A real SAML 2.0 identity provider on 127.0.0.1 for tests, built on samlify: HTTP-Redirect
 * binding in, HTTP-POST binding out, RSA-SHA256 signed assertions with its own freshly made
 * certificate. Its pages work without JavaScript: a sign-in form, then the usual "Continue" form
 * that posts the SAMLResponse to the service provider's ACS URL.
 */
export class SamlIdp {
  readonly users: SamlIdpUser[] = [];
  faults: SamlIdpFaults = {};
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
    const { context } = await signer.createLoginResponse(sp, { extract: { request: { id: inResponseTo } } }, 'post', { ...user }, (template: string) => {
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
        AuthnStatement: '',
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
