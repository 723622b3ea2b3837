import type { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Actor } from '../access/actor';
import { allows, canGrantRole, inScope } from '../access/policy';
import { AuditService, createdChanges } from '../audit/audit.service';
import { BusinessRuleError, NotFoundError, ValidationError } from '../common/errors';
import { assertSeatFree } from '../licences/licence-seats';
import { LOCAL_PROVIDER } from './user.entity';
import { nextFreeUsername, renderUsername, usernameProblem } from './username-format';

/** What a new user is made of; everything left out comes from Settings → Interface. */
export interface ProvisionSpec {
  /** The existing contact the user belongs to (flushed in the same transaction). */
  contactId: number;
  /** The organization the user becomes a member of. */
  organizationId: number;
  /** A typed username (kept exactly); when absent it is made from the username format. */
  username?: string;
  passwordHash?: string | null;
  mustChangePassword?: boolean;
  passwordExpiresAt?: Date | null;
  /** Role ids; absent → the default roles. */
  roleIds?: number[];
  /** Absent → the default profile; `null` → none. */
  profileId?: number | null;
  /** Absent → the default licence; `null` → none. */
  licenceId?: number | null;
  provider?: string;
  externalId?: string | null;
  enabled?: boolean;
  /**
   * More fields of the new user for its `user.created` audit entry, such as the custom property
   * values the caller stores in the same transaction: one entry tells the whole creation.
   */
  auditFields?: Record<string, unknown>;
}

export interface ProvisionedUser {
  id: number;
  username: string;
}

interface ContactRow {
  kind: 'person' | 'organization';
  first_name: string | null;
  last_name: string | null;
  full_name: string;
  email: string | null;
  linked_username: string | null;
}

/** How often a generated username is retried when a concurrent request took it first. */
const MAX_USERNAME_ATTEMPTS = 20;

/**
 * Creates users for contacts: the one place that applies the rules every new user follows,
 * whether made by Enable Access, Create User or an import. Runs inside the caller's transaction
 * so that the contact, the user and everything else commit or roll back together.
 *
 * Uniqueness (username, e-mail, one user per contact) is decided by the database: the insert uses
 * `on conflict do nothing`, which waits for concurrent inserts of the same key, so two requests
 * generating `jsmith` at once end up with `jsmith` and `jsmith2` instead of an error.
 */
@Injectable()
export class UserProvisioningService {
  constructor(private readonly audit: AuditService) {}

  async provision(actor: Actor, spec: ProvisionSpec, tx: EntityManager): Promise<ProvisionedUser> {
    const [org]: { name: string; path: string }[] = await tx.execute('select name, path from organizations where id = ?', [spec.organizationId]);
    if (!org || !allows(actor, 'manage_users') || !inScope(actor, org.path)) throw new NotFoundError();

    const [settings]: { username_format: string; default_profile_id: number | null; default_licence_id: number | null }[] = await tx.execute(
      'select username_format, default_profile_id, default_licence_id from client_settings where id = 1',
    );
    const roleIds =
      spec.roleIds ??
      ((await tx.execute('select role_id from client_settings_default_roles where settings_id = 1')) as { role_id: number }[]).map((r) => r.role_id);
    const roles: { id: number; name: string; built_in_key: string | null; permissions: string[] | null }[] = roleIds.length
      ? await tx.execute('select id, name, built_in_key, permissions from roles where id in (?) order by lower(name)', [roleIds])
      : [];
    if (roles.length !== new Set(roleIds).size) throw ValidationError.single('roleIds', 'Choose roles that exist.');
    if (!actor.isAdministrator && roles.some((r) => r.built_in_key === 'administrator')) {
      throw new BusinessRuleError('administrator_role', 'Only an Administrator can give a user the Administrator role.', 403);
    }
    // Roles the caller chose (not the defaults an Administrator set for every new user) must be
    // roles the actor may give; the forms check this first with a message, this is the backstop.
    const refused = spec.roleIds === undefined ? [] : roles.filter((r) => !canGrantRole(actor, { permissions: r.permissions ?? [], isAdministratorRole: r.built_in_key === 'administrator' }));
    if (refused.length > 0) {
      throw new BusinessRuleError('role_not_grantable', `You may not give the role ${refused.map((r) => r.name).join(', ')}: it has permissions you do not have.`, 403);
    }

    const profileId = spec.profileId === undefined ? settings.default_profile_id : spec.profileId;
    const profile = profileId === null ? null : await this.named(tx, 'user_profiles', profileId, 'profileId', 'Choose a user profile that exists.');
    const licenceId = spec.licenceId === undefined ? settings.default_licence_id : spec.licenceId;
    const licence = licenceId === null ? null : await this.named(tx, 'licence_types', licenceId, 'licenceId', 'Choose a licence that exists.');
    const enabled = spec.enabled ?? true;
    if (licenceId !== null && enabled) await assertSeatFree(tx, licenceId);

    const [contact]: ContactRow[] = await tx.execute(
      `select c.kind, c.first_name, c.last_name, c.full_name, c.email,
              (select u.username from users u where u.contact_id = c.id) as linked_username
         from contacts c where c.id = ? for update`,
      [spec.contactId],
    );
    if (!contact) throw new NotFoundError();
    if (contact.linked_username !== null) {
      throw new BusinessRuleError('contact_has_user', `${contact.full_name} already has a user account (${contact.linked_username}).`);
    }

    const provider = spec.provider ?? LOCAL_PROVIDER;
    const id = await this.insertUser(tx, spec, contact, settings.username_format, { provider, enabled, profileId, licenceId });

    if (roles.length > 0) await tx.execute('insert into user_roles (user_id, role_id) select ?, id from roles where id in (?)', [id.id, roles.map((r) => r.id)]);
    await tx.execute('insert into memberships (user_id, organization_id) values (?, ?)', [id.id, spec.organizationId]);

    await this.audit.record(
      actor,
      {
        action: 'user.created',
        objectType: 'user',
        objectId: id.id,
        objectLabel: id.username,
        changes: createdChanges({
          username: id.username,
          contact: contact.full_name,
          email: contact.email,
          organization: org.name,
          roles: roles.map((r) => r.name),
          profile: profile,
          licence: licence,
          provider,
          externalId: spec.externalId ?? null,
          enabled,
          password: spec.passwordHash ? 'set' : null,
          ...spec.auditFields,
        }),
      },
      tx,
    );
    return id;
  }

