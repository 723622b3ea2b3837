import { randomInt } from 'node:crypto';

/** The password requirements of the client settings, in one object used everywhere. */
export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
  requireLetter: boolean;
  requireDigit: boolean;
  requireUpper: boolean;
  requireLower: boolean;
  requireSymbol: boolean;
}

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = Object.freeze({
  minLength: 8,
  maxLength: 32,
  requireLetter: true,
  requireDigit: true,
  requireUpper: false,
  requireLower: false,
  requireSymbol: false,
});

/** OWASP ASVS: length 12 to 128, no composition rules. */
export const ASVS_PASSWORD_POLICY: PasswordPolicy = Object.freeze({
  minLength: 12,
  maxLength: 128,
  requireLetter: false,
  requireDigit: false,
  requireUpper: false,
  requireLower: false,
  requireSymbol: false,
});

const LETTER = /\p{L}/u;
const UPPER = /\p{Lu}/u;
const LOWER = /\p{Ll}/u;
const DIGIT = /\p{Nd}/u;
const SYMBOL = /[^\p{L}\p{Nd}\s]/u;

/** Length in user-perceived characters (code points), so "é" or an emoji counts once. */
function length(password: string): number {
  return [...password].length;
}

/** Every rule the password breaks, as sentences for the form; empty when it is acceptable. */
export function passwordProblems(policy: PasswordPolicy, password: string): string[] {
  const problems: string[] = [];
  const n = length(password);
  if (n < policy.minLength) problems.push(`at least ${policy.minLength} characters`);
  if (n > policy.maxLength) problems.push(`at most ${policy.maxLength} characters`);
  if (policy.requireLetter && !LETTER.test(password)) problems.push('a letter');
  if (policy.requireDigit && !DIGIT.test(password)) problems.push('a digit');
  if (policy.requireUpper && !UPPER.test(password)) problems.push('an upper-case letter');
  if (policy.requireLower && !LOWER.test(password)) problems.push('a lower-case letter');
  if (policy.requireSymbol && !SYMBOL.test(password)) problems.push('a symbol (such as ! or #)');
  return problems;
}

/** One sentence for a form field, or `null` when the password satisfies the policy. */
export function passwordPolicyMessage(policy: PasswordPolicy, password: string): string | null {
  const problems = passwordProblems(policy, password);
  if (problems.length === 0) return null;
  return `The password needs ${joinWithAnd(problems)}.`;
}

/** A sentence describing the policy, for hints next to password fields. */
export function describePolicy(policy: PasswordPolicy): string {
  const parts = [`${policy.minLength} to ${policy.maxLength} characters`];
  if (policy.requireLetter) parts.push('a letter');
  if (policy.requireDigit) parts.push('a digit');
  if (policy.requireUpper) parts.push('an upper-case letter');
  if (policy.requireLower) parts.push('a lower-case letter');
  if (policy.requireSymbol) parts.push('a symbol');
  return `Use ${joinWithAnd(parts)}.`;
}

function joinWithAnd(parts: string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

// Character sets without look-alikes (no 0/O/o, 1/l/I, 5/S, 2/Z, 8/B, quotes or spaces).
const UPPERS = 'ACDEFGHJKLMNPQRTUVWXY';
const LOWERS = 'abcdefghijkmnpqrstuvwxyz';
const DIGITS = '34679';
const SYMBOLS = '!#$%&*+-=?@^_';

/**
 * A random password from a cryptographic source (`crypto.randomInt`) that satisfies `policy`:
 * 16 characters unless the policy asks for more (or allows fewer), one of each required class
 * placed at a random position, no look-alike characters.
 */
export function generatePassword(policy: PasswordPolicy, preferredLength = 16): string {
  const size = Math.min(Math.max(preferredLength, policy.minLength), policy.maxLength);
  const required: string[] = [];
  if (policy.requireUpper) required.push(UPPERS);
  if (policy.requireLower) required.push(LOWERS);
  if (policy.requireLetter && !policy.requireUpper && !policy.requireLower) required.push(LOWERS);
  if (policy.requireDigit) required.push(DIGITS);
  if (policy.requireSymbol) required.push(SYMBOLS);
  if (required.length > size) throw new Error('The password policy asks for more character classes than its maximum length allows.');
  const all = UPPERS + LOWERS + DIGITS + (policy.requireSymbol ? SYMBOLS : '');
  const chars: string[] = required.map((set) => set[randomInt(set.length)]);
  while (chars.length < size) chars.push(all[randomInt(all.length)]);
  // Fisher-Yates shuffle so the required characters are not always first.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars.join('');
}

export const LOOK_ALIKE_CHARACTERS = '0Oo1lI5S2Z8B';
