import { MetadataProblem, parseIdpMetadata, pemCertificate, spMetadataXml } from './saml-metadata';
import { reasonFor } from './saml-sign-in.service';

const CERT = 'MIIBszCCAVmgAwIBAgIUabc'.padEnd(128, 'A');

function metadata(ssoBindings: string[], options: { cert?: boolean; use?: string; entityId?: string; slo?: boolean } = {}): string {
  const { cert = true, use = 'signing', entityId = 'https://idp.example/metadata', slo = false } = options;
  return `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${entityId}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    ${cert ? `<md:KeyDescriptor use="${use}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>\n ${CERT}\n </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` : ''}
    ${slo ? '<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example/slo"/>' : ''}
    ${ssoBindings.map((b) => `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${b}" Location="https://idp.example/sso/${b}"/>`).join('\n')}
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;
}

describe('parseIdpMetadata', () => {
  it('reads the entity id, the HTTP-Redirect sign-in URL, the signing certificates and the logout URL', () => {
    expect(parseIdpMetadata(metadata(['HTTP-POST', 'HTTP-Redirect'], { slo: true }))).toEqual({
      entityId: 'https://idp.example/metadata',
      ssoUrl: 'https://idp.example/sso/HTTP-Redirect',
      certificates: [CERT],
      logoutUrl: 'https://idp.example/slo',
      logoutResponseUrl: 'https://idp.example/slo',
    });
  });

  it('answers logout requests at the ResponseLocation when the IdP names one', () => {
    const xml = metadata(['HTTP-Redirect'], { slo: true }).replace('Location="https://idp.example/slo"', 'Location="https://idp.example/slo" ResponseLocation="https://idp.example/slo/answer"');
    expect(parseIdpMetadata(xml)).toMatchObject({ logoutUrl: 'https://idp.example/slo', logoutResponseUrl: 'https://idp.example/slo/answer' });
    expect(parseIdpMetadata(metadata(['HTTP-Redirect']))).toMatchObject({ logoutUrl: null, logoutResponseUrl: null });
  });

  it('takes a key without "use" as a signing key, and skips encryption-only keys', () => {
    expect(parseIdpMetadata(metadata(['HTTP-Redirect'], { use: '' }).replace(' use=""', '')).certificates).toEqual([CERT]);
    expect(() => parseIdpMetadata(metadata(['HTTP-Redirect'], { use: 'encryption' }))).toThrow(/no signing certificate/);
  });

  it.each([
    ['empty', '', /Paste the identity provider/],
    ['not XML', '<md:EntityDescriptor', /not well-formed/],
    ['a DOCTYPE (entity expansion)', `<!DOCTYPE x [<!ENTITY a "b">]>${metadata(['HTTP-Redirect'])}`, /DOCTYPE/],
    ['no IdP', '<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>', /no identity provider/],
    ['no entity id', metadata(['HTTP-Redirect'], { entityId: '' }), /no entityID/],
    ['sign-in only by HTTP-POST', metadata(['HTTP-POST']), /only by HTTP-POST/],
    ['no sign-in endpoint', metadata([]), /no SingleSignOnService/],
    ['no certificate', metadata(['HTTP-Redirect'], { cert: false }), /no signing certificate/],
  ])('refuses metadata with %s, saying why', (_what, xml, message) => {
    expect(() => parseIdpMetadata(xml)).toThrow(MetadataProblem);
    expect(() => parseIdpMetadata(xml)).toThrow(message);
  });

  it('finds the IdP inside an EntitiesDescriptor', () => {
    const xml = `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">${metadata(['HTTP-Redirect']).replace('<?xml version="1.0"?>', '')}</md:EntitiesDescriptor>`;
    expect(parseIdpMetadata(xml).entityId).toBe('https://idp.example/metadata');
  });
});

describe('spMetadataXml', () => {
  it('is metadata the IdP can read: signing certificate, logout by HTTP-Redirect, ACS by HTTP-POST, escaped addresses', () => {
    const xml = spMetadataXml({
      entityId: 'https://t.example/sso/uni/saml/metadata?a=1&b="2"',
      acsUrl: 'https://t.example/sso/uni/saml/acs',
      sloUrl: 'https://t.example/sso/uni/saml/slo',
      certificatePem: pemCertificate(CERT),
    });
    expect(xml).toContain('entityID="https://t.example/sso/uni/saml/metadata?a=1&amp;b=&quot;2&quot;"');
    expect(xml).toContain(`<ds:X509Certificate>${CERT}</ds:X509Certificate>`);
    expect(xml).toContain('<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://t.example/sso/uni/saml/slo"/>');
    expect(xml).toContain('Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://t.example/sso/uni/saml/acs"');
    expect(xml).toContain('WantAssertionsSigned="true"');
  });
});

describe('pemCertificate', () => {
  it('wraps base64 DER at 64 characters between PEM armour', () => {
    const pem = pemCertificate(CERT);
    expect(pem.startsWith('-----BEGIN CERTIFICATE-----\n')).toBe(true);
    expect(pem.split('\n').slice(1, -2).every((line) => line.length <= 64)).toBe(true);
  });
});

describe('reasonFor', () => {
  it.each([
    ['Invalid signature', 'signature is missing or does not verify'],
    ['SAML assertion audience mismatch. Expected: a Received: b', 'meant for another service'],
    ['No valid subject confirmation found among those available in the SAML assertion', 'has expired'],
    ['SAML assertion expired: clocks skewed too much', 'has expired'],
    ['InResponseTo is not valid', 'does not answer a sign-in started in this browser'],
    ['Unknown SAML issuer. Expected: a Received: b', 'another identity provider'],
    ['something new', 'could not be verified'],
  ])('puts "%s" in words for the person', (detail, words) => {
    expect(reasonFor(detail)).toContain(words);
  });
});
