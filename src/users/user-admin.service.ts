import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { hashPassword } from '../accounts/password-hasher';
import { describePolicy, passwordPolicyMessage } from '../accounts/password-policy';
import { AccessService } from '../access/access.service';
import type { Actor } from '../access/actor';
import { PERMISSIONS, PERMISSION_LABELS } from '../access/permissions';
import { RoleFacts, allows, canChangeRolesOf, canGrantRole, canListUsers, inScope } from '../access/policy';
import { AuditService, deletedChanges, diffChanges } from '../audit/audit.service';
import { FieldErrors, ForbiddenError, NotFoundError, ValidationError, uniqueViolation } from '../common/errors';
import { cancelCredentialMailOf } from '../credentials/credential-jobs';
import { CustomPropertiesService, PropertyField, PropertyValues } from '../custom-properties/custom-properties.service';
import { LicenceFullError, assertSeatFree } from '../licences/licence-seats';
import { applyEnabled, applyUnlock } from './user-status';
import { usageText } from '../licences/licence-usage';
import { SettingsService } from '../settings/settings.service';
import { PersonInput, parseRoleIds, validatePerson } from './user-form';
import { insertPersonContact } from '../provisioning/provisioning.queries';
import { UserProvisioningService, uniquenessProblems } from '../provisioning/provisioning.service';
import { userView } from './user-page.service';
import { usernameProblem } from './username-format';
import {
  RoleRow,
  profileNameOf,
  replaceUserRoles,
  setUserProfile,
  updatePersonContact,
  UserRow,
  createDefaults,
  deleteUser,
  departmentNames,
  endUserSessions,
  licenceName,
  licenceUsage,
  organizationById,
  organizationsIn,
  profileChoices,
  profileExists,
  roleRows,
  setUserLicence,
  userRoleIds,
  userRow,
} from './users.queries';

export interface UserEditInput extends PersonInput {
  roleIds: string[];
  profileId: string;
  /** The submitted form (for the `prop_<id>` fields). */
  body: unknown;
}

export interface UserCreateInput extends PersonInput {
  organizationId: number;
  username: string;
  password: string;
  passwordConfirmation: string;
  roleIds: string[];
  /** The picked user profile and licence id (`''`: none); absent → the defaults of Settings → Interface. */
  profileId?: string;
  licenceId?: string;
  body: unknown;
}

const UNIQUE_USER = {
  users_username_unique: ['username', 'This username is already taken.'] as [string, string],
  users_email_unique: ['email', 'Another user already has this e-mail address.'] as [string, string],
};

/**
 * What the user page changes (SPEC §4 "User page", "Create User"): edit, licence, enable/disable,
 * unlock, delete, end sessions, and creating a user directly in an organization (the page as it
 * reads is `UserPageService`'s). Every method checks access first: out of scope answers "not
 * found", seen-but-not-allowed "forbidden".
 */
@Injectable()
export class UserAdminService {
  constructor(
    private readonly em: EntityManager,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly properties: CustomPropertiesService,
    private readonly provisioning: UserProvisioningService,
    private readonly settings: SettingsService,
  ) {}

  // ----- edit form ----------------------------------------------------------------------------

  /** The stored values of the edit form and its choices. */
  async editForm(actor: Actor, id: number) {
    await this.assertCanAct(actor, id);
    const user = await this.row(this.em, id);
    const roleIds = await userRoleIds(this.em, id);
    const values = (await this.properties.valuesFor([id])).get(id) ?? new Map<number, string[]>();
    return {
      user: userView(user),
      values: {
        firstName: user.first_name ?? '',
        lastName: user.last_name ?? '',
        email: user.email ?? '',
        mobile: user.mobile ?? '',
        department: user.department ?? '',
        jobTitle: user.job_title ?? '',
        profileId: user.profile_id === null ? '' : String(user.profile_id),
      },
      ...(await this.choices(actor, roleIds, values, user.department, { userId: id, heldRoleIds: roleIds })),
    };
  }

  /** The choices of the edit form again, with the submitted values (after a refusal). */
  async editFormAgain(actor: Actor, id: number, body: unknown, roleIds: string[]) {
    await this.assertCanAct(actor, id);
    const user = await this.row(this.em, id);
    const defs = await this.properties.definitions();
    const fixed = { userId: id, heldRoleIds: await userRoleIds(this.em, id) };
    return { user: userView(user), ...(await this.choices(actor, roleIds.map(Number), this.properties.submittedValues(defs, body), user.department, fixed)) };
  }

