/**
 * The keys that make a user unique (SPEC §2 "Users", §4 "Import"): the username and the e-mail
 * address in any case, the mobile number by its digits (`phoneKey`), the external id per
 * provider. The database's unique constraints back the first, second and last; the set-based
 * check (`takenKeys` in `provisioning.queries.ts`) looks up all of them for many users at once.
 */

/** The keys of a set of new users, normalised: usernames and e-mails lower-cased, mobiles by `phoneKey`, external ids as `[provider, id]`. */
export interface UserKeys {
  usernames: string[];
  emails: string[];
  mobiles: string[];
  externalIds: [string, string][];
}

/** The keys of `keys` that users already hold (same normalisation; external ids as `externalKey`). */
export interface TakenKeys {
  usernames: Set<string>;
  emails: Set<string>;
  mobiles: Set<string>;
  /** `externalKey(provider, id)`. */
  externalIds: Set<string>;
}

/** How a provider's external id is unique: per provider, the provider's name in any case. */
export function externalKey(provider: string, id: string): string {
  return `${provider.toLowerCase()}\u0000${id}`;
}

