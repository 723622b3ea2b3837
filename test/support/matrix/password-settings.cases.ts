import type { Expectations, RouteCase } from '../authorization-matrix';

/** Rows for the Authentication, Password requirements and Mail tabs: Administrators only. */

const adminOnly = (ok: number): Expectations => ({ administrator: ok, orgAdminWithUsers: 403, orgAdminWithoutUsers: 403, plainMemberWithUsers: 403 });

const TABS: { tab: string; body: Record<string, string> }[] = [
  { tab: 'authentication', body: { loginUrl: '' } },
  {
    tab: 'passwords',
    body: { minLength: '8', maxLength: '32', requireLetter: 'on', requireDigit: 'on', mustChangeAtFirstLogin: 'on', initialValidityDays: '7', lockoutThreshold: '5', lockoutMinutes: '15' },
  },
  { tab: 'mail', body: { mailSenderName: '', mailSenderAddress: '', timeZone: 'UTC' } },
];

export const PASSWORD_SETTINGS_CASES: RouteCase[] = TABS.flatMap(({ tab, body }): RouteCase[] => [
  { method: 'GET', route: `/settings/${tab}`, target: `the ${tab} tab`, path: () => `/settings/${tab}`, expect: adminOnly(200) },
  { method: 'POST', route: `/settings/${tab}`, target: `save the ${tab} tab`, path: () => `/settings/${tab}`, body: () => body, expect: adminOnly(303), location: () => `/settings/${tab}` },
]);
