/**
 * The fixed permission catalogue (SPEC §2). Roles are named sets of these keys.
 *
 * - scoped permissions act on objects inside the subtree of the session's current organization;
 *   outside Global they also need an organization-administrator membership there (SPEC §3);
 * - global permissions concern the whole deployment and apply only while logged in to Global.
 */
export const PERMISSIONS = [
  'manage_users',
  'manage_contacts',
  'manage_organizations',
  'import_export_users',
  'send_credentials',
  'manage_settings',
  'view_audit_log',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const PERMISSION_LABELS: Record<Permission, string> = {
  manage_users: 'Manage users',
  manage_contacts: 'Manage contacts',
  manage_organizations: 'Manage organizations',
  import_export_users: 'Import/export users',
  send_credentials: 'Send credentials',
  manage_settings: 'Manage settings (roles, profiles, licences, custom properties, client settings)',
  view_audit_log: 'View audit log',
};

export const GLOBAL_PERMISSIONS: ReadonlySet<Permission> = new Set<Permission>(['manage_settings', 'view_audit_log']);

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

/** Keys of the built-in roles, profiles and licence type created at first start. */
export const BUILT_IN_ROLES = {
  administrator: { name: 'Administrator', description: 'Everything, everywhere.', permissions: [...PERMISSIONS] },
  user_manager: {
    name: 'User manager',
    description: 'Manages users, contacts, credentials and Excel imports/exports.',
    permissions: ['manage_users', 'manage_contacts', 'send_credentials', 'import_export_users'] as Permission[],
  },
  member: { name: 'Member', description: 'Signs in and manages their own account.', permissions: [] as Permission[] },
} as const;

export type BuiltInRoleKey = keyof typeof BUILT_IN_ROLES;
