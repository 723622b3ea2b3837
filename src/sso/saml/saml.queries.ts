import type { EntityManager } from '@mikro-orm/postgresql';

/** Remembers a started SAML request (id → its IssueInstant) for this provider and browser; prunes expired ones. */
export async function saveSamlRequest(em: EntityManager, id: string, providerId: number, browserHash: string, issuedAt: string, ttlMinutes: number): Promise<void> {
  await em.execute(`delete from saml_requests where expires_at < now()`);
  await em.execute(
    `insert into saml_requests (id, identity_provider_id, browser_hash, issued_at, expires_at) values (?, ?, ?, ?, now() + make_interval(mins => ?))`,
    [id, providerId, browserHash, issuedAt, ttlMinutes],
  );
}

/** The IssueInstant of a live request of this provider started by this browser, or null. */
export async function samlRequestIssued(em: EntityManager, id: string, providerId: number, browserHash: string): Promise<string | null> {
  const [row]: { issued_at: string }[] = await em.execute(
    `select issued_at from saml_requests where id = ? and identity_provider_id = ? and browser_hash = ? and expires_at >= now()`,
    [id, providerId, browserHash],
  );
  return row?.issued_at ?? null;
}

/**
 * Uses up a request of this browser: a response to it is accepted once. Another browser posting
 * the response cannot use up the request of the one that started it.
 */
export async function consumeSamlRequest(em: EntityManager, id: string, providerId: number, browserHash: string): Promise<string | null> {
  const [row]: { issued_at: string }[] = await em.execute(
    `delete from saml_requests where id = ? and identity_provider_id = ? and browser_hash = ? returning issued_at`,
    [id, providerId, browserHash],
  );
  return row?.issued_at ?? null;
}

/**
 * Records an accepted assertion until it expires; false when it was already recorded (a replay,
 * even one racing on another instance: the primary key decides). Prunes expired ones.
 */
export async function recordSamlAssertion(em: EntityManager, providerId: number, assertionId: string, expiresAt: Date): Promise<boolean> {
  await em.execute(`delete from saml_assertions where expires_at < now()`);
  const rows = await em.execute(
    `insert into saml_assertions (identity_provider_id, assertion_id, expires_at) values (?, ?, ?) on conflict do nothing returning assertion_id`,
    [providerId, assertionId, expiresAt],
  );
  return rows.length === 1;
}
