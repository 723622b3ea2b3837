import { DEFAULT_PASSWORD_POLICY, PasswordPolicy } from '../accounts/password-policy';

/** The policy the Password requirements form shows (for the "Passwords must …" sentence). */
export function toPolicyPreview(values: Record<string, unknown>): PasswordPolicy {
  const n = (v: unknown, fallback: number) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : fallback);
  return {
    minLength: n(values.passwordMinLength, DEFAULT_PASSWORD_POLICY.minLength),
    maxLength: n(values.passwordMaxLength, DEFAULT_PASSWORD_POLICY.maxLength),
    requireLetter: values.passwordRequireLetter === true,
    requireDigit: values.passwordRequireDigit === true,
    requireUpper: values.passwordRequireUpper === true,
    requireLower: values.passwordRequireLower === true,
    requireSymbol: values.passwordRequireSymbol === true,
  };
}
