import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { ValidationError } from '../common/errors';
import { Membership } from '../organizations/membership.entity';
import { Organization } from '../organizations/organization.entity';

/** The session's organization: which memberships a user may choose from. */
@Injectable()
export class SessionService {
  constructor(private readonly em: EntityManager) {}

  async memberships(userId: number) {
    const memberships = await this.em.find(Membership, { user: userId }, { populate: ['organization'], orderBy: { organization: { path: 'asc' } } });
    return memberships.map((m) => ({ id: m.organization.id, name: m.organization.name, path: m.organization.path, isAdmin: m.isAdmin }));
  }

  /** The organization `organizationId` when the user is a member of it; a form error otherwise. */
  async membershipOrganization(userId: number, organizationId: number | null): Promise<Organization> {
    const membership =
      organizationId === null ? null : await this.em.findOne(Membership, { user: userId, organization: organizationId }, { populate: ['organization'] });
    if (!membership) throw ValidationError.form('Choose one of your organizations.');
    return membership.organization;
  }
}