  // ----- changing -----------------------------------------------------------------------------

  async update(actor: Actor, id: number, input: UserEditInput): Promise<{ username: string; changed: boolean }> {
    await this.assertCanAct(actor, id);
    try {
      return await this.em.transactional(async (tx) => {
        const user = await this.row(tx, id, true);
        const departments = await this.departmentNames(tx);
        const { values: person, errors } = validatePerson(input, departments, user.department);
        const allRoles = await roleRows(tx);
        const { ids: roleIds, error: roleError } = parseRoleIds(input.roleIds, allRoles.map((r) => r.id));
        if (roleError) errors.roleIds = roleError;
        const adminRole = allRoles.find((r) => r.built_in_key === 'administrator');
        const beforeIds = await userRoleIds(tx, id);
        if (!roleError && adminRole) {
          const had = beforeIds.includes(adminRole.id);
          const has = roleIds.includes(adminRole.id);
          if (had !== has && !actor.isAdministrator) errors.roleIds = 'Only an Administrator can give or take away the Administrator role.';
          else if (had && !has && user.built_in) errors.roleIds = 'The built-in admin keeps the Administrator role.';
        }
        if (!roleError && !errors.roleIds) {
          const problem = roleChangeProblem(actor, id, allRoles, beforeIds, roleIds);
          if (problem) errors.roleIds = problem;
        }
        const profileId = await this.parseProfile(tx, input.profileId, errors);
        const defs = await this.properties.definitions(tx);
        const parsed = this.properties.parseValues(defs, input.body);
        Object.assign(errors, parsed.errors);
        if (!errors.email) Object.assign(errors, await uniquenessProblems(tx, { email: person.email }, { userId: id }, actor));
        if (Object.keys(errors).length > 0) throw new ValidationError(errors);

        const beforeValues = (await this.properties.valuesFor([id], tx)).get(id) ?? new Map<number, string[]>();
        const roleName = (rid: number) => allRoles.find((r) => r.id === rid)?.name ?? String(rid);
        const profileName = profileId === null ? null : await profileNameOf(tx, profileId);
        const before = {
          firstName: user.first_name,
          lastName: user.last_name,
          fullName: user.full_name,
          email: user.email,
          mobile: user.mobile,
          department: user.department,
          jobTitle: user.job_title,
          roles: beforeIds.map(roleName).sort(),
          profile: user.profile_name,
          ...propertySnapshot(defs, beforeValues),
        };
        const after = {
          ...person,
          roles: roleIds.map(roleName).sort(),
          profile: profileName,
          ...propertySnapshot(defs, parsed.values),
        };
        const changes = diffChanges(before, after);
        if (!changes) return { username: user.username, changed: false };

        await updatePersonContact(tx, user.contact_id, person);
        await setUserProfile(tx, id, profileId);
        await replaceUserRoles(tx, id, roleIds);
        await this.properties.setValues(tx, id, parsed.values);
        await this.audit.record(actor, { action: 'user.updated', objectType: 'user', objectId: id, objectLabel: user.username, changes }, tx);
        return { username: user.username, changed: true };
      });
    } catch (error) {
      throw uniqueViolation(error, UNIQUE_USER) ?? error;
    }
  }

  /** Enables or disables one user. Disabling ends their sessions; enabling needs a free seat. */
  async setEnabled(actor: Actor, id: number, enabled: boolean): Promise<{ username: string; changed: boolean }> {
    await this.assertCanAct(actor, id);
    return this.em.transactional(async (tx) => {
      const user = await this.row(tx, id, true);
      if (!enabled && user.built_in) throw new ForbiddenError('The built-in admin cannot be disabled.');
      if (!enabled && id === actor.userId) throw new ForbiddenError('You cannot disable your own account.');
      if (user.enabled === enabled) return { username: user.username, changed: false };
      await applyEnabled(tx, this.audit, actor, { id, username: user.username, licenceId: user.licence_id }, enabled);
      return { username: user.username, changed: true };
    });
  }

  /** Ends the lock-out of one user (after too many failed sign-ins); authorized like enable/disable. */
  async unlock(actor: Actor, id: number): Promise<{ username: string; changed: boolean }> {
    await this.assertCanAct(actor, id);
    return this.em.transactional(async (tx) => {
      const user = await this.row(tx, id, true);
      if (!user.locked) return { username: user.username, changed: false };
      await applyUnlock(tx, this.audit, actor, { id, username: user.username });
      return { username: user.username, changed: true };
    });
  }

