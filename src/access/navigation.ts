import type { Actor } from './actor';
import { canListContacts } from '../contacts/contact-policy';
import { allows, canListUsers } from './policy';

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
  if (allows(actor, 'manage_organizations')) items.push({ href: '/organizations', label: 'Organizations' });
  if (canListContacts(actor)) items.push({ href: '/contacts', label: 'Contacts' });
  if (canListUsers(actor)) items.push({ href: '/users', label: 'Users' });
  if (actor.isAdministrator) items.push({ href: '/imports', label: 'Import' });
  if (allows(actor, 'manage_settings')) {
    items.push({ href: '/settings', label: 'Settings' });
    items.push({ href: '/roles', label: 'Roles' }, { href: '/profiles', label: 'User profiles' }, { href: '/licences', label: 'Licences' }, { href: '/custom-properties', label: 'Custom properties' });
  }
  if (allows(actor, 'send_credentials')) items.push({ href: '/mail', label: 'Mail' });
  if (allows(actor, 'view_audit_log')) items.push({ href: '/audit', label: 'Audit log' });
  items.push({ href: '/account', label: 'My account' });
  return items;
}
