import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AccessService } from '../access/access.service';
import type { Actor } from '../access/actor';
import { allows, canManageOrganization, canSeeOrganization, canSeeUser } from '../access/policy';
import { AuditService, diffChanges } from '../audit/audit.service';
import { BusinessRuleError, ForbiddenError, NotFoundError, ValidationError, uniqueViolation } from '../common/errors';
import { keysetPage } from '../common/pagination';
import { SettingsService } from '../settings/settings.service';
import { SqlCondition, allOf, textSearch, userListConditions } from '../common/search';
import { TreeItem, treeItems } from './organization-tree';
import {
  OrganizationRow,
  deleteMembership,
  deleteOrganization,
  findMembership,
  findOrganization,
  insertMembership,
  insertOrganization,
  candidatePage,
  lockOrganization,
  findOrganizationPage,
  memberPage,
  organizationContents,
  organizationsOutside,
  setMembershipAdmin,
  subtreeWithMemberCounts,
  compactMemberCounts,
  FOLDABLE_COUNTS_MAX,
  updateOrganization,
  usersWithMembership,
} from './organizations.queries';

export type { OrganizationRow } from './organizations.queries';

export interface OrganizationInput {
  name: string;
  description: string;
  /** Only Administrators move organizations; `undefined` keeps the parent. */
  parentId?: number | null;
}

export interface MemberRow {
  userId: number;
  username: string;
  fullName: string;
  email: string | null;
  isAdmin: boolean;
  enabled: boolean;
  /** This session may change the membership (not its own, not an Administrator's unless it is one). */
  changeable: boolean;
  /** This session may open the user's page (the members table links the username to it). */
  viewable: boolean;
}

export interface CandidateRow {
  userId: number;
  username: string;
  fullName: string;
  email: string | null;
}

export interface Page<T> {
  rows: T[];
  /**
   * Cursor for the next page (`null` on the last page): the last username, lower-cased, as it
   * is (`?after=ann`), which `userListConditions` seeks after.
   */
  next: string | null;
}

const NAME_MAX = 200;
const SIBLING_NAME_TAKEN = 'Another organization with this name already exists at this level.';

/**
 * The organization tree and its memberships (SPEC §2 "Organizations", §3, §4 "Organizations").
 * Every method takes the acting session and checks it first: an organization outside the
 * session's subtree does not exist for it (404); inside but not manageable is 403.
 */
