import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AccessService } from '../access/access.service';
import type { Actor } from '../access/actor';
import { UserTarget, allows, canManageContact, canSeeContact, inScope } from '../access/policy';
import { AuditService, createdChanges, deletedChanges, diffChanges } from '../audit/audit.service';
import { AppError, BusinessRuleError, FieldErrors, ForbiddenError, NotFoundError, ValidationError, uniqueViolation } from '../common/errors';
import { KeyColumns, decodeCursor, encodeCursor, keyColumns, keyOrder, keysetPage, seekCondition, splitKeys } from '../common/pagination';
import { SqlCondition, allOf, textSearch } from '../common/search';
import { UserProvisioningService } from '../users/user-provisioning.service';
import type { ContactKind } from './contact.entity';
import { ContactSort, SORT_KEYS } from './contact-list';
import { canListContacts, canManageUsersOfContact } from './contact-policy';


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

export interface ContactListRow {
  id: number;
  kind: ContactKind;
  fullName: string;
  email: string | null;
  organizationId: number;
  organizationName: string;
  userId: number | null;
  username: string | null;
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

export interface ContactDetails {
  id: number;
  kind: ContactKind;
  firstName: string | null;
  lastName: string | null;
  fullName: string;
  email: string | null;
  mobile: string | null;
  phone: string | null;
  department: string | null;
  jobTitle: string | null;
  employerId: number | null;
  employerName: string | null;
  employerPath: string | null;
  organizationId: number;
  organizationName: string;
  organizationPath: string;
  userId: number | null;
  username: string | null;
}

export interface ContactInput {
  firstName: string;
  lastName: string;
  fullName: string;
  email: string;
  mobile: string;
  phone: string;
  department: string;
  jobTitle: string;
  employerId: number | null;
  organizationId: number | null;
}

export interface ContactFormOptions {
  organizations: OrganizationOption[];
  employers: ContactOption[];
  departments: { name: string; label: string }[];
}

export interface BulkEnableResult {
  created: string[];
  skipped: string[];
}


const CONTACT_COLUMNS = `c.id, c.kind, c.first_name as "firstName", c.last_name as "lastName", c.full_name as "fullName", c.email,
  c.mobile, c.phone, c.department, c.job_title as "jobTitle", c.employer_id as "employerId",
  e.full_name as "employerName", eo.path as "employerPath",
  o.id as "organizationId", o.name as "organizationName", o.path as "organizationPath",
  u.id as "userId", u.username`;
const CONTACT_FROM = `contacts c
  join organizations o on o.id = c.organization_id
  left join contacts e on e.id = c.employer_id
  left join organizations eo on eo.id = e.organization_id
  left join users u on u.contact_id = c.id`;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^[0-9+()./\s-]{3,40}$/;
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Contacts (SPEC §2 "Contacts", §4 "Contacts", "Enable Access"): people and organization contacts,
 * each with a home organization of the tree that scopes who may see it. A contact outside the
 * session's subtree does not exist for it (404); visible but not changeable is 403.
 */
@Injectable()
export class ContactsService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
    private readonly access: AccessService,
    private readonly provisioning: UserProvisioningService,
  ) {}

  /** Raw SQL through the entity manager, which joins the transaction the call runs in (a connection's `execute` never does). */
  private get db() {
    return this.em;
  }

  // ---------------------------------------------------------------------------------------------
  // Reading
  // ---------------------------------------------------------------------------------------------

  private async find(id: number | null, em: EntityManager = this.em, lock = false): Promise<ContactDetails | null> {
    if (id === null) return null;
    const rows: ContactDetails[] = await em.execute(`select ${CONTACT_COLUMNS} from ${CONTACT_FROM} where c.id = ?${lock ? ' for update of c' : ''}`, [id]);
    return rows[0] ?? null;
  }

  /** The contact when the session may see it: 403 for sessions without contacts, 404 outside the scope. */
  private async visible(actor: Actor, id: number | null, em: EntityManager = this.em, lock = false): Promise<ContactDetails> {
    if (!canListContacts(actor)) throw new ForbiddenError();
    const contact = await this.find(id, em, lock);
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

  /** One page of the contacts list, with the organizations the filter offers. */
  async list(actor: Actor, query: ContactListQuery) {
    if (!canListContacts(actor)) throw new ForbiddenError();
    const keys = SORT_KEYS[query.sort];
    const conditions: SqlCondition[] = [this.access.organizationsInScopeCondition(actor, 'o')];
    const search = textSearch(query.q, ['c.full_name', 'c.email']);
    if (search) conditions.push(search);
    if (query.kind) conditions.push({ sql: 'c.kind = ?', params: [query.kind] });
    let filterOrganization: OrganizationOption | null = null;
    if (query.organizationId != null) {
      const [org]: { id: number; name: string; path: string }[] = await this.db.execute('select id, name, path from organizations where id = ?', [query.organizationId]);
      if (!org || !inScope(actor, org.path)) throw new NotFoundError();
      filterOrganization = { id: org.id, name: org.name, label: org.name };
      conditions.push({ sql: 'o.path like ?', params: [`${org.path}%`] });
    }
    const cursor = decodeCursor(query.after, keys);
    if (cursor) conditions.push(seekCondition(keys, cursor));
    const where = allOf(conditions);
    const rows: (Omit<ContactListRow, 'manageUsers'> & { organizationPath: string } & KeyColumns)[] = await this.db.execute(
      `select c.id, c.kind, c.full_name as "fullName", c.email, o.id as "organizationId", o.name as "organizationName", o.path as "organizationPath",
              u.id as "userId", u.username, ${keyColumns(keys)}
         from contacts c join organizations o on o.id = c.organization_id left join users u on u.contact_id = c.id
        where ${where.sql}
        order by ${keyOrder(keys)}
        limit ?`,
      [...where.params, query.size + 1],
    );
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
      organizations: await this.organizationOptions(actor),
      filterOrganization,
      can: { create: allows(actor, 'manage_contacts'), enableAccess: actor.isAdministrator || allows(actor, 'manage_users') },
    };
  }

  /** The contact page: details and what the session may do with it. */
  async page(actor: Actor, id: number | null) {
    const contact = await this.visible(actor, id);
    const linkedUser = await this.linkedUser(contact);
    const employees: { count: number }[] = await this.db.execute('select count(*)::int as count from contacts where employer_id = ?', [contact.id]);
    return {
      contact,
      employerVisible: contact.employerId !== null && contact.employerPath !== null && canSeeContact(actor, contact.employerPath),
      employeeCount: employees[0].count,
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
    const orgId = organizationId ?? actor.currentOrganization.organizationId;
    const [org]: { id: number; path: string }[] = await this.db.execute('select id, path from organizations where id = ?', [orgId]);
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
    const scope = this.access.organizationsInScopeCondition(actor, 'o');
    const employers: ContactOption[] = await this.db.execute(
      `select c.id, c.full_name as name from contacts c join organizations o on o.id = c.organization_id
        where c.kind = 'organization' and c.id <> ? and ${scope.sql}
        order by lower(c.full_name), c.id`,
      [contactId ?? 0, ...scope.params],
    );
    const departments: { name: string }[] = await this.db.execute('select name from departments order by lower(name)');
    const options = departments.map((d) => ({ name: d.name, label: d.name }));
    if (currentDepartment && !departments.some((d) => d.name === currentDepartment)) {
      options.unshift({ name: currentDepartment, label: `${currentDepartment} (no longer in the list)` });
    }
    return { organizations: await this.organizationOptions(actor), employers, departments: options };
  }

  private async organizationOptions(actor: Actor): Promise<OrganizationOption[]> {
    const scope = this.access.organizationsInScopeCondition(actor, 'o');
    const rows: { id: number; name: string; depth: number }[] = await this.db.execute(
      `select o.id, o.name, o.depth from organizations o where ${scope.sql} order by o.path`,
      scope.params,
    );
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
      const [created]: { id: number }[] = await tx.execute(
        `insert into contacts (kind, first_name, last_name, full_name, email, mobile, phone, department, job_title, employer_id, organization_id)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning id`,
        [
          kind,
          values.firstName,
          values.lastName,
          values.fullName,
          values.email,
          values.mobile,
          values.phone,
          values.department,
          values.jobTitle,
          values.employerId,
          values.organizationId,
        ],
      );
      await this.audit.record(
        actor,
        { action: 'contact.created', objectType: 'contact', objectId: created.id, objectLabel: values.fullName, changes: createdChanges(auditFields(kind, values)) },
        tx,
      );
      return { id: created.id, fullName: values.fullName };
    });
  }

  async update(actor: Actor, id: number | null, input: ContactInput): Promise<{ id: number; fullName: string }> {
    const current = await this.manageable(actor, id);
    const values = await this.validate(actor, current.kind, input, current);
    try {
      return await this.em.transactional(async (tx) => {
        const locked = await this.manageable(actor, current.id, tx, true);
        await tx.execute(
          `update contacts set first_name = ?, last_name = ?, full_name = ?, email = ?, mobile = ?, phone = ?, department = ?, job_title = ?,
                  employer_id = ?, organization_id = ?, updated_at = now()
            where id = ?`,
          [
            values.firstName,
            values.lastName,
            values.fullName,
            values.email,
            values.mobile,
            values.phone,
            values.department,
            values.jobTitle,
            values.employerId,
            values.organizationId,
            locked.id,
          ],
        );
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
    const [{ count }]: { count: number }[] = await this.db.execute('select count(*)::int as count from contacts where employer_id = ?', [contact.id]);
    return { contact, employeeCount: count, blocker: contact.username ? hasUserMessage(contact) : null };
  }

  async delete(actor: Actor, id: number | null): Promise<{ fullName: string }> {
    await this.manageable(actor, id);
    return this.em.transactional(async (tx) => {
      // Locking the contact waits for a concurrent Enable Access (which locks it too).
      const contact = await this.manageable(actor, id, tx, true);
      if (contact.username) throw new BusinessRuleError('contact_has_user', hasUserMessage(contact));
      const [{ count }]: { count: number }[] = await tx.execute('select count(*)::int as count from contacts where employer_id = ?', [contact.id]);
      await tx.execute('delete from contacts where id = ?', [contact.id]);
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
  // Enable Access
  // ---------------------------------------------------------------------------------------------

  /**
   * Creates the user of a contact (SPEC §4 "Enable Access") with the username format and the
   * defaults of Settings → Interface, a membership in the contact's home organization and no
   * password, in one transaction with its audit entry.
   */
  async enableAccess(actor: Actor, id: number | null): Promise<{ userId: number; username: string }> {
    await this.usersManageable(actor, id, this.em, false);
    try {
      return await this.em.transactional(async (tx) => {
        const contact = await this.usersManageable(actor, id, tx, true);
        if (contact.username) throw new BusinessRuleError('contact_has_user', `${contact.fullName} already has a user account (${contact.username}).`);
        const user = await this.provisioning.provision(actor, { contactId: contact.id, organizationId: contact.organizationId }, tx);
        return { userId: user.id, username: user.username };
      });
    } catch (error) {
      // The e-mail address of the contact is another user's already: a refusal, not a form.
      if (error instanceof ValidationError) throw new BusinessRuleError('enable_access_refused', `Access cannot be enabled: ${error.message}`, 409);
      throw error;
    }
  }

  /**
   * Enable Access for several contacts, each in its own transaction: what worked stays, every
   * contact that did not is named with its reason. Ids the session may not see are reported as
   * "not found" and nothing else.
   */
  async enableAccessBulk(actor: Actor, ids: number[]): Promise<BulkEnableResult> {
    if (!actor.isAdministrator && !allows(actor, 'manage_users')) throw new ForbiddenError('You may not manage users.');
    const unique = [...new Set(ids)];
    if (unique.length === 0) throw ValidationError.form('Select at least one contact.');
    const result: BulkEnableResult = { created: [], skipped: [] };
    for (const id of unique) {
      try {
        const user = await this.enableAccess(actor, id);
        result.created.push(user.username);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        result.skipped.push(await this.skipReason(actor, id, error));
      }
    }
    return result;
  }

  private async skipReason(actor: Actor, id: number, error: AppError): Promise<string> {
    if (error instanceof NotFoundError) return `Contact #${id}: not found.`;
    const contact = await this.find(id);
    const name = contact && canSeeContact(actor, contact.organizationPath) ? contact.fullName : `Contact #${id}`;
    if (error instanceof ForbiddenError) return `${name}: out of your scope (you may not manage its users).`;
    if (error.code === 'contact_has_user' && contact?.username) return `${name}: already has a user (${contact.username}).`;
    if (error.code === 'licence_full') return `${name}: ${error.message}`;
    if (error.code === 'username_empty') return `${name}: empty username. ${error.message}`;
    return `${name}: ${error.message}`;
  }

  /** The contact when the session may create or open its user: 404 when invisible, 403 when visible only. */
  private async usersManageable(actor: Actor, id: number | null, em: EntityManager, lock: boolean): Promise<ContactDetails> {
    if (!actor.isAdministrator && !allows(actor, 'manage_users')) throw new ForbiddenError('You may not manage users.');
    const contact = await this.find(id, em, lock);
    if (!contact || !canSeeContact(actor, contact.organizationPath)) throw new NotFoundError();
    if (!canManageUsersOfContact(actor, contact.organizationPath)) throw new ForbiddenError('You may not manage the users of this contact.');
    return contact;
  }

  // ---------------------------------------------------------------------------------------------
  // Validation
  // ---------------------------------------------------------------------------------------------

  private async validate(actor: Actor, kind: ContactKind, input: ContactInput, current: ContactDetails | null): Promise<ContactValues> {
    const errors: FieldErrors = {};
    const person = kind === 'person';
    const firstName = person ? input.firstName.trim() : '';
    const lastName = person ? input.lastName.trim() : '';
    let fullName = input.fullName.trim();
    if (person) {
      check(errors, 'firstName', firstName, 100);
      check(errors, 'lastName', lastName, 100);
      if (!fullName) fullName = [firstName, lastName].filter(Boolean).join(' ');
      if (!fullName && !errors.firstName && !errors.lastName) errors.firstName = 'Enter a first name, a last name or a full name.';
    } else if (!fullName) {
      errors.fullName = 'Enter the name of the organization contact.';
    }
    check(errors, 'fullName', fullName, 200);
    const email = input.email.trim();
    if (email && (email.length > 254 || !EMAIL.test(email))) errors.email = 'Enter an e-mail address like name@example.org.';
    const mobile = person ? input.mobile.trim() : '';
    if (mobile && !PHONE.test(mobile)) errors.mobile = 'Enter a mobile number of digits, spaces and + ( ) - . / (at most 40 characters).';
    const phone = person ? '' : input.phone.trim();
    if (phone && !PHONE.test(phone)) errors.phone = 'Enter a phone number of digits, spaces and + ( ) - . / (at most 40 characters).';
    const jobTitle = person ? input.jobTitle.trim() : '';
    check(errors, 'jobTitle', jobTitle, 100);

    let department: string | null = null;
    const typedDepartment = person ? input.department.trim() : '';
    if (typedDepartment) {
      const [row]: { name: string }[] = await this.db.execute('select name from departments where lower(name) = lower(?)', [typedDepartment]);
      if (row) department = row.name;
      else if (current && current.department === typedDepartment) department = current.department;
      else errors.department = 'Choose a department from the list.';
    }

    let organizationId: number | null = null;
    if (input.organizationId === null) {
      errors.organizationId = 'Choose a home organization.';
    } else {
      const [org]: { id: number; path: string }[] = await this.db.execute('select id, path from organizations where id = ?', [input.organizationId]);
      // An organization outside the scope does not exist for this session (a forged form).
      if (!org || !canManageContact(actor, org.path)) throw new NotFoundError('The chosen home organization does not exist, or you may not use it.');
      organizationId = org.id;
    }

    let employerId: number | null = null;
    let employerName: string | null = null;
    if (person && input.employerId !== null) {
      const employer = await this.find(input.employerId);
      // The current employer may stay even when it lies outside the session's scope.
      const keeps = employer !== null && employer.id === current?.employerId;
      if (!employer || (!keeps && !canSeeContact(actor, employer.organizationPath))) {
        throw new NotFoundError('The chosen employer does not exist, or you may not see it.');
      }
      if (employer.kind !== 'organization' || employer.id === current?.id) errors.employerId = 'Choose an organization contact as the employer.';
      employerId = employer.id;
      employerName = employer.fullName;
    }

    if (!errors.email && email && current?.userId) {
      const [other]: { username: string }[] = await this.db.execute('select username from users where lower(email) = lower(?) and contact_id <> ?', [email, current.id]);
      if (other) errors.email = `The e-mail address ${email} is already used by the user ${other.username}.`;
    }

    if (Object.keys(errors).length > 0) throw new ValidationError(errors);
    const [org]: { name: string }[] = await this.db.execute('select name from organizations where id = ?', [organizationId]);
    return {
      firstName: firstName || null,
      lastName: lastName || null,
      fullName,
      email: email || null,
      mobile: mobile || null,
      phone: phone || null,
      department,
      jobTitle: jobTitle || null,
      employerId,
      employerName,
      organizationId: organizationId!,
      organizationName: org.name,
    };
  }
}

interface ContactValues {
  firstName: string | null;
  lastName: string | null;
  fullName: string;
  email: string | null;
  mobile: string | null;
  phone: string | null;
  department: string | null;
  jobTitle: string | null;
  employerId: number | null;
  employerName: string | null;
  organizationId: number;
  organizationName: string;
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

function check(errors: FieldErrors, field: string, value: string, max: number): void {
  if (errors[field]) return;
  if (value.length > max) errors[field] = `Use at most ${max} characters.`;
  else if (CONTROL.test(value)) errors[field] = 'This contains characters that cannot be used.';
}

function hasUserMessage(contact: ContactDetails): string {
  return `${contact.fullName} has a user account (${contact.username}); delete the user first.`;
}
