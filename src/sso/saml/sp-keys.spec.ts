import { createPrivateKey, createSign, verify, X509Certificate } from 'node:crypto';
import { createSpKeyPair } from './sp-keys';

describe('createSpKeyPair', () => {
  it('makes an RSA key and a self-signed certificate for it, valid for ten years', async () => {
    const now = new Date('2026-12-04T10:00:00Z');
    const { privateKeyPem, certificatePem } = await createSpKeyPair('Tessera SP uni', now);
    const cert = new X509Certificate(certificatePem);
    expect(cert.subject).toBe('CN=Tessera SP uni');
    expect(cert.issuer).toBe('CN=Tessera SP uni');
    expect(cert.verify(cert.publicKey)).toBe(true);
    const key = createPrivateKey(privateKeyPem);
    expect(cert.checkPrivateKey(key)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(new Date(cert.validFrom).getTime()).toBeLessThanOrEqual(now.getTime());
    expect(new Date(cert.validTo).getUTCFullYear()).toBe(2036);
    expect(cert.ca).toBe(false);
    // A message signed with the key verifies with the certificate (what the IdP does).
    const signature = createSign('RSA-SHA256').update('SAMLRequest=x&SigAlg=y').sign(key);
    expect(verify('sha256', Buffer.from('SAMLRequest=x&SigAlg=y'), cert.publicKey, signature)).toBe(true);
  });

  it('gives each certificate its own positive serial number', async () => {
    const [a, b] = await Promise.all([createSpKeyPair('a'), createSpKeyPair('b')]);
    const serials = [a, b].map((p) => new X509Certificate(p.certificatePem).serialNumber);
    expect(serials[0]).not.toBe(serials[1]);
    for (const s of serials) expect(parseInt(s[0], 16)).toBeLessThan(8);
  });
});
