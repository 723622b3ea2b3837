import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AccessService } from '../access/access.service';
import type { Actor } from '../access/actor';
import { UserTarget, allows, canManageContact, canSeeContact, inScope } from '../access/policy';
import { AuditService, createdChanges, deletedChanges, diffChanges } from '../audit/audit.service';
import { BusinessRuleError, ForbiddenError, NotFoundError, ValidationError, uniqueViolation } from '../common/errors';
import { decodeCursor, encodeCursor, keysetPage, seekCondition, splitKeys } from '../common/pagination';
import { SqlCondition, allOf, textSearch } from '../common/search';
import { OrganizationTree, OrganizationTreePanel } from '../organizations/organization-tree-panel';
import { uniquenessProblems } from '../provisioning/provisioning.service';
import type { ContactKind } from './contact.entity';
import { ContactInput, checkContactFields } from './contact-form';
import { ContactSort, SORT_KEYS } from './contact-list';
import { canListContacts, canManageUsersOfContact } from './contact-policy';
import * as q from './contacts.queries';
import type { ContactDetails, ContactFields, ContactListEntry } from './contacts.queries';

export interface ContactListQuery {
  q?: string;
  kind?: ContactKind;
  /** Home organization filter: contacts in it or below it. */
  organizationId?: number | null;
  sort: ContactSort;
  /** Keyset cursor (opaque, from the previous page's "Next page" link). */
  after?: string;
  size: number;
}

export interface ContactListRow extends ContactListEntry {
  /** "Open User" and the selection checkbox (Enable Access) are offered. */
  manageUsers: boolean;
}

export interface OrganizationOption {
  id: number;
  name: string;
  /** Name indented by depth below the session's scope root, for pull-downs. */
  label: string;
}

export interface ContactOption {
  id: number;
  name: string;
}

export interface ContactFormOptions {
  organizations: OrganizationOption[];
  employers: ContactOption[];
  departments: { name: string; label: string }[];
}

/** The validated fields of a contact, with the names its audit entry shows. */
interface ContactValues extends ContactFields {
  employerName: string | null;
  organizationName: string;
}

/**
 * Contacts (SPEC §2 "Contacts", §4 "Contacts"): people and organization contacts, each with a
 * home organization of the tree that scopes who may see it. A contact outside the session's
 * subtree does not exist for it (404); visible but not changeable is 403. Enable Access (a
 * contact's user) is `enable-access.service.ts`; the SQL is `contacts.queries.ts`, the form's
 * field rules `contact-form.ts`.
 */
