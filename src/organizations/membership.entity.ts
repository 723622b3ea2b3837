import { Entity, ManyToOne, Opt, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Organization } from './organization.entity';
import { User } from '../users/user.entity';

/** A user's membership in an organization; `isAdmin` makes them its organization administrator. */
@Entity({ tableName: 'memberships' })
@Unique({ name: 'memberships_user_organization_unique', properties: ['user', 'organization'] })
export class Membership {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: User;

  @ManyToOne(() => Organization, { deleteRule: 'restrict' })
  organization!: Organization;

  @Property({ type: 'boolean' })
  isAdmin: boolean & Opt = false;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date & Opt = new Date();
}
