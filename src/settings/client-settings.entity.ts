import { Collection, Entity, ManyToMany, ManyToOne, Opt, PrimaryKey, Property } from '@mikro-orm/core';
import { LicenceType } from '../licences/licence-type.entity';
import { UserProfile } from '../profiles/user-profile.entity';
import { Role } from '../roles/role.entity';

/** The deployment's client settings: exactly one row (id 1), shown in tabs on /settings. */
@Entity({ tableName: 'client_settings' })
export class ClientSettings {
  @PrimaryKey({ type: 'integer', autoincrement: false })
  id: number & Opt = 1;

  // Interface
  @Property({ type: 'string', length: 200 })
  usernameFormat: string & Opt = '{f}{lastname}';

  @ManyToMany({ entity: () => Role, pivotTable: 'client_settings_default_roles', joinColumn: 'settings_id', inverseJoinColumn: 'role_id' })
  defaultRoles = new Collection<Role>(this);

  @ManyToOne(() => UserProfile, { nullable: true, deleteRule: 'set null' })
  defaultProfile: UserProfile | null = null;

  @ManyToOne(() => LicenceType, { nullable: true, deleteRule: 'set null' })
  defaultLicence: LicenceType | null = null;

  // Authentication
  /** Login URL used in e-mails; `null` means PUBLIC_URL + /login. */
  @Property({ type: 'string', length: 500, nullable: true })
  loginUrl: string | null = null;

  // Password requirements
  @Property({ type: 'integer' })
  passwordMinLength: number & Opt = 8;

  @Property({ type: 'integer' })
  passwordMaxLength: number & Opt = 32;

  @Property({ type: 'boolean' })
  passwordRequireLetter: boolean & Opt = true;

  @Property({ type: 'boolean' })
  passwordRequireDigit: boolean & Opt = true;

  @Property({ type: 'boolean' })
  passwordRequireUpper: boolean & Opt = false;

  @Property({ type: 'boolean' })
  passwordRequireLower: boolean & Opt = false;

  @Property({ type: 'boolean' })
  passwordRequireSymbol: boolean & Opt = false;

  @Property({ type: 'boolean' })
  mustChangeAtFirstLogin: boolean & Opt = true;

  @Property({ type: 'integer' })
  initialPasswordValidityDays: number & Opt = 7;

  @Property({ type: 'integer' })
  lockoutThreshold: number & Opt = 5;

  @Property({ type: 'integer' })
  lockoutMinutes: number & Opt = 15;

  // Portal
  @Property({ type: 'boolean' })
  limitMemberVisibility: boolean & Opt = false;

  // Mail
  @Property({ type: 'string', length: 200, nullable: true })
  mailSenderName: string | null = null;

  @Property({ type: 'string', length: 254, nullable: true })
  mailSenderAddress: string | null = null;

  @Property({ type: 'string', length: 64 })
  timeZone: string & Opt = 'UTC';

  @Property({ type: 'datetime', defaultRaw: 'now()', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