@Injectable()
export class ContactsService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
    private readonly access: AccessService,
    private readonly treePanel: OrganizationTreePanel,
  ) {}

  // ---------------------------------------------------------------------------------------------
  // Reading
  // ---------------------------------------------------------------------------------------------

  /** The contact when the session may see it: 403 for sessions without contacts, 404 outside the scope. */
  private async visible(actor: Actor, id: number | null, em: EntityManager = this.em, lock = false): Promise<ContactDetails> {
    if (!canListContacts(actor)) throw new ForbiddenError();
    const contact = id === null ? null : await q.findContact(em, id, lock);
    if (!contact || !canSeeContact(actor, contact.organizationPath)) throw new NotFoundError();
    return contact;
  }

  /**
   * The contact when the session may change it: its home in scope and, for the contact of a user,
   * a user the session may act on (the contact's e-mail is where that user's credentials go).
   */
  private async manageable(actor: Actor, id: number | null, em: EntityManager = this.em, lock = false): Promise<ContactDetails> {
    const contact = await this.visible(actor, id, em, lock);
    if (!canManageContact(actor, contact.organizationPath)) throw new ForbiddenError('You may not change this contact.');
    if (!canManageContact(actor, contact.organizationPath, await this.linkedUser(contact))) {
      throw new ForbiddenError(`You may not change this contact: it belongs to the user ${contact.username}, whom you may not manage.`);
    }
    return contact;
  }

  /** The policy facts of the contact's user, or `null` for a contact without one. */
  private async linkedUser(contact: ContactDetails): Promise<UserTarget | null> {
    if (contact.userId === null) return null;
    return (await this.access.userTarget(contact.userId)) ?? null;
  }

  /** One page of the contacts list (organizations to filter by: `organizationTree`). */
  async list(actor: Actor, query: ContactListQuery) {
    if (!canListContacts(actor)) throw new ForbiddenError();
    const keys = SORT_KEYS[query.sort];
    const conditions: SqlCondition[] = [this.access.organizationsInScopeCondition(actor, 'o')];
    const search = textSearch(query.q, ['c.full_name', 'c.email']);
    if (search) conditions.push(search);
    if (query.kind) conditions.push({ sql: 'c.kind = ?', params: [query.kind] });
    let filterOrganization: OrganizationOption | null = null;
    if (query.organizationId != null) {
      const org = await q.findOrganization(this.em, query.organizationId);
      if (!org || !inScope(actor, org.path)) throw new NotFoundError();
      filterOrganization = { id: org.id, name: org.name, label: org.name };
      conditions.push({ sql: 'o.path like ?', params: [`${org.path}%`] });
    }
    const cursor = decodeCursor(query.after, keys);
    if (cursor) conditions.push(seekCondition(keys, cursor));
    const rows = await q.contactListPage(this.em, keys, allOf(conditions), query.size + 1);
    const { rows: visibleRows, next } = keysetPage(rows, query.size, (row) => encodeCursor(splitKeys(row, keys).values));
    return {
      rows: visibleRows.map(
        (r): ContactListRow => ({
          id: r.id,
          kind: r.kind,
          fullName: r.fullName,
          email: r.email,
          organizationId: r.organizationId,
          organizationName: r.organizationName,
          userId: r.userId,
          username: r.username,
          manageUsers: canManageUsersOfContact(actor, r.organizationPath),
        }),
      ),
      next,
      filterOrganization,
      can: { create: allows(actor, 'manage_contacts'), enableAccess: actor.isAdministrator || allows(actor, 'manage_users') },
    };
  }

  /**
   * The organization tree panel of the contacts list: the session's subtree (all of it for an
   * Administrator), see `OrganizationTreePanel`; its links filter by home organization and below.
   */
  async organizationTree(actor: Actor, selectedId: number | undefined, choicesVersion?: number | null): Promise<OrganizationTree> {
    if (!canListContacts(actor)) throw new ForbiddenError();
    return this.treePanel.tree(actor.isAdministrator ? null : actor.currentOrganization.organizationId, selectedId, choicesVersion);
  }

  /** The contact page: details and what the session may do with it. */
  async page(actor: Actor, id: number | null) {
    const contact = await this.visible(actor, id);
    const linkedUser = await this.linkedUser(contact);
    return {
      contact,
      employerVisible: contact.employerId !== null && contact.employerPath !== null && canSeeContact(actor, contact.employerPath),
      employeeCount: await q.employeeCount(this.em, contact.id),
      can: {
        manage: canManageContact(actor, contact.organizationPath, linkedUser),
        manageUsers: canManageUsersOfContact(actor, contact.organizationPath),
      },
    };
  }

  /** Locals of the create form: the kind and home organization it starts with, and the pull-downs. */
  async newForm(actor: Actor, kind: ContactKind, organizationId: number | null) {
    if (!canListContacts(actor)) throw new ForbiddenError();
    if (!allows(actor, 'manage_contacts')) throw new ForbiddenError('You may not create contacts.');
    const org = await q.findOrganization(this.em, organizationId ?? actor.currentOrganization.organizationId);
    if (!org || !inScope(actor, org.path)) throw new NotFoundError();
    return { kind, organizationId: org.id, options: await this.formOptions(actor, null, null) };
  }

  /** The edit form's contact and pull-downs. */
  async forEdit(actor: Actor, id: number | null) {
    const contact = await this.manageable(actor, id);
    const options = await this.formOptions(actor, contact.id, contact.department);
    // An employer outside the session's scope is kept (shown by name only, not linked).
    if (contact.employerId !== null && contact.employerName !== null && !options.employers.some((e) => e.id === contact.employerId)) {
      options.employers.unshift({ id: contact.employerId, name: contact.employerName });
    }
    return { contact, options };
  }

  /** Pull-down options for a create/edit form (also used to re-render a rejected form). */
  async formOptions(actor: Actor, contactId: number | null, currentDepartment: string | null): Promise<ContactFormOptions> {
    const employers = await q.employerOptions(this.em, this.access.organizationsInScopeCondition(actor, 'o'), contactId);
    const departments = await q.departmentNames(this.em);
    const options = departments.map((name) => ({ name, label: name }));
    if (currentDepartment && !departments.includes(currentDepartment)) {
      options.unshift({ name: currentDepartment, label: `${currentDepartment} (no longer in the list)` });
    }
    return { organizations: await this.organizationOptions(actor), employers, departments: options };
  }

  private async organizationOptions(actor: Actor): Promise<OrganizationOption[]> {
    const rows = await q.organizationsIn(this.em, this.access.organizationsInScopeCondition(actor, 'o'));
    const base = Math.min(...rows.map((r) => r.depth));
    return rows.map((r) => ({ id: r.id, name: r.name, label: `${'— '.repeat(Math.max(r.depth - base, 0))}${r.name}` }));
  }

  // ---------------------------------------------------------------------------------------------
  // Changing
  // ---------------------------------------------------------------------------------------------

  async create(actor: Actor, kind: ContactKind, input: ContactInput): Promise<{ id: number; fullName: string }> {
    if (!canListContacts(actor) || !allows(actor, 'manage_contacts')) throw new ForbiddenError('You may not create contacts.');
    const values = await this.validate(actor, kind, input, null);
    return this.em.transactional(async (tx) => {
      const id = await q.insertContact(tx, kind, values);
      await this.audit.record(
        actor,
        { action: 'contact.created', objectType: 'contact', objectId: id, objectLabel: values.fullName, changes: createdChanges(auditFields(kind, values)) },
        tx,
      );
      return { id, fullName: values.fullName };
    });
  }

  async update(actor: Actor, id: number | null, input: ContactInput): Promise<{ id: number; fullName: string }> {
    const current = await this.manageable(actor, id);
    const values = await this.validate(actor, current.kind, input, current);
    try {
      return await this.em.transactional(async (tx) => {
        const locked = await this.manageable(actor, current.id, tx, true);
        await q.updateContact(tx, locked.id, values);
        const changes = diffChanges(auditFields(locked.kind, snapshot(locked)), auditFields(locked.kind, values));
        if (changes) {
          await this.audit.record(actor, { action: 'contact.updated', objectType: 'contact', objectId: locked.id, objectLabel: values.fullName, changes }, tx);
        }
        return { id: locked.id, fullName: values.fullName };
      });
    } catch (error) {
      throw uniqueViolation(error, { users_email_unique: ['email', 'This e-mail address is already used by another user.'] }) ?? error;
    }
  }

  /** The delete confirmation: what keeps the contact (its user) and what changes with it (employees). */
  async forDelete(actor: Actor, id: number | null) {
    const contact = await this.manageable(actor, id);
    return { contact, employeeCount: await q.employeeCount(this.em, contact.id), blocker: contact.username ? hasUserMessage(contact) : null };
  }

  async delete(actor: Actor, id: number | null): Promise<{ fullName: string }> {
    await this.manageable(actor, id);
    return this.em.transactional(async (tx) => {
      // Locking the contact waits for a concurrent Enable Access (which locks it too).
      const contact = await this.manageable(actor, id, tx, true);
      if (contact.username) throw new BusinessRuleError('contact_has_user', hasUserMessage(contact));
      const count = await q.employeeCount(tx, contact.id);
      await q.deleteContact(tx, contact.id);
      await this.audit.record(
        actor,
        {
          action: 'contact.deleted',
          objectType: 'contact',
          objectId: contact.id,
          objectLabel: contact.fullName,
          changes: deletedChanges(auditFields(contact.kind, snapshot(contact))),
          detail: count > 0 ? `employer of ${count} contact${count === 1 ? '' : 's'}, whose employer was cleared` : undefined,
        },
        tx,
      );
      return { fullName: contact.fullName };
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Validation
  // ---------------------------------------------------------------------------------------------

  /** The form's field rules, then what needs the database: department, home, employer, e-mail of a user. */
  private async validate(actor: Actor, kind: ContactKind, input: ContactInput, current: ContactDetails | null): Promise<ContactValues> {
    const person = kind === 'person';
    const { text, errors } = checkContactFields(kind, input);

    let department: string | null = null;
    if (text.department) {
      const listed = await q.departmentNamed(this.em, text.department);
      if (listed !== null) department = listed;
      else if (current && current.department === text.department) department = current.department;
      else errors.department = 'Choose a department from the list.';
    }

    let organization: q.OrganizationRow | null = null;
    if (input.organizationId === null) {
      errors.organizationId = 'Choose a home organization.';
    } else {
      organization = await q.findOrganization(this.em, input.organizationId);
      // An organization outside the scope does not exist for this session (a forged form).
      if (!organization || !canManageContact(actor, organization.path)) throw new NotFoundError('The chosen home organization does not exist, or you may not use it.');
    }

    let employerId: number | null = null;
    let employerName: string | null = null;
    if (person && input.employerId !== null) {
      const employer = await q.findContact(this.em, input.employerId);
      // The current employer may stay even when it lies outside the session's scope.
      const keeps = employer !== null && employer.id === current?.employerId;
      if (!employer || (!keeps && !canSeeContact(actor, employer.organizationPath))) {
        throw new NotFoundError('The chosen employer does not exist, or you may not see it.');
      }
      if (employer.kind !== 'organization' || employer.id === current?.id) errors.employerId = 'Choose an organization contact as the employer.';
      employerId = employer.id;
      employerName = employer.fullName;
    }

    // The e-mail address of a user's contact is the user's: unique among users.
    if (!errors.email && text.email && current?.userId) Object.assign(errors, await uniquenessProblems(this.em, { email: text.email }, { contactId: current.id }, actor));

    if (Object.keys(errors).length > 0) throw new ValidationError(errors);
    return {
      firstName: text.firstName || null,
      lastName: text.lastName || null,
      fullName: text.fullName,
      email: text.email || null,
      mobile: text.mobile || null,
      phone: text.phone || null,
      department,
      jobTitle: text.jobTitle || null,
      employerId,
      employerName,
      organizationId: organization!.id,
      organizationName: organization!.name,
    };
  }
}

function snapshot(c: ContactDetails): ContactValues {
  return {
    firstName: c.firstName,
    lastName: c.lastName,
    fullName: c.fullName,
    email: c.email,
    mobile: c.mobile,
    phone: c.phone,
    department: c.department,
    jobTitle: c.jobTitle,
    employerId: c.employerId,
    employerName: c.employerName,
    organizationId: c.organizationId,
    organizationName: c.organizationName,
  };
}

/** The fields the audit log shows for a contact of this kind. */
function auditFields(kind: ContactKind, v: ContactValues): Record<string, unknown> {
  const common = { kind, email: v.email, organization: v.organizationName };
  if (kind === 'organization') return { ...common, name: v.fullName, phone: v.phone };
  return {
    ...common,
    firstName: v.firstName,
    lastName: v.lastName,
    fullName: v.fullName,
    mobile: v.mobile,
    department: v.department,
    jobTitle: v.jobTitle,
    employer: v.employerName,
  };
}

function hasUserMessage(contact: ContactDetails): string {
  return `${contact.fullName} has a user account (${contact.username}); delete the user first.`;
}
