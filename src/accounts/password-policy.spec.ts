import {
  ASVS_PASSWORD_POLICY,
  DEFAULT_PASSWORD_POLICY,
  LOOK_ALIKE_CHARACTERS,
  PasswordPolicy,
  describePolicy,
  generatePassword,
  passwordPolicyMessage,
  passwordProblems,
} from './password-policy';

const STRICT: PasswordPolicy = {
  minLength: 10,
  maxLength: 64,
  requireLetter: true,
  requireDigit: true,
  requireUpper: true,
  requireLower: true,
  requireSymbol: true,
};

describe('password policy', () => {
  it('accepts a password meeting the defaults (8–32, a letter and a digit)', () => {
    expect(passwordProblems(DEFAULT_PASSWORD_POLICY, 'abcdefg1')).toEqual([]);
  });

  it('names every broken rule', () => {
    expect(passwordProblems(DEFAULT_PASSWORD_POLICY, 'abc')).toEqual(['at least 8 characters', 'a digit']);
    expect(passwordProblems(DEFAULT_PASSWORD_POLICY, '12345678')).toEqual(['a letter']);
    expect(passwordProblems(DEFAULT_PASSWORD_POLICY, `a1${'x'.repeat(31)}`)).toEqual(['at most 32 characters']);
    expect(passwordProblems(STRICT, 'abcdefghij')).toEqual(['a digit', 'an upper-case letter', 'a symbol (such as ! or #)']);
  });

  it('counts characters, not UTF-16 units, and treats accented letters as letters', () => {
    expect(passwordProblems(DEFAULT_PASSWORD_POLICY, 'éééééé1😀')).toEqual([]);
    expect(passwordProblems({ ...DEFAULT_PASSWORD_POLICY, maxLength: 8 }, '😀😀😀😀😀😀a1')).toEqual([]);
  });

  it('ASVS preset: 12 to 128 characters, no composition rules', () => {
    expect(passwordProblems(ASVS_PASSWORD_POLICY, 'correct horse battery')).toEqual([]);
    expect(passwordProblems(ASVS_PASSWORD_POLICY, 'short')).toEqual(['at least 12 characters']);
  });

  it('turns problems into one sentence, or null', () => {
    expect(passwordPolicyMessage(DEFAULT_PASSWORD_POLICY, 'abc')).toBe('The password needs at least 8 characters and a digit.');
    expect(passwordPolicyMessage(DEFAULT_PASSWORD_POLICY, 'abcdefg1')).toBeNull();
    expect(describePolicy(DEFAULT_PASSWORD_POLICY)).toBe('Use 8 to 32 characters, a letter and a digit.');
  });
});

describe('generatePassword', () => {
  it('is 16 characters by default and satisfies the default policy', () => {
    for (let i = 0; i < 200; i++) {
      const password = generatePassword(DEFAULT_PASSWORD_POLICY);
      expect(password).toHaveLength(16);
      expect(passwordProblems(DEFAULT_PASSWORD_POLICY, password)).toEqual([]);
    }
  });

  it('always satisfies a strict policy, with every required class present', () => {
    for (let i = 0; i < 500; i++) {
      expect(passwordProblems(STRICT, generatePassword(STRICT))).toEqual([]);
    }
  });

  it('grows to the minimum length and shrinks to the maximum', () => {
    expect(generatePassword({ ...ASVS_PASSWORD_POLICY, minLength: 24 })).toHaveLength(24);
    expect(generatePassword({ ...DEFAULT_PASSWORD_POLICY, maxLength: 10 })).toHaveLength(10);
  });

  it('never uses look-alike characters', () => {
    const all = Array.from({ length: 300 }, () => generatePassword(STRICT)).join('');
    for (const c of LOOK_ALIKE_CHARACTERS) expect(all).not.toContain(c);
  });

  it('does not repeat itself', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => generatePassword(DEFAULT_PASSWORD_POLICY)));
    expect(seen.size).toBe(1000);
  });

  it('refuses a policy that cannot be satisfied', () => {
    expect(() => generatePassword({ ...STRICT, minLength: 3, maxLength: 3 })).toThrow(/character classes/);
  });
});
