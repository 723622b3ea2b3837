import { hash, verify } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';

/**
 * argon2id with the library defaults (m=19456 KiB, t=2, p=1: the OWASP recommendation).
 * Hashing runs on libuv's thread pool, so it does not block the event loop.
 */
export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

export async function verifyPassword(passwordHash: string | null, password: string): Promise<boolean> {
  if (!passwordHash) {
    // Same cost as a real check, so response time does not tell whether the account exists.
    await dummyHash()
      .then((dummyHash) => verify(dummyHash, password))
      .catch(() => false);
    return false;
  }
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | null = null;

/**
 * An argon2id hash of a random secret nobody knows, verified against when there is no password
 * to check (unknown username, user without a password or signing in by SSO). Made once per
 * process by `hashPassword` itself, so its parameters are always those of real hashes.
 */
function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(32).toString('base64'));
  return dummy;
}
