import type { Actor } from './actor';
import { allows } from './policy';

export interface NavItem {
  href: string;
  label: string;
}

/**
 * The main menu, built from what the session may do. Each feature adds its entry here, guarded by
 * the same permission its routes require. Self-service users see their account only.
 */
export function navigation(actor: Actor): NavItem[] {
  const items: NavItem[] = [];
  if (actor.startPage === 'administrator') items.push({ href: '/', label: 'Startboard' });
  if (allows(actor, 'view_audit_log')) items.push({ href: '/audit', label: 'Audit log' });
  items.push({ href: '/account', label: 'My account' });
  return items;
}
