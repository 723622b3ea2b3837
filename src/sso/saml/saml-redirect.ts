import { DOMParser } from '@xmldom/xmldom';
import { createPublicKey, verify } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';

const PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';

/** The signature algorithms Tessera accepts on HTTP-Redirect messages (RSA-SHA1 is refused). */
const SIGNATURE_ALGORITHMS: Record<string, string> = {
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384': 'sha384',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': 'sha512',
};

/** A logout message is a few hundred bytes; this bounds what a deflated query may inflate to. */
const MAX_XML_BYTES = 64 * 1024;

/** A SAML message of the HTTP-Redirect binding (SAML bindings §3.4), read from the raw query. */
export interface RedirectMessage {
  /** Which parameter carried it. */
  kind: 'SAMLRequest' | 'SAMLResponse';
  /** The parameters, decoded (the message still base64 of the deflated XML), as node-saml takes them. */
  params: { SAMLRequest?: string; SAMLResponse?: string; RelayState?: string; SigAlg: string; Signature: string };
  /** The query as node-saml re-reads it: exactly the parameters above, in the order that is signed. */
  canonicalQuery: string;
  /** The octets the signature covers, exactly as they came in the query. */
  signedOctets: string;
  relayState: string | null;
  /** The inflated XML and what Tessera checks of it itself. */
  xml: string;
  root: 'LogoutRequest' | 'LogoutResponse';
  id: string;
  issueInstant: Date | null;
  destination: string | null;
  inResponseTo: string | null;
}

/** A message that cannot be read or is not signed; `message` is for the audit log. */
export class RedirectProblem extends Error {}

/**
 * Reads a logout message of the HTTP-Redirect binding from the raw query string. Each parameter
 * must occur once; the message must be signed (`SigAlg` and `Signature`: the binding signs the
 * query, not the XML), with RSA-SHA256 or stronger. The signed octets are rebuilt from the
 * parameters exactly as received (`SAMLRequest|SAMLResponse`, `RelayState` if present, `SigAlg`),
 * since re-encoding them could differ from what the sender signed.
 */
export function readRedirectMessage(rawQuery: string): RedirectMessage {
  const tokens = new Map<string, string>();
  for (const token of rawQuery.split('&')) {
    if (token === '') continue;
    const at = token.indexOf('=');
    const name = at < 0 ? token : token.slice(0, at);
    if (tokens.has(name)) throw new RedirectProblem(`the query has ${name} twice`);
    tokens.set(name, token);
  }
  const hasRequest = tokens.has('SAMLRequest');
  if (hasRequest === tokens.has('SAMLResponse')) throw new RedirectProblem(hasRequest ? 'the query has both SAMLRequest and SAMLResponse' : 'the query has no SAMLRequest or SAMLResponse');
  const kind = hasRequest ? 'SAMLRequest' : 'SAMLResponse';
  const sigAlgToken = tokens.get('SigAlg');
  const signatureToken = tokens.get('Signature');
  if (!sigAlgToken || !signatureToken) throw new RedirectProblem('the message is not signed (no SigAlg and Signature)');
  const value = (name: string): string | undefined => {
    const token = tokens.get(name);
    if (token === undefined) return undefined;
    try {
      const raw = token.slice(name.length + 1);
      // base64 values: a '+' left unencoded is still a '+'; RelayState is form-encoded text.
      return decodeURIComponent(name === 'RelayState' ? raw.replace(/\+/g, ' ') : raw);
    } catch {
      throw new RedirectProblem(`the query's ${name} is not URL-encoded`);
    }
  };
  const message = value(kind)!;
  const relayState = value('RelayState');
  const sigAlg = value('SigAlg')!;
  if (!SIGNATURE_ALGORITHMS[sigAlg]) throw new RedirectProblem(`the signature algorithm ${sigAlg} is not accepted (RSA-SHA256, -384 or -512 are)`);
  const signed = [tokens.get(kind)!, ...(tokens.has('RelayState') ? [tokens.get('RelayState')!] : []), sigAlgToken];

  let xml: string;
  try {
    xml = inflateRawSync(Buffer.from(message, 'base64'), { maxOutputLength: MAX_XML_BYTES }).toString('utf8');
  } catch {
    throw new RedirectProblem(`the ${kind} is not deflated base64, or inflates to more than 64 KB`);
  }
  const facts = messageFacts(xml);
  return {
    kind,
    params: { [kind]: message, ...(relayState === undefined ? {} : { RelayState: relayState }), SigAlg: sigAlg, Signature: value('Signature')! },
    canonicalQuery: [...signed, signatureToken].join('&'),
    signedOctets: signed.join('&'),
    relayState: relayState ?? null,
    xml,
    ...facts,
  };
}

/** Whether the message's query signature verifies with one of these certificates (PEM). */
export function redirectSignatureValid(message: RedirectMessage, certificatesPem: string[]): boolean {
  const hash = SIGNATURE_ALGORITHMS[message.params.SigAlg];
  const signature = Buffer.from(message.params.Signature, 'base64');
  return certificatesPem.some((pem) => {
    try {
      return verify(hash, Buffer.from(message.signedOctets, 'utf8'), createPublicKey(pem), signature);
    } catch {
      return false;
    }
  });
}

function messageFacts(xml: string): Pick<RedirectMessage, 'root' | 'id' | 'issueInstant' | 'destination' | 'inResponseTo'> {
  if (/<!DOCTYPE/i.test(xml)) throw new RedirectProblem('the message contains a DOCTYPE');
  const problems: string[] = [];
  const doc = new DOMParser({ errorHandler: { error: (m: string) => problems.push(m), fatalError: (m: string) => problems.push(m), warning: () => undefined } }).parseFromString(xml, 'text/xml');
  const root = doc?.documentElement;
  if (problems.length > 0 || !root) throw new RedirectProblem('the message is not well-formed XML');
  if (root.namespaceURI !== PROTOCOL || (root.localName !== 'LogoutRequest' && root.localName !== 'LogoutResponse')) {
    throw new RedirectProblem(`the message is a ${root.localName}, not a LogoutRequest or LogoutResponse`);
  }
  const attribute = (name: string) => root.getAttribute(name) || null;
  const id = attribute('ID');
  if (!id) throw new RedirectProblem(`the ${root.localName} has no ID`);
  const instant = attribute('IssueInstant');
  const issueInstant = instant && Number.isFinite(Date.parse(instant)) ? new Date(instant) : null;
  return { root: root.localName, id, issueInstant, destination: attribute('Destination'), inResponseTo: attribute('InResponseTo') };
}