  /** Deletes the user (memberships, roles and property values go with it); the contact stays. */
  async delete(actor: Actor, id: number): Promise<{ username: string; contactName: string }> {
    await this.assertCanAct(actor, id);
    return this.em.transactional(async (tx) => {
      const user = await this.row(tx, id, true);
      if (user.built_in) throw new ForbiddenError('The built-in admin cannot be deleted.');
      if (id === actor.userId) throw new ForbiddenError('You cannot delete your own account.');
      // Before the user row goes: its queued message would otherwise stay on /mail for ever.
      const cancelled = await cancelCredentialMailOf(tx, id);
      await deleteUser(tx, id);
      await this.audit.record(
        actor,
        {
          action: 'user.deleted',
          objectType: 'user',
          objectId: id,
          objectLabel: user.username,
          changes: deletedChanges({ username: user.username, contact: user.full_name, email: user.email, licence: user.licence_name, enabled: user.enabled }),
          detail: cancelled ? 'the contact was kept; sessions ended; the pending credential e-mail was cancelled' : 'the contact was kept; sessions ended',
        },
        tx,
      );
      return { username: user.username, contactName: user.full_name };
    });
  }

  /** Ends every session of the user (they sign in again). */
  async endSessions(actor: Actor, id: number): Promise<{ username: string }> {
    await this.assertCanAct(actor, id);
    return this.em.transactional(async (tx) => {
      const user = await this.row(tx, id, true);
      if (id === actor.userId) throw new ForbiddenError('To end your own session, sign out.');
      await endUserSessions(tx, id);
      await this.audit.record(actor, { action: 'user.sessions_ended', objectType: 'user', objectId: id, objectLabel: user.username }, tx);
      return { username: user.username };
    });
  }

  /** The "User licences" pull-down: `null` removes the licence. A seat is needed for an enabled user. */
  async setLicence(actor: Actor, id: number, licenceId: number | null): Promise<{ username: string; licence: string | null; changed: boolean }> {
    await this.assertCanAct(actor, id);
    return this.em.transactional(async (tx) => {
      const user = await this.row(tx, id, true);
      let name: string | null = null;
      if (licenceId !== null) {
        const found = await licenceName(tx, licenceId);
        if (found === undefined) throw ValidationError.single('licenceId', 'Choose a licence from the list.');
        name = found;
      }
      if (user.licence_id === licenceId) return { username: user.username, licence: name, changed: false };
      if (licenceId !== null && user.enabled) await assertSeatFree(tx, licenceId, { exceptUserId: id });
      await setUserLicence(tx, id, licenceId);
      await this.audit.record(
        actor,
        { action: 'user.licence_changed', objectType: 'user', objectId: id, objectLabel: user.username, changes: { licence: { from: user.licence_name, to: name } } },
        tx,
      );
      return { username: user.username, licence: name, changed: true };
    });
  }

  // ----- creating -----------------------------------------------------------------------------

  /** The empty Create User form for an organization in scope (default roles ticked). */
  async createForm(actor: Actor, organizationId: number) {
    const organization = await this.creatableIn(actor, organizationId);
    const defaults = await createDefaults(this.em);
    // The defaults of Settings → Interface are preselected; the person may pick others.
    const values = { organizationId: organization.id, profileId: defaults.profileId ?? '', licenceId: defaults.licenceId ?? '' };
    return {
      organization,
      values,
      ...(await this.createChoices(actor)),
      ...(await this.choices(actor, defaults.roleIds, new Map(), null)),
      ...(await this.passwordHint()),
    };
  }

  /** The Create User form again after a refusal, with the submitted choices. */
  async createFormAgain(actor: Actor, organizationId: number, body: unknown, roleIds: string[]) {
    const organization = await this.creatableIn(actor, organizationId);
    const defs = await this.properties.definitions();
    return {
      organization,
      ...(await this.createChoices(actor)),
      ...(await this.choices(actor, roleIds.map(Number), this.properties.submittedValues(defs, body), null)),
      ...(await this.passwordHint()),
    };
  }

  /** The organizations (in scope, as a tree) and licences with their usage that Create User offers. */
  private async createChoices(actor: Actor) {
    const scope = this.access.organizationsInScopeCondition(actor, 'o');
    const organizations = await organizationsIn(this.em, scope);
    const minDepth = Math.min(...organizations.map((o) => o.depth));
    const licences = await licenceUsage(this.em);
    return {
      // Indented by depth, so that the pull-down reads as the tree.
      organizationChoices: organizations.map((o) => ({ id: o.id, label: `${'\u00a0\u00a0'.repeat(o.depth - minDepth)}${o.name}` })),
      licenceChoices: licences.map((l) => ({ id: l.id, label: `${l.name} — ${usageText(l.used, l.seats)}` })),
    };
  }

