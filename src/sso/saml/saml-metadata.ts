import { DOMParser } from '@xmldom/xmldom';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

/** What Tessera needs from an identity provider's SAML metadata. */
export interface IdpMetadata {
  entityId: string;
  /** Where the browser is sent with the AuthnRequest (HTTP-Redirect binding). */
  ssoUrl: string;
  /** The IdP's signing certificates (base64 DER, as in the metadata); assertions must verify against one. */
  certificates: string[];
  /** Its single logout endpoint (HTTP-Redirect), if it offers one: where Tessera sends its LogoutRequest. */
  logoutUrl: string | null;
  /** Where Tessera answers the IdP's LogoutRequest: the endpoint's ResponseLocation, else its Location. */
  logoutResponseUrl: string | null;
}

/** Metadata that cannot be used, with a message for the administrator who pasted it. */
export class MetadataProblem extends Error {}

/** Refuses documents with a DOCTYPE: entity expansion is never needed in metadata. */
const DOCTYPE = /<!DOCTYPE/i;

/**
 * Reads an IdP's SAML 2.0 metadata (an `EntityDescriptor`, or the first one with an
 * `IDPSSODescriptor` in an `EntitiesDescriptor`). Pure: throws `MetadataProblem` naming what is
 * missing, so the settings page can show it next to the field.
 */
export function parseIdpMetadata(xml: string): IdpMetadata {
  if (xml.trim() === '') throw new MetadataProblem('Paste the identity provider’s metadata XML or enter its metadata URL.');
  if (DOCTYPE.test(xml)) throw new MetadataProblem('The metadata must not contain a DOCTYPE.');
  const problems: string[] = [];
  const doc = new DOMParser({
    errorHandler: { error: (m: string) => problems.push(m), fatalError: (m: string) => problems.push(m), warning: () => undefined },
  }).parseFromString(xml, 'text/xml');
  if (problems.length > 0 || !doc?.documentElement) throw new MetadataProblem('The metadata is not well-formed XML.');

  const entity = [doc.documentElement, ...Array.from(doc.getElementsByTagNameNS(MD, 'EntityDescriptor'))].find(
    (e) => e.namespaceURI === MD && e.localName === 'EntityDescriptor' && e.getElementsByTagNameNS(MD, 'IDPSSODescriptor').length > 0,
  );
  if (!entity) throw new MetadataProblem('The metadata has no identity provider (no EntityDescriptor with an IDPSSODescriptor).');
  const entityId = entity.getAttribute('entityID')?.trim() ?? '';
  if (entityId === '') throw new MetadataProblem('The metadata’s EntityDescriptor has no entityID.');
  const idp = entity.getElementsByTagNameNS(MD, 'IDPSSODescriptor')[0];

  const element = (local: string, binding: string) => Array.from(idp.getElementsByTagNameNS(MD, local)).find((e) => e.getAttribute('Binding') === binding);
  const endpoint = (local: string, binding: string, attribute = 'Location') => element(local, binding)?.getAttribute(attribute)?.trim() || null;
  const ssoUrl = endpoint('SingleSignOnService', REDIRECT);
  if (!ssoUrl) {
    const hasPost = endpoint('SingleSignOnService', POST) !== null;
    throw new MetadataProblem(
      hasPost
        ? 'The identity provider offers sign-in only by HTTP-POST; Tessera sends its requests by HTTP-Redirect. Enable the HTTP-Redirect binding for single sign-on on the identity provider.'
        : 'The metadata has no SingleSignOnService with the HTTP-Redirect binding.',
    );
  }
  if (!isHttpUrl(ssoUrl)) throw new MetadataProblem(`The single sign-on URL ${ssoUrl} is not an http(s) URL.`);

  const certificates = Array.from(idp.getElementsByTagNameNS(MD, 'KeyDescriptor'))
    .filter((k) => (k.getAttribute('use') || 'signing') === 'signing')
    .flatMap((k) => Array.from(k.getElementsByTagNameNS(DS, 'X509Certificate')))
    .map((c) => (c.textContent ?? '').replace(/\s+/g, ''))
    .filter((c) => c !== '');
  if (certificates.length === 0) throw new MetadataProblem('The metadata has no signing certificate (KeyDescriptor with an X509Certificate), so Tessera could not check signed assertions.');

  const logoutUrl = endpoint('SingleLogoutService', REDIRECT);
  const usable = logoutUrl !== null && isHttpUrl(logoutUrl);
  const responseUrl = endpoint('SingleLogoutService', REDIRECT, 'ResponseLocation');
  return {
    entityId,
    ssoUrl,
    certificates: [...new Set(certificates)],
    logoutUrl: usable ? logoutUrl : null,
    logoutResponseUrl: usable ? (responseUrl && isHttpUrl(responseUrl) ? responseUrl : logoutUrl) : null,
  };
}

/** Where an IdP reaches Tessera for one SAML provider, and the certificate of Tessera's signing key. */
export interface SpDescription {
  entityId: string;
  acsUrl: string;
  sloUrl: string;
  certificatePem: string;
}

/**
 * Tessera's SP metadata: the signing certificate (logout messages are signed; sign-in requests
 * are not, so `AuthnRequestsSigned` stays false), the single logout service (HTTP-Redirect), the
 * NameID format and the assertion consumer service (HTTP-POST); assertions must be signed.
 */
export function spMetadataXml(sp: SpDescription): string {
  const certificate = sp.certificatePem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '');
  return `<?xml version="1.0"?>
<EntityDescriptor xmlns="${MD}" xmlns:ds="${DS}" entityID="${xmlAttribute(sp.entityId)}">
  <SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="false" WantAssertionsSigned="true">
    <KeyDescriptor use="signing">
      <ds:KeyInfo>
        <ds:X509Data>
          <ds:X509Certificate>${certificate}</ds:X509Certificate>
        </ds:X509Data>
      </ds:KeyInfo>
    </KeyDescriptor>
    <SingleLogoutService Binding="${REDIRECT}" Location="${xmlAttribute(sp.sloUrl)}"/>
    <NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</NameIDFormat>
    <AssertionConsumerService index="1" isDefault="true" Binding="${POST}" Location="${xmlAttribute(sp.acsUrl)}"/>
  </SPSSODescriptor>
</EntityDescriptor>
`;
}

function xmlAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
}

/** A PEM certificate from the metadata's base64 DER, as node-saml takes it. */
export function pemCertificate(base64: string): string {
  return `-----BEGIN CERTIFICATE-----\n${base64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
