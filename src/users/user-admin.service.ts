import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { hashPassword } from '../accounts/password-hasher';
import { describePolicy, passwordPolicyMessage } from '../accounts/password-policy';
import { AccessService } from '../access/access.service';
import type { Actor } from '../access/actor';
import { PERMISSIONS, PERMISSION_LABELS } from '../access/permissions';
import { RoleFacts, UserTarget, allows, canActOnUser, canChangeRolesOf, canGrantRole, canListUsers, canSeeUser, canSeeUserDetails, inScope } from '../access/policy';
import { AuditService, deletedChanges, diffChanges } from '../audit/audit.service';
import { hideAddresses } from '../audit/hide-addresses';
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
import { usernameProblem } from './username-format';

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

interface UserRow {
  id: number;
  username: string;
  provider: string;
  enabled: boolean;
  built_in: boolean;
  must_change_password: boolean;
  locked: boolean;
  locked_until: Date | null;
  last_login_at: Date | null;
  failed_logins: number;
  password_send_at: Date | null;
  password_send_status: string | null;
  password_send_error: string | null;
  has_password: boolean;
  licence_id: number | null;
  licence_name: string | null;
  profile_id: number | null;
  profile_name: string | null;
  created_at: Date;
  contact_id: number;
  first_name: string | null;
  last_name: string | null;
  full_name: string;
  email: string | null;
  mobile: string | null;
  department: string | null;
  job_title: string | null;
  home_id: number;
  home_name: string;
  home_path: string;
}

const TRAIL_LIMIT = 25;

const UNIQUE_USER = {
  users_username_unique: ['username', 'This username is already taken.'] as [string, string],
  users_email_unique: ['email', 'Another user already has this e-mail address.'] as [string, string],
};