  /**
   * Creates the person contact (home: the organization), its user (member of the organization)
   * and the property values in one transaction. Duplicate usernames and e-mail addresses are
   * refused by the form's own check and, under a race, by the database's unique indexes.
   */
  async create(actor: Actor, input: UserCreateInput): Promise<{ id: number; username: string }> {
    const organization = await this.creatableIn(actor, input.organizationId);
    const errors: FieldErrors = {};
    const username = input.username.trim();
    const usernameError = usernameProblem(username);
    if (usernameError) errors.username = usernameError;
    const { values: person, errors: personErrors } = validatePerson(input, await this.departmentNames(this.em));
    Object.assign(errors, personErrors);
    const policy = await this.settings.passwordPolicy();
    if (input.password === '') errors.password = 'Enter a password.';
    else {
      const problem = passwordPolicyMessage(policy, input.password);
      if (problem) errors.password = problem;
    }
    if (!errors.password && input.password !== input.passwordConfirmation) errors.passwordConfirmation = 'The two passwords do not match.';
    const allRoles = await roleRows(this.em);
    const { ids: roleIds, error: roleError } = parseRoleIds(input.roleIds, allRoles.map((r) => r.id));
    if (roleError) errors.roleIds = roleError;
    else if (!actor.isAdministrator && allRoles.some((r) => r.built_in_key === 'administrator' && roleIds.includes(r.id))) {
      errors.roleIds = 'Only an Administrator can give a user the Administrator role.';
    } else {
      const problem = roleChangeProblem(actor, null, allRoles, [], roleIds);
      if (problem) errors.roleIds = problem;
    }
    const defs = await this.properties.definitions();
    const parsed = this.properties.parseValues(defs, input.body);
    Object.assign(errors, parsed.errors);
    Object.assign(errors, await uniquenessProblems(this.em, { username: errors.username ? null : username, email: errors.email ? null : person.email }, {}, actor));
    const profileId = input.profileId === undefined ? undefined : await this.parseProfile(this.em, input.profileId, errors);
    const licenceId = input.licenceId === undefined ? undefined : await this.parseLicence(input.licenceId, errors);
    if (Object.keys(errors).length > 0) throw new ValidationError(errors);

    const passwordHash = await hashPassword(input.password);
    const settings = await this.settings.get();
    try {
      return await this.em.transactional(async (tx) => {
        const contactId = await insertPersonContact(tx, person, organization.id);
        const user = await this.provisioning.provision(
          actor,
          {
            contactId,
            organizationId: organization.id,
            username,
            passwordHash,
            mustChangePassword: settings.mustChangeAtFirstLogin,
            roleIds,
            profileId,
            licenceId,
            propertyValues: parsed.values,
          },
          tx,
        );
        return user;
      });
    } catch (error) {
      if (error instanceof LicenceFullError) {
        if (licenceId !== undefined) throw ValidationError.single('licenceId', `${error.message} Choose another licence or free a seat.`);
        throw ValidationError.form(`${error.message} Free a seat or change the default licence before creating users.`);
      }
      throw uniqueViolation(error, UNIQUE_USER) ?? error;
    }
  }

  // ----- helpers ------------------------------------------------------------------------------

  /** Sessions that may not use the users pages at all get 403; then out of scope 404, not allowed 403. */
  private async assertCanAct(actor: Actor, id: number): Promise<void> {
    if (!canListUsers(actor)) throw new ForbiddenError();
    await this.access.assertCanActOnUser(actor, id);
  }

  private async creatableIn(actor: Actor, organizationId: number): Promise<{ id: number; name: string }> {
    if (!canListUsers(actor)) throw new ForbiddenError();
    const org = await organizationById(this.em, organizationId);
    if (!org || !inScope(actor, org.path)) throw new NotFoundError();
    if (!allows(actor, 'manage_users')) throw new ForbiddenError('You may not create users.');
    return { id: org.id, name: org.name };
  }

  private async passwordHint() {
    return { passwordHint: describePolicy(await this.settings.passwordPolicy()) };
  }

  private departmentNames(em: EntityManager): Promise<string[]> {
    return departmentNames(em);
  }

