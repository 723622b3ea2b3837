import type { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Actor } from '../access/actor';
import { allows, canGrantRole, inScope } from '../access/policy';
import { AuditService, AuditSource, createdChanges } from '../audit/audit.service';
import { BusinessRuleError, FieldErrors, NotFoundError, ValidationError } from '../common/errors';
import { assertSeatFree } from '../licences/licence-seats';
import { LOCAL_PROVIDER } from '../users/user.entity';
import { nextFreeUsername, renderUsername, usernameProblem } from '../users/username-format';
import * as q from './provisioning.queries';

/**
 * The provisioning core: the one place that applies the rules every new user follows, whoever
 * writes it — Enable Access (one contact or several), Create User, the import, and the identity
 * sources to come (SSO just-in-time creation, directory sync, SCIM). The rules: the username
 * (typed and checked, or made from the username format with `2`, `3`, … on collision), unique
 * usernames, e-mail addresses, contacts and provider ids, a free seat of the licence, the
 * defaults of Settings → Interface (roles, profile, licence), roles the actor may give, the
 * memberships, the custom property values and one `user.created` audit entry per user.
 *
 * API
 * - `UserProvisioningService.provision(actor, spec, tx)` — one user for an existing contact,
 *   inside the caller's transaction (the contact, the user and all the rest commit together).
 *   Checks access first (`manage_users` in the organization's scope; otherwise 404). Refusals
 *   are typed errors: `ValidationError` on a field (`username`, `email`, `externalId`,
 *   `roleIds`, `profileId`, `licenceId`), `LicenceFullError`, `BusinessRuleError`
 *   (`contact_has_user`, `username_empty`, `administrator_role`, `role_not_grantable`).
 *   `spec.source` names where the user came from in its audit entry; `provider` and
 *   `externalId` are optional (absent: a local user). A source that brings a new person
 *   (Create User, SSO just-in-time, SCIM) first writes the contact with
 *   `insertPersonContact(tx, person, organizationId)` of `provisioning.queries.ts`, checked
 *   with the field rules of `people/person-rules.ts`.
 * - `provisionBatch(tx, source, rows, options)` — the set-based form for many users at once
 *   (the import; later a directory sync): contacts, users, roles, memberships, property values
 *   and audit entries in a few statements per 5,000 rows. It checks nothing itself: run the
 *   same rules over the rows first, with `takenKeys` for uniqueness (one query per kind of
 *   key), `provisioningDefaults` for the defaults and `licenceUsage` for the seats; the
 *   database constraints still refuse a duplicate that appeared meanwhile.
 * - `uniquenessProblems(em, values)` — the field messages of a form (Create User, Edit,
 *   contact edit) whose username or e-mail address another user has, before it writes.
 *
 * Uniqueness is decided by the database: the single-row insert uses `on conflict do nothing`,
 * which waits for concurrent inserts of the same key, so two requests generating `jsmith` at
 * once end up with `jsmith` and `jsmith2` instead of an error.
 */

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
  /** `local` when absent; otherwise the key of the identity source (SSO provider, directory). */
  provider?: string;
  /** The user's id at the provider, unique per provider. */
  externalId?: string | null;
  enabled?: boolean;
  /** Custom property values (property id → values), stored and named in the audit entry. */
  propertyValues?: Map<number, string[]>;
  /** Where the user came from, as the audit entry's detail (e.g. "Created at first sign-in through Okta."). */
  source?: string;
  /** More fields for the `user.created` audit entry: one entry tells the whole creation. */
  auditFields?: Record<string, unknown>;
}

export interface ProvisionedUser {
  id: number;
  username: string;
}

/** How often a generated username is retried when a concurrent request took it first. */
const MAX_USERNAME_ATTEMPTS = 20;

@Injectable()
export class UserProvisioningService {
  constructor(private readonly audit: AuditService) {}

  async provision(actor: Actor, spec: ProvisionSpec, tx: EntityManager): Promise<ProvisionedUser> {
    const org = await q.organizationById(tx, spec.organizationId);
    if (!org || !allows(actor, 'manage_users') || !inScope(actor, org.path)) throw new NotFoundError();

    const defaults = await q.provisioningDefaults(tx);
    const roleIds = spec.roleIds ?? defaults.roleIds;
    const roles = await q.rolesById(tx, roleIds);
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

    const profileId = spec.profileId === undefined ? defaults.profileId : spec.profileId;
    const profile = profileId === null ? null : await named(tx, 'user_profiles', profileId, 'profileId', 'Choose a user profile that exists.');
    const licenceId = spec.licenceId === undefined ? defaults.licenceId : spec.licenceId;
    const licence = licenceId === null ? null : await named(tx, 'licence_types', licenceId, 'licenceId', 'Choose a licence that exists.');
    const enabled = spec.enabled ?? true;
    if (licenceId !== null && enabled) await assertSeatFree(tx, licenceId);

    const contact = await q.lockContact(tx, spec.contactId);
    if (!contact) throw new NotFoundError();
    if (contact.linked_username !== null) {
      throw new BusinessRuleError('contact_has_user', `${contact.full_name} already has a user account (${contact.linked_username}).`);
    }

    const provider = spec.provider ?? LOCAL_PROVIDER;
    const user = await this.insertUser(tx, actor, spec, contact, defaults.usernameFormat, { provider, enabled, profileId, licenceId });

    await q.insertUserRoles(tx, user.id, roles.map((r) => r.id));
    await q.insertMembership(tx, user.id, spec.organizationId);
    const properties = await this.storeProperties(tx, user.id, spec.propertyValues);

    await this.audit.record(
      actor,
      {
        action: 'user.created',
        objectType: 'user',
        objectId: user.id,
        objectLabel: user.username,
        changes: createdChanges({
          username: user.username,
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
          ...properties,
          ...spec.auditFields,
        }),
        detail: spec.source,
      },
      tx,
    );
    return user;
  }

