// A real OpenID Connect provider for the tests (oidc-provider), run as its own Node process:
// oidc-provider is ESM-only and jest (on Node 20) cannot load it. Started by `oidc-idp.ts`:
//
//   node test/support/oidc-idp.mjs '<json options>'
//
// It prints one line `{"issuer": "..."}` once it listens on a free loopback port. Options:
// `clients` (oidc-provider client metadata), `accounts` ({ sub, password, claims }). Its own
// login page (labelled fields, no JavaScript) checks the password; consent is given implicitly.
//
// POST /__control (JSON) lets a test make the provider misbehave the way a broken or hostile
// provider would, for the next token response only: `{ "tamper": { "aud": "x", "nonce": "y" } }`
// re-signs the ID token with those claims changed; `{ "codeTtl": 1 }` makes new authorization
// codes expire after that many seconds.
import { createServer } from 'node:http';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair, importJWK } from 'jose';
import Provider from 'oidc-provider';

const options = JSON.parse(process.argv[2] ?? '{}');
const accounts = new Map((options.accounts ?? []).map((a) => [a.sub, a]));
const control = { tamper: null, codeTtl: 60 };

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
const signingKey = await importJWK(jwk, 'RS256');

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: options.clients ?? [],
  jwks: { keys: [jwk] },
  cookies: { keys: ['test-cookie-key-0123456789'] },
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['given_name', 'family_name', 'preferred_username', 'name', 'department'],
  },
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
  ttl: { AuthorizationCode: () => control.codeTtl },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...account.claims }) };
  },
  // First-party clients: the scopes asked for are granted without a consent page.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(ctx.oidc.params.scope ?? 'openid');
    await grant.save();
    return grant;
  },
});

// The misbehaviour asked for through /__control, applied to the next ID token only.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && control.tamper && ctx.body && typeof ctx.body.id_token === 'string') {
    const claims = { ...decodeJwt(ctx.body.id_token), ...control.tamper };
    control.tamper = null;
    ctx.body = { ...ctx.body, id_token: await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'test-key' }).sign(signingKey) };
  }
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const readForm = (req) =>
  new Promise((resolve) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => resolve(new URLSearchParams(body)));
  });

function loginPage(res, uid, message, status = 200) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><html lang="en"><head><title>Test IdP: sign in</title></head><body>
<h1>Test identity provider</h1>
${message ? `<p role="alert">${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
  <label for="login">Username</label> <input id="login" name="login" autocomplete="username">
  <label for="password">Password</label> <input id="password" name="password" type="password">
  <button type="submit">Sign in at the IdP</button>
</form></body></html>`);
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    if (url.pathname === '/__control' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      Object.assign(control, JSON.parse(body || '{}'));
      res.writeHead(204).end();
      return;
    }
    const interaction = /^\/interaction\/([^/]+)(\/login)?$/.exec(url.pathname);
    if (interaction) {
      const details = await provider.interactionDetails(req, res);
      if (!interaction[2]) return loginPage(res, details.uid, null);
      const form = await readForm(req);
      const account = accounts.get(form.get('login') ?? '');
      if (!account || account.password !== form.get('password')) return loginPage(res, details.uid, 'Wrong username or password.', 401);
      await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
      return;
    }
    callback(req, res);
  } catch (error) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error?.stack ?? error));
  }
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
