import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { createHash, X509Certificate } from 'node:crypto';
import type { IdentityProvider } from '../identity-provider.entity';
import { SecretBox } from '../secret-box';
import { storeSpKeys } from './saml.queries';
import { createSpKeyPair, SpKeyPair } from './sp-keys';

/** What the provider page shows of Tessera's certificate, for comparing with what the IdP imported. */
export interface SpCertificateView {
  sha256: string;
  validTo: string;
}

/**
 * Tessera's signing key of each SAML provider: made when the provider is added, or — for
 * providers that existed before single logout — the first time it is needed (metadata, the
 * provider page, a logout). The private key is sealed by the `SecretBox`; the certificate is public.
 */
@Injectable()
export class SamlKeysService {
  constructor(
    private readonly em: EntityManager,
    private readonly secrets: SecretBox,
  ) {}

  /** The sealed key and certificate of a new provider. */
  async newKeys(key: string): Promise<{ spKeySealed: string; spCertificate: string }> {
    const pair = await createSpKeyPair(commonName(key));
    return { spKeySealed: this.secrets.seal(pair.privateKeyPem), spCertificate: pair.certificatePem };
  }

  /** The provider's key pair; made and stored now when it has none (the first one stored wins a race). */
  async keysOf(provider: Pick<IdentityProvider, 'id' | 'key' | 'spKeySealed' | 'spCertificate'>): Promise<SpKeyPair> {
    let sealed = provider.spKeySealed;
    let certificatePem = provider.spCertificate;
    if (!sealed || !certificatePem) {
      const fresh = await this.newKeys(provider.key);
      const stored = await storeSpKeys(this.em.fork(), provider.id, fresh.spKeySealed, fresh.spCertificate);
      if (!stored) throw new Error(`Identity provider ${provider.id} is gone`);
      ({ keySealed: sealed, certificatePem } = stored);
      provider.spKeySealed = sealed;
      provider.spCertificate = certificatePem;
    }
    return { privateKeyPem: this.secrets.open(sealed), certificatePem };
  }

  /** The certificate's SHA-256 fingerprint and end of validity, as IdP consoles show them. */
  static describe(certificatePem: string): SpCertificateView {
    const cert = new X509Certificate(certificatePem);
    const sha256 = createHash('sha256').update(cert.raw).digest('hex').toUpperCase().match(/../g)!.join(':');
    return { sha256, validTo: new Date(cert.validTo).toISOString().slice(0, 10) };
  }
}

function commonName(key: string): string {
  return `Tessera SAML SP ${key}`.slice(0, 64);
}
