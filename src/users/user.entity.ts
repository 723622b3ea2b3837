import { Collection, Entity, ManyToMany, ManyToOne, OneToMany, OneToOne, Opt, PrimaryKey, Property } from '@mikro-orm/core';
import { Contact } from '../contacts/contact.entity';
import { LicenceType } from '../licences/licence-type.entity';
import { Membership } from '../organizations/membership.entity';
import { UserProfile } from '../profiles/user-profile.entity';
import { Role } from '../roles/role.entity';

export const LOCAL_PROVIDER = 'local';

/**
 * A system user, always created from exactly one contact (whose e-mail it uses). Username is
 * unique case-insensitively; `(provider, external_id)` is unique; the database copies the
 * contact's e-mail into `users.email` (trigger) so that e-mail uniqueness is a constraint too.
 */
@Entity({ tableName: 'users' })
export class User {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @OneToOne(() => Contact, { owner: true, unique: 'users_contact_unique', deleteRule: 'restrict' })
  contact!: Contact;

  @Property({ type: 'string', length: 100 })
  username!: string;

  @Property({ type: 'text', nullable: true, hidden: true, lazy: true })
  passwordHash: string | null = null;

  @Property({ type: 'string', length: 60 })
  provider: string & Opt = LOCAL_PROVIDER;

  @Property({ type: 'string', length: 200, nullable: true })
  externalId: string | null = null;

  @Property({ type: 'boolean' })
  enabled: boolean & Opt = true;

  @Property({ type: 'boolean' })
  mustChangePassword: boolean & Opt = false;

  /** When a generated initial password stops working; `null` for passwords the user chose. */
  @Property({ type: 'datetime', nullable: true })
  passwordExpiresAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  passwordChangedAt: Date | null = null;

  @Property({ type: 'integer' })
  failedLogins: number & Opt = 0;

  @Property({ type: 'datetime', nullable: true })
  lockedUntil: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  lastLoginAt: Date | null = null;

  /** When the login credentials are (or were) to be e-mailed: the users list's last column. */
  @Property({ type: 'datetime', nullable: true })
  passwordSendAt: Date | null = null;

  @Property({ type: 'string', length: 20, nullable: true })
  passwordSendStatus: 'pending' | 'sent' | 'failed' | null = null;

  @Property({ type: 'text', nullable: true })
  passwordSendError: string | null = null;

  /** Bumped to end every session of the user (password change, disable, "End sessions"). */
  @Property({ type: 'integer' })
  sessionVersion: number & Opt = 1;

  /** The built-in `admin`: cannot be deleted, disabled or stripped of the Administrator role. */
  @Property({ type: 'boolean' })
  builtIn: boolean & Opt = false;

  @ManyToOne(() => LicenceType, { nullable: true, deleteRule: 'restrict' })
  licence: LicenceType | null = null;

  @ManyToOne(() => UserProfile, { nullable: true, deleteRule: 'restrict' })
  profile: UserProfile | null = null;

  @ManyToMany({ entity: () => Role, pivotTable: 'user_roles', joinColumn: 'user_id', inverseJoinColumn: 'role_id' })
  roles = new Collection<Role>(this);

  @OneToMany(() => Membership, (m) => m.user)
  memberships = new Collection<Membership>(this);

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', defaultRaw: 'now()', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();

  isLocked(now = new Date()): boolean {
    return this.lockedUntil !== null && this.lockedUntil.getTime() > now.getTime();
  }
}