/**
 * The user page and what it offers (SPEC §4 "User page", "Create User"): details, edit, licence,
 * enable/disable, delete, end sessions, and creating a user directly in an organization. Every
 * method checks access first: out of scope answers "not found", seen-but-not-allowed "forbidden".
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

  // ----- viewing ------------------------------------------------------------------------------

  /**
   * The user page. A user with a membership outside the session's subtree is seen, not managed
   * (SPEC §3: adding a member "grants no other access to that user"): the page then shows only
   * who they are — name, username, e-mail — and their memberships inside the subtree.
   */
  async details(actor: Actor, id: number) {
    if (!canListUsers(actor)) throw new ForbiddenError();
    const target = await this.access.userTarget(id);
    if (!target || !canSeeUser(actor, target)) throw new NotFoundError();
    if (canSeeUserDetails(actor, target)) return { limited: false as const, ...(await this.fullDetails(actor, id, target)) };
    const [user]: { id: number; username: string; full_name: string; email: string | null }[] = await this.em.execute(
      'select u.id, u.username, c.full_name, u.email from users u join contacts c on c.id = u.contact_id where u.id = ?',
      [id],
    );
    if (!user) throw new NotFoundError();
    const memberships = await this.memberships(id);
    const inScopeMemberships = memberships.filter((m) => inScope(actor, m.path));
    return {
      limited: true as const,
      user: { id: user.id, username: user.username, fullName: user.full_name, email: user.email },
      memberships: inScopeMemberships.map((m) => ({ id: m.organization_id, name: m.name, isAdmin: m.is_admin })),
      otherMemberships: memberships.length - inScopeMemberships.length,
      can: { manage: false },
    };
  }

  private async memberships(id: number): Promise<{ organization_id: number; name: string; path: string; is_admin: boolean }[]> {
    return this.em.execute(
      'select m.organization_id, o.name, o.path, m.is_admin from memberships m join organizations o on o.id = m.organization_id where m.user_id = ? order by o.path',
      [id],
    );
  }

  private async fullDetails(actor: Actor, id: number, target: UserTarget) {
    const user = await this.row(this.em, id);
    const manage = canActOnUser(actor, target);
    const memberships = await this.memberships(id);
    const roles: { id: number; name: string }[] = await this.em.execute(
      'select r.id, r.name from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = ? order by lower(r.name)',
      [id],
    );
    const defs = await this.properties.definitions();
    const values = (await this.properties.valuesFor([id])).get(id) ?? new Map<number, string[]>();
    const licences: { id: number; name: string; seats: number | null; used: number }[] = await this.em.execute(
      `select l.id, l.name, l.seats, (select count(*)::int from users x where x.licence_id = l.id and x.enabled) as used
         from licence_types l order by lower(l.name)`,
    );
    const trail: { occurred_at: Date; actor_name: string | null; action: string; changes: Record<string, { from: unknown; to: unknown }> | null; detail: string | null }[] =
      await this.em.execute(
        `select occurred_at, actor_name, action, changes, detail from audit_events
          where object_type = 'user' and object_id = ? order by occurred_at desc, id desc limit ?`,
        [String(id), TRAIL_LIMIT + 1],
      );
    const inScopeMemberships = memberships.filter((m) => inScope(actor, m.path));
    return {
      user: this.view(user),
      memberships: inScopeMemberships.map((m) => ({ id: m.organization_id, name: m.name, isAdmin: m.is_admin })),
      otherMemberships: memberships.length - inScopeMemberships.length,
      roles,
      properties: defs.map((d) => ({ name: d.name, values: values.get(d.id) ?? [] })),
      licences: licences.map((l) => ({ id: l.id, label: `${l.name} — ${usageText(l.used, l.seats)}`, selected: l.id === user.licence_id })),
      trail: this.trailFor(actor, user.email, trail.slice(0, TRAIL_LIMIT)),
      trailMore: trail.length > TRAIL_LIMIT,
      auditHref: `/audit?objectType=user&q=${encodeURIComponent(user.username)}`,
      can: {
        manage,
        disable: manage && user.enabled && !user.built_in && id !== actor.userId,
        enable: manage && !user.enabled,
        unlock: manage && user.locked,
        delete: manage && !user.built_in && id !== actor.userId,
        endSessions: manage && id !== actor.userId,
        auditLog: allows(actor, 'view_audit_log'),
      },
    };
  }

  /**
   * The trail as the session may read it. Entries can name other people's addresses (an
   * Administrator who had the credentials e-mailed to themselves): for anyone but an
   * Administrator, every address in a detail that is not one the user had is hidden.
   */
  private trailFor(
    actor: Actor,
    currentEmail: string | null,
    entries: { occurred_at: Date; actor_name: string | null; action: string; changes: Record<string, { from: unknown; to: unknown }> | null; detail: string | null }[],
  ) {
    const own = new Set<string>(currentEmail ? [currentEmail.toLowerCase()] : []);
    for (const e of entries) {
      const email = e.changes?.email;
      for (const v of email ? [email.from, email.to] : []) if (typeof v === 'string') own.add(v.toLowerCase());
    }
    return entries.map((e) => ({
      occurredAt: e.occurred_at,
      actorName: e.actor_name,
      action: e.action,
      changes: e.changes ? Object.entries(e.changes).map(([field, c]) => ({ field, from: show(c.from), to: show(c.to) })) : [],
      detail: e.detail === null || actor.isAdministrator ? e.detail : hideAddresses(e.detail, own),
    }));
  }

  /** The delete confirmation page: the user's details, for sessions that may delete them. */
  async deleteForm(actor: Actor, id: number) {
    await this.assertCanAct(actor, id);
    const target = (await this.access.userTarget(id))!;
    const details = await this.fullDetails(actor, id, target);
    if (details.user.builtIn) throw new ForbiddenError('The built-in admin cannot be deleted.');
    if (id === actor.userId) throw new ForbiddenError('You cannot delete your own account.');
    return details;
  }

  /** The stored values of the edit form and its choices. */
  async editForm(actor: Actor, id: number) {
    await this.assertCanAct(actor, id);
    const user = await this.row(this.em, id);
    const roleIds: { role_id: number }[] = await this.em.execute('select role_id from user_roles where user_id = ?', [id]);
    const values = (await this.properties.valuesFor([id])).get(id) ?? new Map<number, string[]>();
    return {
      user: this.view(user),
      values: {
        firstName: user.first_name ?? '',
        lastName: user.last_name ?? '',
        email: user.email ?? '',
        mobile: user.mobile ?? '',
        department: user.department ?? '',
        jobTitle: user.job_title ?? '',
        profileId: user.profile_id === null ? '' : String(user.profile_id),
      },
      ...(await this.choices(actor, roleIds.map((r) => r.role_id), values, user.department, { userId: id, heldRoleIds: roleIds.map((r) => r.role_id) })),
    };
  }

  /** The choices of the edit form again, with the submitted values (after a refusal). */
  async editFormAgain(actor: Actor, id: number, body: unknown, roleIds: string[]) {
    await this.assertCanAct(actor, id);
    const user = await this.row(this.em, id);
    const defs = await this.properties.definitions();
    const held: { role_id: number }[] = await this.em.execute('select role_id from user_roles where user_id = ?', [id]);
    const fixed = { userId: id, heldRoleIds: held.map((r) => r.role_id) };
    return { user: this.view(user), ...(await this.choices(actor, roleIds.map(Number), this.properties.submittedValues(defs, body), user.department, fixed)) };
  }

  // ----- changing -----------------------------------------------------------------------------

  async update(actor: Actor, id: number, input: UserEditInput): Promise<{ username: string; changed: boolean }> {
    await this.assertCanAct(actor, id);
    try {
      return await this.em.transactional(async (tx) => {
        const user = await this.row(tx, id, true);
        const departments = await this.departmentNames(tx);
        const { values: person, errors } = validatePerson(input, departments, user.department);
        const allRoles: RoleRow[] = await tx.execute('select id, name, built_in_key, permissions from roles order by lower(name)');
        const { ids: roleIds, error: roleError } = parseRoleIds(input.roleIds, allRoles.map((r) => r.id));
        if (roleError) errors.roleIds = roleError;
        const adminRole = allRoles.find((r) => r.built_in_key === 'administrator');
        const beforeRoles: { role_id: number }[] = await tx.execute('select role_id from user_roles where user_id = ?', [id]);
        const beforeIds = beforeRoles.map((r) => r.role_id);
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
        if (!errors.email) Object.assign(errors, await uniquenessProblems(tx, { email: person.email }, { userId: id }));
        if (Object.keys(errors).length > 0) throw new ValidationError(errors);

        const beforeValues = (await this.properties.valuesFor([id], tx)).get(id) ?? new Map<number, string[]>();
        const roleName = (rid: number) => allRoles.find((r) => r.id === rid)?.name ?? String(rid);
        const profileName = profileId === null ? null : ((await tx.execute('select name from user_profiles where id = ?', [profileId])) as { name: string }[])[0].name;
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

        await tx.execute(
          `update contacts set first_name = ?, last_name = ?, full_name = ?, email = ?, mobile = ?, department = ?, job_title = ?, updated_at = now() where id = ?`,
          [person.firstName, person.lastName, person.fullName, person.email, person.mobile, person.department, person.jobTitle, user.contact_id],
        );
        await tx.execute('update users set profile_id = ?, updated_at = now() where id = ?', [profileId, id]);
        await tx.execute('delete from user_roles where user_id = ? and not (role_id = any(?::int[]))', [id, `{${roleIds.join(',')}}`]);
        if (roleIds.length > 0) await tx.execute('insert into user_roles (user_id, role_id) select ?, unnest(?::int[]) on conflict do nothing', [id, `{${roleIds.join(',')}}`]);
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
      await tx.execute('delete from users where id = ?', [id]);
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
      await tx.execute('update users set session_version = session_version + 1 where id = ?', [id]);
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
        const [l]: { name: string }[] = await tx.execute('select name from licence_types where id = ?', [licenceId]);
        if (!l) throw ValidationError.single('licenceId', 'Choose a licence from the list.');
        name = l.name;
      }
      if (user.licence_id === licenceId) return { username: user.username, licence: name, changed: false };
      if (licenceId !== null && user.enabled) await assertSeatFree(tx, licenceId, { exceptUserId: id });
      await tx.execute('update users set licence_id = ?, updated_at = now() where id = ?', [licenceId, id]);
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
    const defaults: { role_id: number }[] = await this.em.execute('select role_id from client_settings_default_roles where settings_id = 1');
    const [settings]: { default_profile_id: number | null; default_licence_id: number | null }[] = await this.em.execute(
      'select default_profile_id, default_licence_id from client_settings where id = 1',
    );
    // The defaults of Settings → Interface are preselected; the person may pick others.
    const values = { organizationId: organization.id, profileId: settings.default_profile_id ?? '', licenceId: settings.default_licence_id ?? '' };
    return {
      organization,
      values,
      ...(await this.createChoices(actor)),
      ...(await this.choices(actor, defaults.map((d) => d.role_id), new Map(), null)),
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
    const organizations: { id: number; name: string; depth: number }[] = await this.em.execute(
      `select o.id, o.name, o.depth from organizations o where ${scope.sql} order by o.path`,
      scope.params,
    );
    const minDepth = Math.min(...organizations.map((o) => o.depth));
    const licences: { id: number; name: string; seats: number | null; used: number }[] = await this.em.execute(
      `select l.id, l.name, l.seats, (select count(*)::int from users x where x.licence_id = l.id and x.enabled) as used
         from licence_types l order by lower(l.name)`,
    );
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
    const allRoles: RoleRow[] = await this.em.execute('select id, name, built_in_key, permissions from roles');
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
    Object.assign(errors, await uniquenessProblems(this.em, { username: errors.username ? null : username, email: errors.email ? null : person.email }));
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
    const [org]: { id: number; name: string; path: string }[] = await this.em.execute('select id, name, path from organizations where id = ?', [organizationId]);
    if (!org || !inScope(actor, org.path)) throw new NotFoundError();
    if (!allows(actor, 'manage_users')) throw new ForbiddenError('You may not create users.');
    return { id: org.id, name: org.name };
  }

  private async passwordHint() {
    return { passwordHint: describePolicy(await this.settings.passwordPolicy()) };
  }

  private async departmentNames(em: EntityManager): Promise<string[]> {
    const rows: { name: string }[] = await em.execute('select name from departments order by lower(name)');
    return rows.map((r) => r.name);
  }

  private async parseProfile(em: EntityManager, value: string, errors: FieldErrors): Promise<number | null> {
    if (value === '') return null;
    const id = /^[1-9][0-9]{0,9}$/.test(value) ? Number(value) : 0;
    const found = id ? await em.execute('select 1 from user_profiles where id = ?', [id]) : [];
    if (found.length === 0) {
      errors.profileId = 'Choose a user profile from the list.';
      return null;
    }
    return id;
  }

  private async parseLicence(value: string, errors: FieldErrors): Promise<number | null> {
    if (value === '') return null;
    const id = /^[1-9][0-9]{0,9}$/.test(value) ? Number(value) : 0;
    const found = id ? await this.em.execute('select 1 from licence_types where id = ?', [id]) : [];
    if (found.length === 0) {
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
    const roles: RoleRow[] = await this.em.execute('select id, name, built_in_key, permissions from roles order by lower(name)');
    const profiles: { id: number; name: string }[] = await this.em.execute('select id, name from user_profiles order by lower(name)');
    const departments = await this.departmentNames(this.em);
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

  private async row(em: EntityManager, id: number, lock = false): Promise<UserRow> {
    const [row]: UserRow[] = await em.execute(
      `select u.id, u.username, u.provider, u.enabled, u.built_in, u.must_change_password,
              coalesce(u.locked_until > now(), false) as locked, u.locked_until, u.last_login_at, u.failed_logins,
              u.password_send_at, u.password_send_status, u.password_send_error, u.password_hash is not null as has_password,
              u.licence_id, l.name as licence_name, u.profile_id, p.name as profile_name, u.created_at,
              c.id as contact_id, c.first_name, c.last_name, c.full_name, c.email, c.mobile, c.department, c.job_title,
              o.id as home_id, o.name as home_name, o.path as home_path
         from users u
         join contacts c on c.id = u.contact_id
         join organizations o on o.id = c.organization_id
         left join licence_types l on l.id = u.licence_id
         left join user_profiles p on p.id = u.profile_id
        where u.id = ?${lock ? ' for update of u' : ''}`,
      [id],
    );
    if (!row) throw new NotFoundError();
    return row;
  }

  private view(u: UserRow) {
    return {
      id: u.id,
      username: u.username,
      provider: u.provider,
      enabled: u.enabled,
      builtIn: u.built_in,
      locked: u.locked,
      lockedUntil: u.locked_until,
      lastLoginAt: u.last_login_at,
      mustChangePassword: u.must_change_password,
      hasPassword: u.has_password,
      passwordSendAt: u.password_send_at,
      passwordSendStatus: u.password_send_status,
      passwordSendError: u.password_send_error,
      licence: u.licence_name,
      profile: u.profile_name,
      createdAt: u.created_at,
      contactId: u.contact_id,
      firstName: u.first_name,
      lastName: u.last_name,
      fullName: u.full_name,
      email: u.email,
      mobile: u.mobile,
      department: u.department,
      jobTitle: u.job_title,
      home: { id: u.home_id, name: u.home_name },
    };
  }
}

interface RoleRow {
  id: number;
  name: string;
  built_in_key: string | null;
  permissions: string[] | null;
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

function show(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) return value.join(', ');
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
