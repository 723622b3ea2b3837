import { EntityManager } from '@mikro-orm/postgresql';
import { generatePassword, DEFAULT_PASSWORD_POLICY } from '../accounts/password-policy';
import { hashPassword } from '../accounts/password-hasher';
import { BUILT_IN_ROLES, PERMISSIONS } from '../access/permissions';
import {
  auditAdminCreated,
  builtInAdminId,
  createClientSettingsIfMissing,
  ensureBuiltInProfile,
  ensureBuiltInRole,
  ensureGlobalOrganization,
  ensureStandardLicence,
  grantAdministratorRole,
  insertAdminContact,
  insertAdminMembership,
  insertAdminUser,
  setAdministratorPermissions,
  setMemberDefaultRole,
} from './bootstrap.queries';

export interface BootstrapResult {
  /** The built-in admin was created by this run. */
  adminCreated: boolean;
  /** The generated admin password, when ADMIN_PASSWORD was not set; shown once, never stored. */
  generatedAdminPassword: string | null;
}

/**
 * First-start data: the Global organization, the built-in roles, profiles and licence type, the
 * client settings row and the built-in `admin`. Idempotent: every later start finds everything in
 * place and changes nothing except re-granting the Administrator role every permission of the
 * catalogue and keeping `admin` an Administrator. Runs under the migration lock.
 */
export async function bootstrapDatabase(em: EntityManager, adminPassword: string | null): Promise<BootstrapResult> {
  return em.transactional(async (tx) => {
    const globalId = await ensureGlobalOrganization(tx);

    for (const [key, role] of Object.entries(BUILT_IN_ROLES)) await ensureBuiltInRole(tx, key, role);
    await setAdministratorPermissions(tx, PERMISSIONS);

    const profiles = [
      ['Administrator', 'Administrator startboard with every area the user may manage.', 'administrator', 'administrator'],
      ['Self-service', 'The user manages their own account and password.', 'self_service', 'self_service'],
    ];
    for (const [name, description, startPage, key] of profiles) await ensureBuiltInProfile(tx, key, { name, description, startPage });
    await ensureStandardLicence(tx);

    if (await createClientSettingsIfMissing(tx)) await setMemberDefaultRole(tx);

    let result: BootstrapResult = { adminCreated: false, generatedAdminPassword: null };
    let adminId = await builtInAdminId(tx);
    if (!adminId) {
      const password = adminPassword ?? generatePassword(DEFAULT_PASSWORD_POLICY, 20);
      const contactId = await insertAdminContact(tx, globalId);
      adminId = await insertAdminUser(tx, contactId, await hashPassword(password), adminPassword === null);
      await insertAdminMembership(tx, adminId, globalId);
      await auditAdminCreated(tx, adminId);
      result = { adminCreated: true, generatedAdminPassword: adminPassword === null ? password : null };
    }
    await grantAdministratorRole(tx, adminId);
    return result;
  });
}