  private async parseProfile(em: EntityManager, value: string, errors: FieldErrors): Promise<number | null> {
    if (value === '') return null;
    const id = /^[1-9][0-9]{0,9}$/.test(value) ? Number(value) : 0;
    if (!id || !(await profileExists(em, id))) {
      errors.profileId = 'Choose a user profile from the list.';
      return null;
    }
    return id;
  }

  private async parseLicence(value: string, errors: FieldErrors): Promise<number | null> {
    if (value === '') return null;
    const id = /^[1-9][0-9]{0,9}$/.test(value) ? Number(value) : 0;
    if (!id || (await licenceName(this.em, id)) === undefined) {
      errors.licenceId = 'Choose a licence from the list.';
      return null;
    }
    return id;
  }

  /**
   * Roles (ticked), profiles, departments and property fields of the user forms. A role the
   * session may not give or take away (see `canGrantRole`), and every role of the session's own
   * account, is shown disabled as the user holds it (`fixed`; none when creating), and a held one
   * is submitted by a hidden field, so that the form as rendered changes nothing about it.
   */
  private async choices(
    actor: Actor,
    checkedRoleIds: number[],
    values: PropertyValues,
    currentDepartment: string | null,
    fixed: { userId: number; heldRoleIds: number[] } | null = null,
  ) {
    const roles = await roleRows(this.em);
    const profiles = await profileChoices(this.em);
    const departments = await departmentNames(this.em);
    if (currentDepartment && !departments.includes(currentDepartment)) departments.push(currentDepartment);
    const defs = await this.properties.definitions();
    const propertyFields: PropertyField[] = this.properties.formFields(defs, values);
    return {
      roles: roles.map((r) => {
        // Only an Administrator may give the Administrator role (and only Administrators edit
        // users who hold it), so for anyone else it is never ticked, even as a default role.
        const ownAccount = fixed !== null && !canChangeRolesOf(actor, fixed.userId);
        const disabled = ownAccount || !canGrantRole(actor, roleFacts(r));
        const checked = disabled ? (fixed?.heldRoleIds.includes(r.id) ?? false) : checkedRoleIds.includes(r.id);
        const lockedReason = !disabled
          ? null
          : r.built_in_key === 'administrator' && !actor.isAdministrator
            ? 'only an Administrator can change this'
            : ownAccount
              ? 'you cannot change your own roles'
              : 'it has permissions you do not have';
        return { id: r.id, name: r.name, checked, disabled, lockedReason };
      }),
      profiles,
      departments,
      propertyFields,
    };
  }

  private row(em: EntityManager, id: number, lock = false): Promise<UserRow> {
    return userRow(em, id, lock);
  }
}

function roleFacts(r: RoleRow): RoleFacts {
  return { permissions: r.permissions ?? [], isAdministratorRole: r.built_in_key === 'administrator' };
}

/**
 * Why the session may not change a user's roles from `before` to `after` (`userId` null: a new
 * user), or `null`. Taking a role away needs the same right as giving it: otherwise an
 * organization administrator could strip a role they could never give back.
 */
export function roleChangeProblem(actor: Actor, userId: number | null, roles: RoleRow[], before: number[], after: number[]): string | null {
  const changed = [...after.filter((r) => !before.includes(r)), ...before.filter((r) => !after.includes(r))];
  if (changed.length === 0) return null;
  if (userId !== null && !canChangeRolesOf(actor, userId)) return 'You cannot change your own roles: ask an Administrator.';
  const refused = roles.filter((r) => changed.includes(r.id) && !canGrantRole(actor, roleFacts(r)));
  if (refused.length === 0) return null;
  const wanted = new Set(refused.flatMap((r) => r.permissions ?? []));
  const labels = PERMISSIONS.filter((p) => wanted.has(p) && !actor.permissions.has(p))
    .map((p) => PERMISSION_LABELS[p])
    .join(', ');
  const names = refused.map((r) => r.name).join(', ');
  return `You may not give or take away the role${refused.length === 1 ? '' : 's'} ${names}: ${refused.length === 1 ? 'it has' : 'they have'} permissions you do not have (${labels}).`;
}

/** Property values as audit fields: `property: Name` → values (one string when single). */
function propertySnapshot(defs: { id: number; name: string; multiValued: boolean }[], values: PropertyValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const d of defs) {
    const v = [...(values.get(d.id) ?? [])].sort();
    out[`property: ${d.name}`] = d.multiValued ? (v.length ? v : null) : (v[0] ?? null);
  }
  return out;
}
