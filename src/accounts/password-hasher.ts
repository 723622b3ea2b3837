import { hash, verify } from '@node-rs/argon2';

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
    await verify(DUMMY_HASH, password).catch(() => false);
    return false;
  }
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/** An argon2id hash of a random string nobody knows; verified against for unknown usernames. */
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$BGArG1QQ1jtLTndy4+ohbQ$Mz0Ij5hsBbZX3ajJlZrOcjqP6EgPkDhJZJS/qT9U+7U';