@Injectable()
export class OrganizationsService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
    private readonly settings: SettingsService,
    private readonly access: AccessService,
  ) {}

  /** Raw SQL through the entity manager, which joins the transaction the call runs in (a connection's `execute` never does). */
  private get db() {
    return this.em;
  }

  private async find(id: number | null): Promise<OrganizationRow | null> {
    return id === null ? null : findOrganization(this.db, id);
  }

  /** The organization when the session may see it; 404 otherwise. */
  async visible(actor: Actor, id: number | null): Promise<OrganizationRow> {
    const org = await this.find(id);
    if (!org || !canSeeOrganization(actor, org.path)) throw new NotFoundError();
    return org;
  }

  /** The organization when the session may manage it; 404 when invisible, 403 when only visible. */
  private async manageable(actor: Actor, id: number | null): Promise<OrganizationRow> {
    const org = await this.visible(actor, id);
    if (!canManageOrganization(actor, org.path)) throw new ForbiddenError('You may not change this organization.');
    return org;
  }

  /**
   * Renaming, moving and deleting apply below the session's own organization: an organization
   * administrator manages the sub-organizations of their organization, not the organization
   * itself (Administrators may rename Global but never move or delete it).
   */
  private async editable(actor: Actor, id: number | null): Promise<OrganizationRow> {
    const org = await this.manageable(actor, id);
    if (!actor.isAdministrator && org.path === actor.currentOrganization.path) {
      throw new ForbiddenError('You manage the organizations below your own; ask an administrator to change this one.');
    }
    return org;
  }

  /** What the edit form may change: Administrators may also rename and describe Global. */
  private async updatable(actor: Actor, id: number | null): Promise<OrganizationRow> {
    const org = await this.find(id);
    return org && org.parentId === null && actor.isAdministrator ? org : this.editable(actor, id);
  }

  /** The edit form's organization and, for Administrators, where it may be moved. */
  async forEdit(actor: Actor, id: number | null): Promise<{ organization: OrganizationRow; moveTargets: OrganizationRow[] | null }> {
    const organization = await this.updatable(actor, id);
    const moveTargets = actor.isAdministrator && organization.parentId !== null ? await this.moveTargets(organization) : null;
    return { organization, moveTargets };
  }

  /** The subtree the session works in, with member counts, in display order (see TreeItem). */
  async tree(actor: Actor): Promise<TreeItem[]> {
    if (!allows(actor, 'manage_organizations')) throw new ForbiddenError();
    const scope = actor.isAdministrator ? '/' : actor.currentOrganization.path;
    const { rows, foldableCounts } = await subtreeWithMemberCounts(this.db, scope);
    // Housekeeping of the counts table the membership triggers append to: it keeps the next
    // reads at one row per organization, on whichever instance shows the tree.
    if (foldableCounts > FOLDABLE_COUNTS_MAX) await compactMemberCounts(this.db);
    return treeItems(rows);
  }

  /** The organization page: details, breadcrumbs inside the scope, sub-organizations, counts. */
  async page(actor: Actor, id: number | null) {
    if (!allows(actor, 'manage_organizations')) throw new ForbiddenError();
    const row = id === null ? null : await findOrganizationPage(this.db, id);
    if (!row || !canSeeOrganization(actor, row.path)) throw new NotFoundError();
    const { ancestors, children, memberCount, ...org } = row;
    const manage = canManageOrganization(actor, org.path);
    const ownScopeRoot = !actor.isAdministrator && org.path === actor.currentOrganization.path;
    return {
      organization: org,
      breadcrumbs: ancestors.filter((a) => canSeeOrganization(actor, a.path)),
      children,
      memberCount,
      isRoot: org.parentId === null,
      can: {
        manage,
        edit: manage && !ownScopeRoot,
        delete: manage && !ownScopeRoot && org.parentId !== null,
        move: actor.isAdministrator && org.parentId !== null,
        // The page is only shown inside the scope, so "manage users" is all Create User needs.
        createUser: allows(actor, 'manage_users'),
      },
    };
  }

  /** The organization page with one keyset page of its members: two statements. */
  async pageWithMembers(actor: Actor, id: number | null, options: { q?: string; after?: string; size: number }) {
    const details = await this.page(actor, id);
    return { ...details, members: await this.memberRows(actor, details.organization, options) };
  }

  /** Members of `org`, which the session has been found to see. */
  private async memberRows(actor: Actor, org: OrganizationRow, options: { q?: string; after?: string; size: number }): Promise<Page<MemberRow>> {
    const where = allOf([{ sql: 'm.organization_id = ?', params: [org.id] }, ...memberListConditions(options.q, options.after)]);
    const rows = await memberPage(this.db, where, options.size + 1);
    const manage = canManageOrganization(actor, org.path);
    const members = rows.map(({ administrator, ...row }) => ({
      ...row,
      changeable: manage && (actor.isAdministrator || (!administrator && row.userId !== actor.userId)),
      // A member of this organization has a membership in scope: the user page's own rule decides.
      viewable: canSeeUser(actor, { membershipPaths: [org.path], hasAdministratorRole: administrator }),
    }));
    return keysetPage(members, options.size, (r) => r.username.toLowerCase());
  }

  /**
   * Users that may be added to the organization (the member picker): with "Limit Organization
   * Members Visibility" = Yes, only users with a membership in the session's subtree; with No,
   * every user of the system (name, username and e-mail only). Administrators see everyone.
   * Current members are left out.
   */
  async candidates(actor: Actor, id: number | null, options: { q?: string; after?: string; size: number }): Promise<Page<CandidateRow>> {
    const org = await this.manageable(actor, id);
    const where = allOf([
      await this.candidateCondition(actor),
      { sql: 'not exists (select 1 from memberships x where x.user_id = u.id and x.organization_id = ?)', params: [org.id] },
      ...userListConditions(options.q, options.after),
    ]);
    const rows = await candidatePage(this.db, where, options.size + 1);
    return keysetPage(rows, options.size, (r) => r.username.toLowerCase());
  }

  private async candidateCondition(actor: Actor): Promise<SqlCondition> {
    if (actor.isAdministrator) return { sql: 'true', params: [] };
    // Nobody but an Administrator acts on an Administrator (SPEC §3): adding a membership is acting
    // on them (and `membershipForChange` would not let this session undo it).
    const notAdministrator = `not exists (select 1 from user_roles ar join roles r on r.id = ar.role_id
                                          where ar.user_id = u.id and r.built_in_key = 'administrator')`;
    const settings = await this.settings.get();
    if (!settings.limitMemberVisibility) return { sql: notAdministrator, params: [] };
    return allOf([{ sql: notAdministrator, params: [] }, this.access.visibleUsersCondition(actor, 'u')]);
  }

  async create(actor: Actor, parentId: number | null, input: OrganizationInput): Promise<OrganizationRow> {
    const parent = await this.manageable(actor, parentId);
    const values = this.validate(input);
    try {
      return await this.em.transactional(async (tx) => {
        const created = await insertOrganization(tx, { ...values, parentId: parent.id });
        await this.audit.record(
          actor,
          { action: 'organization.created', objectType: 'organization', objectId: created.id, objectLabel: created.name, detail: `under ${parent.name}` },
          tx,
        );
        return created;
      });
    } catch (error) {
      throw uniqueViolation(error, { organizations_sibling_name_unique: ['name', SIBLING_NAME_TAKEN] }) ?? error;
    }
  }

  async update(actor: Actor, id: number | null, input: OrganizationInput): Promise<OrganizationRow> {
    const current = await this.updatable(actor, id);
    const values = this.validate(input);
    let parent: OrganizationRow | null = null;
    if (input.parentId !== undefined && input.parentId !== current.parentId) {
      if (!actor.isAdministrator) throw new ForbiddenError('Only administrators move organizations.');
      if (current.parentId === null) throw ValidationError.single('parentId', 'Global is the root of the tree and cannot be moved.');
      parent = await this.find(input.parentId);
      if (!parent) throw ValidationError.single('parentId', 'Choose an existing organization.');
      if (parent.path.startsWith(current.path)) {
        throw ValidationError.single('parentId', 'An organization cannot be moved into itself or one of its sub-organizations.');
      }
    }
    try {
      return await this.em.transactional(async (tx) => {
        const updated = await updateOrganization(tx, current.id, { ...values, parentId: parent ? parent.id : current.parentId });
        const changes = diffChanges(
          { name: current.name, description: current.description, parent: current.parentId },
          { name: updated.name, description: updated.description, parent: updated.parentId },
        );
        if (changes) {
          await this.audit.record(
            actor,
            { action: parent ? 'organization.moved' : 'organization.updated', objectType: 'organization', objectId: updated.id, objectLabel: updated.name, changes },
            tx,
          );
        }
        return updated;
      });
    } catch (error) {
      const e = error as { code?: string; constraint?: string };
      if (e?.code === '23514' && e.constraint === 'organizations_no_cycle') {
        throw ValidationError.single('parentId', 'An organization cannot be moved into itself or one of its sub-organizations.');
      }
      throw uniqueViolation(error, { organizations_sibling_name_unique: ['name', SIBLING_NAME_TAKEN] }) ?? error;
    }
  }

  /** What still keeps the organization from being deleted (empty when it can go). */
  async contents(actor: Actor, id: number | null): Promise<{ organization: OrganizationRow; blockers: string[] }> {
    const org = await this.editable(actor, id);
    const row = await organizationContents(this.db, org.id);
    const blockers: string[] = [];
    if (row.children) blockers.push(`${row.children} sub-organization${row.children === 1 ? '' : 's'}`);
    if (row.members) blockers.push(`${row.members} member${row.members === 1 ? '' : 's'}`);
    if (row.contacts) blockers.push(`${row.contacts} contact${row.contacts === 1 ? '' : 's'} (their home organization)`);
    return { organization: org, blockers };
  }

  async delete(actor: Actor, id: number | null): Promise<OrganizationRow> {
    const org = await this.editable(actor, id);
    if (org.parentId === null) throw new ForbiddenError('Global is the root of the tree and cannot be deleted.');
    return this.em.transactional(async (tx) => {
      // Lock the row, then count: a member added concurrently either waits for us or is refused by the FK.
      await lockOrganization(tx, org.id);
      const { blockers } = await this.contents(actor, org.id);
      if (blockers.length > 0) {
        throw new BusinessRuleError('organization_not_empty', `${org.name} cannot be deleted: it still contains ${joinList(blockers)}.`);
      }
      await deleteOrganization(tx, org.id);
      await this.audit.record(actor, { action: 'organization.deleted', objectType: 'organization', objectId: org.id, objectLabel: org.name }, tx);
      return org;
    });
  }

  /** Adds the picked users; every id must be one the picker offers this session (404 otherwise). */
  async addMembers(actor: Actor, id: number | null, userIds: number[]): Promise<{ added: string[]; alreadyMembers: string[] }> {
    const org = await this.manageable(actor, id);
    const unique = [...new Set(userIds)];
    if (unique.length === 0) throw ValidationError.form('Choose at least one user to add.');
    const rows = await usersWithMembership(this.db, org.id, unique, await this.candidateCondition(actor));
    if (rows.length !== unique.length) throw new NotFoundError('One of the chosen users does not exist, or you may not add them.');
    const toAdd = rows.filter((r) => !r.member);
    await this.em.transactional(async (tx) => {
      for (const user of toAdd) {
        await insertMembership(tx, user.id, org.id);
        await this.audit.record(
          actor,
          { action: 'membership.added', objectType: 'user', objectId: user.id, objectLabel: user.username, detail: `member of ${org.name}` },
          tx,
        );
      }
    });
    return { added: toAdd.map((r) => r.username), alreadyMembers: rows.filter((r) => r.member).map((r) => r.username) };
  }

  /** The membership of `userId` in the organization, checked for a change by this session. */
  private async membershipForChange(actor: Actor, org: OrganizationRow, userId: number | null) {
    if (userId === null) throw new NotFoundError();
    const membership = await findMembership(this.db, org.id, userId);
    if (!membership) throw new NotFoundError('This user is not a member of the organization.');
    if (membership.administrator && !actor.isAdministrator) throw new ForbiddenError('Only an administrator may change the memberships of an administrator.');
    if (userId === actor.userId && !actor.isAdministrator) throw new ForbiddenError('You cannot change your own membership here.');
    return membership;
  }

  async removeMember(actor: Actor, id: number | null, userId: number | null): Promise<string> {
    const org = await this.manageable(actor, id);
    const membership = await this.membershipForChange(actor, org, userId);
    if (membership.memberships <= 1) {
      throw new BusinessRuleError(
        'last_membership',
        `${membership.username} belongs to no other organization. Add them to another organization first: every user belongs to at least one.`,
      );
    }
    if (userId === actor.userId && org.id === actor.currentOrganization.organizationId) {
      throw new BusinessRuleError('own_current_membership', 'You cannot leave the organization you are working in.');
    }
    await this.em.transactional(async (tx) => {
      await deleteMembership(tx, org.id, userId!);
      await this.audit.record(
        actor,
        { action: 'membership.removed', objectType: 'user', objectId: userId!, objectLabel: membership.username, detail: `no longer member of ${org.name}` },
        tx,
      );
    });
    return membership.username;
  }

  async setAdministrator(actor: Actor, id: number | null, userId: number | null, isAdmin: boolean): Promise<string> {
    const org = await this.manageable(actor, id);
    const membership = await this.membershipForChange(actor, org, userId);
    if (membership.isAdmin !== isAdmin) {
      await this.em.transactional(async (tx) => {
        await setMembershipAdmin(tx, org.id, userId!, isAdmin);
        await this.audit.record(
          actor,
          {
            action: 'membership.updated',
            objectType: 'user',
            objectId: userId!,
            objectLabel: membership.username,
            detail: `in ${org.name}`,
            changes: { organizationAdministrator: { from: membership.isAdmin, to: isAdmin } },
          },
          tx,
        );
      });
    }
    return membership.username;
  }

  /** Organizations `org` may be moved under: everything outside its own subtree. */
  private moveTargets(org: OrganizationRow): Promise<OrganizationRow[]> {
    return organizationsOutside(this.db, org.path);
  }

  private validate(input: OrganizationInput): { name: string; description: string | null } {
    const errors: Record<string, string> = {};
    const name = input.name.trim();
    if (!name) errors.name = 'Enter a name.';
    else if (name.length > NAME_MAX) errors.name = `Use at most ${NAME_MAX} characters.`;
    else if (/[\u0000-\u001f]/.test(name)) errors.name = 'The name contains characters that cannot be used.';
    const description = input.description.trim();
    if (description.length > 2000) errors.description = 'Use at most 2,000 characters.';
    if (Object.keys(errors).length > 0) throw new ValidationError(errors);
    return { name, description: description || null };
  }
}

/** The search box and cursor of the members table: `userListConditions` over the users' own name and e-mail columns. */
function memberListConditions(q: string | undefined, after: string | undefined): SqlCondition[] {
  const search = textSearch(q, ['u.username', 'u.full_name', 'u.email']);
  return [...(search ? [search] : []), ...userListConditions(undefined, after)];
}

function joinList(parts: string[]): string {
  return parts.length <= 1 ? parts.join('') : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}
