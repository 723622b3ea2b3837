import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Actor } from '../access/actor';
import { PERMISSIONS, PERMISSION_LABELS, Permission, isPermission } from '../access/permissions';
import { usageOf } from '../common/names.queries';
import { NamedSettingKind, NamedSettings, usersHold } from '../common/named-settings';
import { AuditService } from '../audit/audit.service';
import { FieldErrors, NotFoundError, ValidationError } from '../common/errors';
import { Role } from './role.entity';
import { holdsRole, listRoles } from './roles.queries';

export const ROLE_NAME_MAX = 100;
export const ROLE_DESCRIPTION_MAX = 1000;

export interface RoleInput {
  name: string;
  description: string;
  /** Permission keys as submitted; unknown keys are refused. Ignored for the Administrator role. */
  permissions: string[];
}

export interface RoleSummary {
  id: number;
  name: string;
  description: string | null;
  builtIn: boolean;
  permissionCount: number;
  userCount: number;
  isDefault: boolean;
}

export interface RoleDetails {
  role: {
    id: number;
    name: string;
    description: string | null;
    builtIn: boolean;
    isAdministratorRole: boolean;
    permissions: Permission[];
  };
  /** The role's permissions with their labels, in catalogue order. */
  permissions: { key: Permission; label: string }[];
  userCount: number;
  /** One of the default roles of new users (client settings). */
  isDefault: boolean;
}


/** The permissions in catalogue order, without duplicates. */
function inCatalogueOrder(keys: readonly Permission[]): Permission[] {
  return PERMISSIONS.filter((p) => keys.includes(p));
}

function snapshot(role: Role): Record<string, unknown> {
  return { name: role.name, description: role.description, permissions: inCatalogueOrder(role.permissions) };
}

const ROLES: NamedSettingKind<Role> = {
  entity: Role,
  table: 'roles',
  kind: 'role',
  uniqueIndex: 'roles_name_unique',
  nameTaken: 'Another role already has this name.',
  snapshot,
  deletion: {
    builtIn: (name) => `${name} is a built-in role and cannot be deleted.`,
    inUse: (name, count) => `Cannot delete ${name}: ${usersHold(count)} this role. Remove it from them first.`,
    inUseRace: 'Cannot delete this role: users hold it. Remove it from them first.',
    wasDefault: 'removed from the default roles of the client settings',
  },
};

/**
 * Roles (user groups): named sets of permissions from the fixed catalogue (SPEC §2). Managed by
 * sessions allowed `manage_settings`; the Administrator role always keeps every permission.
 */
@Injectable()
export class RolesService {
  private readonly named: NamedSettings<Role>;

  constructor(
    private readonly em: EntityManager,
    audit: AuditService,
  ) {
    this.named = new NamedSettings(em, audit, ROLES);
  }

  async list(actor: Actor): Promise<RoleSummary[]> {
    this.named.assertAllowed(actor);
    const rows = await listRoles(this.em);
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      description: r.description,
      builtIn: r.built_in_key !== null,
      permissionCount: r.permission_count,
      userCount: r.user_count,
      isDefault: r.is_default,
    }));
  }

  /** One role with its permissions, how many users hold it and whether it is a default role. */
  async details(actor: Actor, id: number): Promise<RoleDetails> {
    this.named.assertAllowed(actor);
    const role = await this.em.findOne(Role, { id }, { refresh: true });
    if (!role) throw new NotFoundError();
    const counts = await usageOf(this.em, 'role', id);
    const permissions = inCatalogueOrder(role.isAdministratorRole ? PERMISSIONS : role.permissions);
    return {
      role: {
        id: role.id,
        name: role.name,
        description: role.description,
        builtIn: role.builtInKey !== null,
        isAdministratorRole: role.isAdministratorRole,
        permissions,
      },
      permissions: permissions.map((key) => ({ key, label: PERMISSION_LABELS[key] })),
      userCount: counts.user_count,
      isDefault: counts.is_default,
    };
  }

  async create(actor: Actor, input: RoleInput): Promise<{ id: number; name: string }> {
    this.named.assertAllowed(actor);
    const values = validate(input);
    return this.named.create(actor, values.name, () => Object.assign(new Role(), values));
  }

  /**
   * Changes name, description and permissions. The Administrator role ignores the submitted
   * permissions and keeps (or gets back) every permission of the catalogue.
   */
  async update(actor: Actor, id: number, input: RoleInput): Promise<{ id: number; name: string; changed: boolean }> {
    this.named.assertAllowed(actor);
    return this.named.write(async (tx) => {
      const role = await this.named.lock(tx, id);
      const values = validate(role.isAdministratorRole ? { ...input, permissions: [...PERMISSIONS] } : input);
      await this.named.assertNameFree(tx, values.name, role.id);
      await this.assertNotOwnRoleEscalation(tx, actor, role, values.permissions);
      return this.named.applyChanges(actor, tx, role, () => {
        role.name = values.name;
        role.description = values.description;
        role.permissions = values.permissions;
      });
    });
  }

  /**
   * Deletes a role that is not built-in and that no user holds. A default role of the client
   * settings is removed from them by the database (`on delete cascade`); `wasDefault` says so.
   */
  async delete(actor: Actor, id: number): Promise<{ name: string; wasDefault: boolean }> {
    this.named.assertAllowed(actor);
    return this.named.delete(actor, id);
  }

  /**
   * Nobody but an Administrator changes their own roles: a settings manager defines roles for
   * others (who get them only from someone allowed to give them), but adding a permission to a
   * role they hold would hand it to themselves. Taking one away is allowed.
   */
  private async assertNotOwnRoleEscalation(tx: EntityManager, actor: Actor, role: Role, after: readonly Permission[]): Promise<void> {
    if (actor.isAdministrator) return;
    const added = after.filter((p) => !role.permissions.includes(p) && !actor.permissions.has(p));
    if (added.length === 0) return;
    if (!(await holdsRole(tx, actor.userId, role.id))) return;
    throw ValidationError.single(
      'permissions',
      `You hold the role ${role.name} yourself: only an Administrator can add permissions you do not have to it (${added.map((p) => PERMISSION_LABELS[p]).join(', ')}).`,
    );
  }

}

function validate(input: RoleInput): { name: string; description: string | null; permissions: Permission[] } {
  const errors: FieldErrors = {};
  const name = input.name.trim();
  if (!name) errors.name = 'Enter a name.';
  else if ([...name].length > ROLE_NAME_MAX) errors.name = `Use at most ${ROLE_NAME_MAX} characters for the name.`;
  const description = input.description.trim();
  if ([...description].length > ROLE_DESCRIPTION_MAX) errors.description = `Use at most ${ROLE_DESCRIPTION_MAX} characters for the description.`;
  const unknown = input.permissions.filter((p) => !isPermission(p));
  if (unknown.length > 0) errors.permissions = 'Choose permissions from the list only.';
  if (Object.keys(errors).length > 0) throw new ValidationError(errors);
  return { name, description: description || null, permissions: inCatalogueOrder(input.permissions.filter(isPermission)) };
}

