import type { EntityManager } from '@mikro-orm/postgresql';

/** The SQL of single sign-on, as typed functions (services read as the steps of a use case). */

export interface ProviderButton {
  key: string;
  label: string;
}

/** The "Sign in with …" buttons of the login page: the enabled providers, by label. */
export function enabledProviderButtons(em: EntityManager): Promise<ProviderButton[]> {
  return em.execute<ProviderButton[]>('select key, label from identity_providers where enabled order by lower(label), key');
}

/** The keys of every configured provider (enabled or not), for the import's Provider column. */
export async function configuredProviderKeys(em: EntityManager): Promise<string[]> {
  const rows = await em.execute<{ key: string }[]>('select key from identity_providers order by key');
  return rows.map((r) => r.key);
}

/** How many users sign in through the provider with this key. */
export async function countUsersOfProvider(em: EntityManager, key: string): Promise<number> {
  const [row] = await em.execute<{ n: number }[]>('select count(*)::int as n from users where provider = ?', [key]);
  return row?.n ?? 0;
}

/** The user an identity belongs to: provider key and external id, never e-mail or username. */
export async function userIdByExternalId(em: EntityManager, key: string, externalId: string): Promise<number | null> {
  const [row] = await em.execute<{ id: number }[]>('select id from users where provider = ? and external_id = ?', [key, externalId]);
  return row?.id ?? null;
}

/**
 * Copies name and e-mail an identity provider sent into the user's contact; the full name
 * follows the names only while it is still the one made of them (`previousFullName`).
 */
export async function updateProvidedAttributes(
  tx: EntityManager,
  contactId: number,
  person: { firstName: string | null; lastName: string | null; email: string | null },
  previousFullName: string,
): Promise<void> {
  await tx.execute(
    `update contacts set first_name = ?, last_name = ?, full_name = case when full_name = ? then ? else full_name end, email = ? where id = ?`,
    [person.firstName, person.lastName, previousFullName, [person.firstName, person.lastName].filter(Boolean).join(' '), person.email, contactId],
  );
}

/** Whether another provider than `exceptId` has this key. */
export async function providerKeyTaken(em: EntityManager, key: string, exceptId: number): Promise<boolean> {
  return (await em.execute('select 1 from identity_providers where key = ? and id <> ?', [key, exceptId])).length > 0;
}
