import { generateKeyPairSync, sign } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { readRedirectMessage, RedirectProblem, redirectSignatureValid } from './saml-redirect';

const SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();

const RESPONSE = `<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r1" InResponseTo="_q1" IssueInstant="2026-12-04T10:00:00Z" Destination="https://t.example/sso/uni/saml/slo" Version="2.0"/>`;

/** A query as an IdP sends it: the signed octets in binding order, then the signature. */
function query(xml: string, options: { relayState?: string; sigAlg?: string; key?: typeof privateKey } = {}): string {
  const parts = [`SAMLResponse=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}`];
  if (options.relayState !== undefined) parts.push(`RelayState=${encodeURIComponent(options.relayState)}`);
  parts.push(`SigAlg=${encodeURIComponent(options.sigAlg ?? SHA256)}`);
  const signature = sign('sha256', Buffer.from(parts.join('&')), options.key ?? privateKey).toString('base64');
  return `${parts.join('&')}&Signature=${encodeURIComponent(signature)}`;
}

describe('readRedirectMessage', () => {
  it('reads a signed LogoutResponse and what Tessera checks of it; the signature verifies with the sender key only', () => {
    const message = readRedirectMessage(query(RESPONSE, { relayState: 'a b/c' }));
    expect(message).toMatchObject({
      kind: 'SAMLResponse',
      root: 'LogoutResponse',
      id: '_r1',
      inResponseTo: '_q1',
      destination: 'https://t.example/sso/uni/saml/slo',
      issueInstant: new Date('2026-12-04T10:00:00Z'),
      relayState: 'a b/c',
    });
    expect(redirectSignatureValid(message, [PEM])).toBe(true);
    expect(redirectSignatureValid(message, [other.publicKey.export({ type: 'spki', format: 'pem' }).toString()])).toBe(false);
  });

  it('verifies the octets as received, not as re-encoded', () => {
    // A sender that leaves `/` unencoded signs `x/y`, not `x%2Fy`.
    const raw = query(RESPONSE, { relayState: 'x/y' });
    expect(raw).toContain('RelayState=x%2Fy');
    const parts = raw.replace('x%2Fy', 'x/y').split('&').slice(0, 3);
    const resigned = `${parts.join('&')}&Signature=${encodeURIComponent(sign('sha256', Buffer.from(parts.join('&')), privateKey).toString('base64'))}`;
    const message = readRedirectMessage(resigned);
    expect(message.relayState).toBe('x/y');
    expect(redirectSignatureValid(message, [PEM])).toBe(true);
  });

  it.each([
    ['no signature', (q: string) => q.replace(/&Signature=[^&]*/, ''), /not signed/],
    ['a parameter twice', (q: string) => `${q}&SigAlg=x`, /SigAlg twice/],
    ['both a request and a response', (q: string) => `SAMLRequest=x&${q}`, /both/],
    ['neither', () => 'RelayState=x&SigAlg=y&Signature=z', /no SAMLRequest or SAMLResponse/],
    ['RSA-SHA1', () => query(RESPONSE, { sigAlg: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1' }), /not accepted/],
    ['no deflate', (q: string) => q.replace(/SAMLResponse=[^&]*/, 'SAMLResponse=bm90IGRlZmxhdGVk'), /not deflated base64/],
    ['a deflate bomb', () => query(`<a>${' '.repeat(200_000)}</a>`), /more than 64 KB/],
    ['a DOCTYPE', () => query(`<!DOCTYPE x [<!ENTITY a "b">]>${RESPONSE}`), /DOCTYPE/],
    ['another message', () => query('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x"/>'), /not a LogoutRequest or LogoutResponse/],
    ['no ID', () => query(RESPONSE.replace(' ID="_r1"', '')), /has no ID/],
  ])('refuses a query with %s', (_what, make, message) => {
    const q = make(query(RESPONSE));
    expect(() => readRedirectMessage(q)).toThrow(RedirectProblem);
    expect(() => readRedirectMessage(q)).toThrow(message);
  });
});
