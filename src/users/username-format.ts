/**
 * Usernames made from the username format of Settings → Interface (SPEC §4 "Enable Access"):
 * a template over the placeholders below. The result is lower-cased, accents folded (é → e),
 * spaces and every character outside `[a-z0-9._@-]` removed. Collisions get a number appended
 * (`jsmith`, `jsmith2`, …) by the provisioning service, which alone knows which names are taken.
 */

export const USERNAME_PLACEHOLDERS = ['{firstname}', '{lastname}', '{f}', '{l}', '{email}', '{emaillocal}', '{name}'] as const;

/** The longest username the database takes (`users.username varchar(100)`). */
export const USERNAME_MAX_LENGTH = 100;

/** What a username is made from: the contact's fields. */
export interface UsernameSource {
  kind: 'person' | 'organization';
  firstName?: string | null;
  lastName?: string | null;
  /** The person's full name or the organization contact's name. */
  fullName?: string | null;
  email?: string | null;
}

/** Letters that Unicode does not decompose into a base letter plus accents. */
const SPECIAL_LETTERS: Record<string, string> = {
  ß: 'ss',
  ẞ: 'ss',
  æ: 'ae',
  Æ: 'ae',
  œ: 'oe',
  Œ: 'oe',
  ø: 'o',
  Ø: 'o',
  ł: 'l',
  Ł: 'l',
  đ: 'd',
  Đ: 'd',
  ð: 'd',
  Ð: 'd',
  þ: 'th',
  Þ: 'th',
  ı: 'i',
};

/** Folds accents and lower-cases, then drops every character a username may not contain. */
export function cleanUsername(raw: string): string {
  const folded = raw
    .replace(/[ßẞæÆœŒøØłŁđĐðÐþÞı]/g, (c) => SPECIAL_LETTERS[c])
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase();
  return folded.replace(/[^a-z0-9._@-]/g, '');
}

/** Whether a typed username is acceptable as it stands (the rules the generator follows). */
export function usernameProblem(username: string): string | null {
  if (username.trim() === '') return 'Enter a username.';
  if (username.length > USERNAME_MAX_LENGTH) return `A username has at most ${USERNAME_MAX_LENGTH} characters.`;
  if (!/^[A-Za-z0-9._@-]+$/.test(username)) return 'A username may contain only letters a–z, digits and . _ @ - (no spaces or accents).';
  if (!hasLetterOrDigit(username)) return 'A username must contain at least one letter or digit.';
  return null;
}

/** The rule every username follows, typed or made: `.`, `..` or `-` alone name nobody. */
export function hasLetterOrDigit(username: string): boolean {
  return /[A-Za-z0-9]/.test(username);
}

const PLACEHOLDER = /\{([^{}]*)\}/g;
const HAS_PLACEHOLDER = /\{[^{}]*\}/;

/** Why a format cannot be used, or `null` when it is fine. */
export function usernameFormatProblem(format: string): string | null {
  if (format.trim() === '') return 'Enter a username format, for example {f}{lastname}.';
  if (format.length > 200) return 'A username format has at most 200 characters.';
  const unknown = [...format.matchAll(PLACEHOLDER)].map((m) => m[0]).filter((p) => !(USERNAME_PLACEHOLDERS as readonly string[]).includes(p));
  if (unknown.length > 0) return `Unknown placeholder ${unknown[0]}. Use ${USERNAME_PLACEHOLDERS.join(', ')}.`;
  if (/[{}]/.test(format.replace(PLACEHOLDER, ''))) return 'Every { needs a matching } around a placeholder name.';
  if (!HAS_PLACEHOLDER.test(format)) return 'Use at least one placeholder, otherwise every user would get the same username.';
  return null;
}

function initial(value: string | null | undefined): string {
  const clean = cleanUsername(value ?? '');
  return clean.slice(0, 1);
}

/** A made username and where it came from when the format itself gave none. */
export interface RenderedUsername {
  /** `''` when neither the format, the name nor the e-mail gives a letter or digit. */
  username: string;
  /** `name` or `email` when the format gave no letter or digit and this was used instead. */
  fallback: 'name' | 'email' | null;
}

/**
 * The username a format gives for a contact, before any collision suffix, and whether a
 * fallback was needed. Organization contacts have no first or last name: those placeholders are
 * empty for them (so `{firstname}.{lastname}` leaves only `.`) and `{name}` is their name. When
 * the format yields no letter or digit, the contact's name and then the local part of its e-mail
 * address are used instead; `''` when none of them has one.
 */
export function explainUsername(format: string, source: UsernameSource): RenderedUsername {
  const email = (source.email ?? '').trim();
  const person = source.kind === 'person';
  const values: Record<string, string> = {
    '{firstname}': person ? (source.firstName ?? '') : '',
    '{lastname}': person ? (source.lastName ?? '') : '',
    '{f}': person ? initial(source.firstName) : '',
    '{l}': person ? initial(source.lastName) : '',
    '{email}': email,
    '{emaillocal}': email.includes('@') ? email.slice(0, email.lastIndexOf('@')) : email,
    '{name}': source.fullName ?? '',
  };
  const candidates: [string, RenderedUsername['fallback']][] = [
    [format.replace(PLACEHOLDER, (p) => values[p] ?? ''), null],
    [source.fullName ?? '', 'name'],
    [values['{emaillocal}'], 'email'],
  ];
  for (const [raw, fallback] of candidates) {
    const username = cleanUsername(raw).slice(0, USERNAME_MAX_LENGTH);
    if (hasLetterOrDigit(username)) return { username, fallback };
  }
  return { username: '', fallback: null };
}

/** The username a format gives for a contact (see `explainUsername`); may be `''`. */
export function renderUsername(format: string, source: UsernameSource): string {
  return explainUsername(format, source).username;
}

/** `base` with collision number `n` (1 = the base itself), shortened to fit the column. */
export function withSuffix(base: string, n: number): string {
  if (n <= 1) return base.slice(0, USERNAME_MAX_LENGTH);
  const suffix = String(n);
  return base.slice(0, USERNAME_MAX_LENGTH - suffix.length) + suffix;
}

/**
 * The lowest free name among `base`, `base2`, `base3`, … given the taken names (lower-case) that
 * start with `base`.
 */
export function nextFreeUsername(base: string, taken: Iterable<string>): string {
  const used = new Set([...taken].map((t) => t.toLowerCase()));
  for (let n = 1; ; n++) {
    const candidate = withSuffix(base, n);
    if (!used.has(candidate)) return candidate;
  }
}
