import { homeOrganization } from './sso-sign-in.service';
import type { IdentityProvider } from './identity-provider.entity';

type Jit = Pick<IdentityProvider, 'jitOrganizationMode' | 'jitOrganizationRules' | 'jitOrganization'>;

describe('homeOrganization (just-in-time creation)', () => {
  const fixed = { id: 7 } as IdentityProvider['jitOrganization'];
  const rules = [
    { value: 'Sales', organizationId: 11 },
    { value: 'Engineering', organizationId: 12 },
  ];

  it('is the fixed organization in fixed mode, whatever the claim says', () => {
    expect(homeOrganization({ jitOrganizationMode: 'fixed', jitOrganizationRules: rules, jitOrganization: fixed } as Jit, ['Sales'])).toBe(7);
  });

  it('maps the first claim value that has a line, case-insensitively', () => {
    const jit = { jitOrganizationMode: 'claim', jitOrganizationRules: rules, jitOrganization: fixed } as Jit;
    expect(homeOrganization(jit, ['engineering '])).toBe(12);
    expect(homeOrganization(jit, ['Marketing', 'Sales', 'Engineering'])).toBe(11);
  });

  it('falls back to the fixed organization, or none, when no value maps', () => {
    expect(homeOrganization({ jitOrganizationMode: 'claim', jitOrganizationRules: rules, jitOrganization: fixed } as Jit, ['Marketing'])).toBe(7);
    expect(homeOrganization({ jitOrganizationMode: 'claim', jitOrganizationRules: rules, jitOrganization: null } as Jit, [])).toBeNull();
  });
});
