import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Actor } from '../access/actor';
import { allows, canSeeContact } from '../access/policy';
import { AppError, BusinessRuleError, ForbiddenError, NotFoundError, ValidationError } from '../common/errors';
import { UserProvisioningService } from '../provisioning/provisioning.service';
import { canManageUsersOfContact } from './contact-policy';
import { ContactDetails, findContact } from './contacts.queries';

export interface BulkEnableResult {
  created: string[];
  skipped: string[];
}

/**
 * Enable Access (SPEC §4 "Enable Access"): the user of a contact, made by the provisioning core
 * with the username format and the defaults of Settings → Interface, a membership in the
 * contact's home organization and no password — for one contact, or for several selected in
 * the contacts list.
 */
@Injectable()
export class EnableAccessService {
  constructor(
    private readonly em: EntityManager,
    private readonly provisioning: UserProvisioningService,
  ) {}

  /** Creates the user of one contact, in one transaction with its audit entry. */
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
    const contact = await findContact(this.em, id);
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
    const contact = id === null ? null : await findContact(em, id, lock);
    if (!contact || !canSeeContact(actor, contact.organizationPath)) throw new NotFoundError();
    if (!canManageUsersOfContact(actor, contact.organizationPath)) throw new ForbiddenError('You may not manage the users of this contact.');
    return contact;
  }
}
