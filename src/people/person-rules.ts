/**
 * The rules of a person's fields, as pure functions: what an e-mail address, a mobile or phone
 * number, a name and a job title may be. Every surface that writes a contact applies these — the
 * contact form, the user forms (Create User, Edit), the import, and each later identity source —
 * so that one contact is valid or not whatever page or file it came from. Each surface keeps
 * its own wording (a form speaks to one field, the import names its column and value), and
 * composes these rules with its own (which fields are required, which lists a value must be in).
 */

/** The longest values the contact columns take (`varchar` counts characters, not bytes). */
export const PERSON_MAX = {
  /** First name and last name. */
  name: 100,
  /** A person's full name or an organization contact's name. */
  fullName: 200,
  jobTitle: 100,
  /** RFC 5321's limit for a forward path. */
  email: 254,
  /** Mobile and phone numbers. */
  phone: 40,
} as const;

/**
 * A local part and a domain of at least two labels, none of them empty, without the characters
 * that would make the address need quoting (and that a mail client would not let anyone type).
 * Of the three expressions the pages and the import used, this one: an administrator expects
 * `ann@example..org` or `ann@.example.org` refused everywhere, not only in a file.
 */
const EMAIL = /^[^\s@<>(),;:"[\]\\]+@[^\s@<>(),;:"[\]\\.]+(\.[^\s@<>(),;:"[\]\\.]+)+$/;
/** Digits, spaces and `+ ( ) . / -`, as people write numbers: `+49 (30) 123-45/6`. */
const PHONE = /^[0-9+()./ -]+$/;
/** C0 controls and DEL: nothing a person's field holds (a pasted tab, a NUL from a forged form). */
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The length of `value` in characters (code points), as the database counts it. */
export function characters(value: string): number {
  return [...value].length;
}

export function tooLong(value: string, max: number): boolean {
  return characters(value) > max;
}

export function hasControlCharacters(value: string): boolean {
  return CONTROL.test(value);
}

/** Whether `value` (trimmed) is an e-mail address every surface accepts. */
export function isEmail(value: string): boolean {
  return value.length <= PERSON_MAX.email && EMAIL.test(value);
}

/** Whether `value` (trimmed) is a mobile or phone number: 3 to 40 of the characters above, with a digit. */
export function isPhoneNumber(value: string): boolean {
  const n = characters(value);
  return n >= 3 && n <= PERSON_MAX.phone && PHONE.test(value) && /[0-9]/.test(value);
}

/**
 * The key a mobile number is unique by: its digits and `+`, so that `0151 1` and `01511` are the
 * same number. `''` for a value without any.
 */
export function phoneKey(value: string): string {
  return value.replace(/[^0-9+]/g, '');
}

/** "First Last" (either may be empty). */
export function fullNameOf(firstName: string | null, lastName: string | null): string {
  return [firstName ?? '', lastName ?? ''].map((s) => s.trim()).filter((s) => s !== '').join(' ');
}
