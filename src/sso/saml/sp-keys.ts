import forge from 'node-forge';
import { generateKeyPair, randomBytes, sign } from 'node:crypto';
import { promisify } from 'node:util';

/** Tessera's signing key of one SAML provider and its self-signed certificate (PEM). */
export interface SpKeyPair {
  privateKeyPem: string;
  certificatePem: string;
}

/** forge's own encoder of the to-be-signed part, which its type declarations leave out. */
interface ForgeTbs {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
}

/** An SP certificate is only a carrier of the public key (IdPs pin it from the metadata); ten years spares renewals. */
const VALID_YEARS = 10;

/**
 * A fresh RSA-2048 key and a self-signed X.509 certificate for it, which Tessera's SP metadata
 * publishes so that the IdP can check Tessera's signed logout messages. Node makes the key and
 * signs; node-forge only encodes the certificate (Node has no API that creates certificates).
 */
export async function createSpKeyPair(commonName: string, now = new Date()): Promise<SpKeyPair> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  // A positive serial number of 128 random bits (RFC 5280 §4.1.2.2: at most 20 octets, positive).
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now);
  cert.validity.notAfter.setUTCFullYear(now.getUTCFullYear() + VALID_YEARS);
  const name = [{ name: 'commonName', value: commonName.slice(0, 64) }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true },
  ]);
  // What `cert.sign` does, with Node's native RSA instead of forge's (ten times slower) JavaScript one.
  cert.signatureOid = cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption;
  const tbs = Buffer.from(forge.asn1.toDer((forge.pki as unknown as ForgeTbs).getTBSCertificate(cert)).getBytes(), 'binary');
  cert.signature = sign('sha256', tbs, privateKey).toString('binary');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certificatePem: forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n'),
  };
}
