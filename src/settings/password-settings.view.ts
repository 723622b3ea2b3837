import { DEFAULT_PASSWORD_POLICY, PasswordPolicy } from '../accounts/password-policy';

/** The policy the Password requirements form shows (for the "Passwords must …" sentence). */
export function toPolicyPreview(values: Record<string, unknown>): PasswordPolicy {
  const n = (v: unknown, fallback: number) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : fallback);
  return {
    minLength: n(values.minLength, DEFAULT_PASSWORD_POLICY.minLength),
    maxLength: n(values.maxLength, DEFAULT_PASSWORD_POLICY.maxLength),
    requireLetter: values.requireLetter === true,
    requireDigit: values.requireDigit === true,
    requireUpper: values.requireUpper === true,
    requireLower: values.requireLower === true,
    requireSymbol: values.requireSymbol === true,
  };
}