  /** Stores the filled property values; returns them as audit fields (`property: Name`). */
  private async storeProperties(tx: EntityManager, userId: number, values: Map<number, string[]> | undefined): Promise<Record<string, unknown>> {
    const filled = [...(values ?? new Map<number, string[]>()).entries()].filter(([, vs]) => vs.length > 0);
    if (filled.length === 0) return {};
    await q.insertPropertyValues(tx, filled.flatMap(([propertyId, vs]) => vs.map((v): [number, number, string] => [userId, propertyId, v])));
    const fields: Record<string, unknown> = {};
    for (const p of await q.propertiesById(tx, filled.map(([id]) => id))) {
      const v = [...values!.get(p.id)!].sort();
      fields[`property: ${p.name}`] = p.multiValued ? v : v[0];
    }
    return fields;
  }

  private async insertUser(
    tx: EntityManager,
    actor: Actor,
    spec: ProvisionSpec,
    contact: q.ContactForUser,
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
      const username = base === null ? spec.username! : nextFreeUsername(base, await q.takenUsernamesLike(tx, base));
      const id = await q.insertUserUnlessTaken(tx, {
        contactId: spec.contactId,
        username,
        passwordHash: spec.passwordHash ?? null,
        provider: resolved.provider,
        externalId: spec.externalId ?? null,
        enabled: resolved.enabled,
        mustChangePassword: spec.mustChangePassword ?? false,
        passwordExpiresAt: spec.passwordExpiresAt ?? null,
        profileId: resolved.profileId,
        licenceId: resolved.licenceId,
      });
      if (id !== null) return { id, username };
      await explainConflict(tx, actor, spec, contact, username, resolved.provider, base === null);
    }
    throw new BusinessRuleError('username_busy', 'Could not find a free username: please try again.', 503);
  }
}

async function named(tx: EntityManager, table: 'user_profiles' | 'licence_types', id: number, field: string, message: string): Promise<string> {
  const name = await q.nameOf(tx, table, id);
  if (name === null) throw ValidationError.single(field, message);
  return name;
}

/** After an insert that hit a unique rule: throws the matching message, or returns to retry a generated name. */
async function explainConflict(tx: EntityManager, actor: Actor, spec: ProvisionSpec, contact: q.ContactForUser, username: string, provider: string, typed: boolean): Promise<void> {
  const linked = await q.usernameOfContact(tx, spec.contactId);
  if (linked) throw new BusinessRuleError('contact_has_user', `${contact.full_name} already has a user account (${linked}).`);
  const problems = await uniquenessProblems(tx, { email: contact.email, username: typed ? username : null }, {}, actor);
  if (problems.email) throw ValidationError.single('email', problems.email);
  if (spec.externalId) {
    const other = await q.userWithExternalId(tx, provider, spec.externalId, scopePathOf(actor));
    if (other) throw ValidationError.single('externalId', `The id ${spec.externalId} is already used by ${otherUser(other)} (${provider}).`);
  }
  if (problems.username) throw ValidationError.single('username', problems.username);
}

/**
 * The messages for a username or an e-mail address that another user already has (`null` or
 * empty values are not checked; `except` leaves out the user being edited, or the user of the
 * contact being edited). A form shows them before it writes; the unique constraints back them.
 * The message names the other user only when `viewer` (the person who will read it; absent for
 * messages nobody outside Tessera's administrators reads) may see that user: an organization
 * administrator learns that an address is taken, not who outside their subtree holds it.
 */
export async function uniquenessProblems(
  em: EntityManager,
  values: { username?: string | null; email?: string | null },
  except: { userId?: number; contactId?: number } = {},
  viewer?: Actor,
): Promise<FieldErrors> {
  const problems: FieldErrors = {};
  if (values.username && (await q.usernameTaken(em, values.username))) problems.username = `The username ${values.username} is already taken.`;
  if (values.email) {
    const other = await q.userWithEmail(em, values.email, except, scopePathOf(viewer));
    if (other) problems.email = `The e-mail address ${values.email} is already used by ${otherUser(other)}.`;
  }
  return problems;
}