  private async named(tx: EntityManager, table: 'user_profiles' | 'licence_types', id: number, field: string, message: string): Promise<string> {
    const [row]: { name: string }[] = await tx.execute(`select name from ${table} where id = ?`, [id]);
    if (!row) throw ValidationError.single(field, message);
    return row.name;
  }

  private async insertUser(
    tx: EntityManager,
    spec: ProvisionSpec,
    contact: ContactRow,
    format: string,
    resolved: { provider: string; enabled: boolean; profileId: number | null; licenceId: number | null },
  ): Promise<ProvisionedUser> {
    let base: string | null = null;
    if (spec.username !== undefined) {
      const problem = usernameProblem(spec.username);
      if (problem) throw ValidationError.single('username', problem);
    } else {
      base = renderUsername(format, { kind: contact.kind, firstName: contact.first_name, lastName: contact.last_name, fullName: contact.full_name, email: contact.email });
      if (base === '') {
        throw new BusinessRuleError(
          'username_empty',
          `No username can be made for ${contact.full_name} from the format "${format}": give the contact a name in Latin letters or an e-mail address, or change the username format.`,
          422,
        );
      }
    }

    for (let attempt = 0; attempt < MAX_USERNAME_ATTEMPTS; attempt++) {
      const username = base === null ? spec.username! : await this.freeUsername(tx, base);
      const [row]: { id: number }[] = await tx.execute(
        `insert into users (contact_id, username, password_hash, provider, external_id, enabled, must_change_password,
                            password_expires_at, profile_id, licence_id)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         on conflict do nothing
         returning id`,
        [
          spec.contactId,
          username,
          spec.passwordHash ?? null,
          resolved.provider,
          spec.externalId ?? null,
          resolved.enabled,
          spec.mustChangePassword ?? false,
          spec.passwordExpiresAt ?? null,
          resolved.profileId,
          resolved.licenceId,
        ],
      );
      if (row) return { id: row.id, username };
      await this.explainConflict(tx, spec, contact, username, resolved.provider, base === null);
    }
    throw new BusinessRuleError('username_busy', 'Could not find a free username: please try again.', 503);
  }

  /** The lowest free `base`, `base2`, … as committed right now. */
  private async freeUsername(tx: EntityManager, base: string): Promise<string> {
    const taken: { name: string }[] = await tx.execute(
      `select lower(username) as name from users where username ilike ? escape '\\' and lower(username) ~ ?`,
      [`${base.replace(/[\\%_]/g, (c) => `\\${c}`)}%`, `^${base.replace(/[.\\+*?^$()[\]{}|-]/g, (c) => `\\${c}`)}[0-9]*$`],
    );
    return nextFreeUsername(base, taken.map((t) => t.name));
  }

  /** After an insert that hit a unique rule: throws the matching message, or returns to retry a generated name. */
  private async explainConflict(tx: EntityManager, spec: ProvisionSpec, contact: ContactRow, username: string, provider: string, typed: boolean): Promise<void> {
    const [linked]: { username: string }[] = await tx.execute('select username from users where contact_id = ?', [spec.contactId]);
    if (linked) throw new BusinessRuleError('contact_has_user', `${contact.full_name} already has a user account (${linked.username}).`);
    if (contact.email) {
      const [other]: { username: string }[] = await tx.execute('select username from users where lower(email) = lower(?)', [contact.email]);
      if (other) throw ValidationError.single('email', `The e-mail address ${contact.email} is already used by the user ${other.username}.`);
    }
    if (spec.externalId) {
      const [other]: { username: string }[] = await tx.execute('select username from users where provider = ? and external_id = ?', [provider, spec.externalId]);
      if (other) throw ValidationError.single('externalId', `The id ${spec.externalId} is already used by the user ${other.username} (${provider}).`);
    }
    if (typed) {
      const [other]: { id: number }[] = await tx.execute('select id from users where lower(username) = lower(?)', [username]);
      if (other) throw ValidationError.single('username', `The username ${username} is already taken.`);
    }
  }
}
