import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
/** HKDF `info`: a key derived for this purpose is useless for anything else made from the same secret. */
const INFO = 'tessera identity-provider secrets v1';

/**
 * Encrypts the secrets Tessera must keep in clear form somewhere (an identity provider's client
 * secret is sent to the provider, so it cannot be hashed): AES-256-GCM under a key derived with
 * HKDF-SHA256 from SECRETS_KEY, or from the session secret when that is unset. Each value gets a
 * fresh 96-bit nonce; the tag makes a tampered or foreign value fail to open instead of yielding
 * garbage. Stored as `v1:<nonce>:<tag>:<ciphertext>` (base64url).
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(keyMaterial: string) {
    this.key = Buffer.from(hkdfSync('sha256', keyMaterial, 'tessera', INFO, 32));
  }

  seal(plain: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, nonce.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join(':');
  }

  /** The plain value; throws when the value was not sealed with this key (or was altered). */
  open(sealed: string): string {
    const [version, nonce, tag, body] = sealed.split(':');
    if (version !== VERSION || !nonce || !tag || body === undefined) throw new Error('Not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(nonce, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}