/** The subtree whose users `viewer` may see, or `null` for everyone (Administrators, no viewer). */
function scopePathOf(viewer: Actor | undefined): string | null {
  return viewer && !viewer.isAdministrator ? viewer.currentOrganization.path : null;
}

function otherUser(other: { username: string; visible: boolean }): string {
  return other.visible ? `the user ${other.username}` : 'another user';
}

/** One user of a set-based write, with its new person contact; every rule already applied. */
export interface ProvisionRow {
  contact: Omit<q.ContactRow, 'organizationId'>;
  username: string;
  /** The argon2id hash of the user's password, or `null` for none. */
  passwordHash: string | null;
  provider: string;
  externalId: string | null;
  enabled: boolean;
  roleIds: number[];
  /** The memberships; the first is the contact's home organization. */
  organizationIds: number[];
  licenceId: number | null;
  profileId: number | null;
  properties: { propertyId: number; values: string[] }[];
}

/**
 * Writes every row with set-based statements inside the caller's transaction, and one
 * `user.created` entry per user attributed to `source` with `detail` (where the users came
 * from), so that each user's trail starts with its origin. A user with a password must change it
 * at first sign-in when `mustChangePassword`. Returns the new user ids, in the rows' order.
 */
export async function provisionBatch(
  tx: EntityManager,
  source: AuditSource,
  rows: ProvisionRow[],
  options: { mustChangePassword: boolean; detail: string },
): Promise<number[]> {
  if (rows.length === 0) return [];
  const contactIds = await q.allocateIds(tx, 'contacts', rows.length);
  const userIds = await q.allocateIds(tx, 'users', rows.length);
  for (let start = 0; start < rows.length; start += q.CHUNK) {
    const slice = rows.slice(start, start + q.CHUNK);
    const ids = slice.map((_r, i) => ({ contact: contactIds[start + i], user: userIds[start + i] }));
    await q.insertPersonContacts(tx, slice.map((r, i) => ({ ...r.contact, id: ids[i].contact, organizationId: r.organizationIds[0] })));
    await q.insertUserRows(
      tx,
      slice.map((r, i) => ({
        id: ids[i].user,
        contactId: ids[i].contact,
        username: r.username,
        passwordHash: r.passwordHash,
        provider: r.provider,
        externalId: r.externalId,
        enabled: r.enabled,
        mustChangePassword: r.passwordHash !== null && options.mustChangePassword,
        licenceId: r.licenceId,
        profileId: r.profileId,
      })),
    );
    await q.insertRolePairs(tx, slice.flatMap((r, i) => r.roleIds.map((role): [number, number] => [ids[i].user, role])));
    await q.insertMembershipPairs(tx, slice.flatMap((r, i) => r.organizationIds.map((o): [number, number] => [ids[i].user, o])));
    await q.insertPropertyValues(tx, slice.flatMap((r, i) => r.properties.flatMap((p) => p.values.map((v): [number, number, string] => [ids[i].user, p.propertyId, v]))));
  }
  await recordCreated(tx, source, rows, userIds, options.detail);
  return userIds;
}

/** The `user.created` entries of a batch: the created fields as a single creation records them, never a password or its hash. */
async function recordCreated(tx: EntityManager, source: AuditSource, rows: ProvisionRow[], userIds: number[], detail: string): Promise<void> {
  const distinct = (pick: (r: ProvisionRow) => (number | null)[]) => [...new Set(rows.flatMap(pick).filter((id): id is number => id !== null))];
  const roles = await q.namesById(tx, 'roles', distinct((r) => r.roleIds));
  const organizations = await q.namesById(tx, 'organizations', distinct((r) => r.organizationIds));
  const licences = await q.namesById(tx, 'licence_types', distinct((r) => [r.licenceId]));
  const profiles = await q.namesById(tx, 'user_profiles', distinct((r) => [r.profileId]));
  for (let start = 0; start < rows.length; start += q.CHUNK) {
    const entries = rows.slice(start, start + q.CHUNK).map((r, i) => ({
      id: userIds[start + i],
      username: r.username,
      changes: createdChanges({
        username: r.username,
        contact: r.contact.fullName,
        email: r.contact.email,
        organizations: r.organizationIds.map((id) => organizations.get(id) ?? String(id)),
        roles: r.roleIds.map((id) => roles.get(id) ?? String(id)).sort((a, b) => a.localeCompare(b)),
        profile: r.profileId === null ? null : (profiles.get(r.profileId) ?? null),
        licence: r.licenceId === null ? null : (licences.get(r.licenceId) ?? null),
        provider: r.provider,
        externalId: r.externalId,
        enabled: r.enabled,
      }),
    }));
    await q.insertUserCreatedEvents(tx, source, detail, entries);
  }
}
