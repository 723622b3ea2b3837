import { Entity, ManyToOne, Opt, PrimaryKey, Property } from '@mikro-orm/core';
import { Organization } from '../organizations/organization.entity';

export type ContactKind = 'person' | 'organization';

/**
 * A person or an organization contact (a company such as a supplier; the UI always says
 * "Organization contact" so it is never confused with the organization tree). Every contact has a
 * home organization of the tree, which decides who may see it.
 */
@Entity({ tableName: 'contacts' })
export class Contact {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 20 })
  kind: ContactKind & Opt = 'person';

  @Property({ type: 'string', length: 100, nullable: true })
  firstName: string | null = null;

  @Property({ type: 'string', length: 100, nullable: true })
  lastName: string | null = null;

  /** The person's full name, or the organization contact's name. */
  @Property({ type: 'string', length: 200 })
  fullName!: string;

  @Property({ type: 'string', length: 254, nullable: true })
  email: string | null = null;

  @Property({ type: 'string', length: 40, nullable: true })
  mobile: string | null = null;

  @Property({ type: 'string', length: 40, nullable: true })
  phone: string | null = null;

  @Property({ type: 'string', length: 100, nullable: true })
  department: string | null = null;

  @Property({ type: 'string', length: 100, nullable: true })
  jobTitle: string | null = null;

  @ManyToOne(() => Contact, { nullable: true, deleteRule: 'set null' })
  employer: Contact | null = null;

  @ManyToOne(() => Organization, { deleteRule: 'restrict' })
  organization!: Organization;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', defaultRaw: 'now()', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
