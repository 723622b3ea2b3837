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

/**
 * Stores a provider's first SP key pair; a pair another request (or instance) stored first wins.
 * Returns the stored pair either way.
 */
export async function storeSpKeys(em: EntityManager, providerId: number, keySealed: string, certificatePem: string): Promise<{ keySealed: string; certificatePem: string } | null> {
  await em.execute(`update identity_providers set sp_key_sealed = ?, sp_certificate = ? where id = ? and sp_key_sealed is null`, [keySealed, certificatePem, providerId]);
  const [row]: { sp_key_sealed: string | null; sp_certificate: string | null }[] = await em.execute(
    `select sp_key_sealed, sp_certificate from identity_providers where id = ?`,
    [providerId],
  );
  return row?.sp_key_sealed && row.sp_certificate ? { keySealed: row.sp_key_sealed, certificatePem: row.sp_certificate } : null;
}

/** A user whose Tessera sessions an IdP's LogoutRequest ended. */
export interface EndedSessions {
  user_id: number;
  username: string | null;
  sessions: number;
}

/**
 * Ends the Tessera sessions that signed in through this SAML provider as this NameID (and, when
 * the IdP names one, this SessionIndex; a session whose sign-in had none is ended too). Reads the
 * session document written at sign-in (`SamlSessionFacts` under `ssoSignOut.saml`), through the
 * partial index `session_saml_name_id_idx`.
 */
export async function endSamlSessions(em: EntityManager, providerId: number, nameId: string, sessionIndex: string | null): Promise<EndedSessions[]> {
  return em.execute<EndedSessions[]>(
    `with ended as (
       delete from session
        where sess #>> '{ssoSignOut,saml,providerId}' = ? and sess #>> '{ssoSignOut,saml,nameId}' = ?
          and (?::text is null or sess #>> '{ssoSignOut,saml,sessionIndex}' is null or sess #>> '{ssoSignOut,saml,sessionIndex}' = ?)
       returning (sess #>> '{passport,user,id}')::int as user_id
     )
     select e.user_id, u.username, count(*)::int as sessions from ended e left join users u on u.id = e.user_id group by e.user_id, u.username order by e.user_id`,
    [String(providerId), nameId, sessionIndex, sessionIndex],
  );
}
