import { Entity, ManyToOne, Opt, PrimaryKey, Property } from '@mikro-orm/core';
import { Organization } from '../organizations/organization.entity';

export const PROVIDER_KINDS = ['oidc', 'saml'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/** How just-in-time creation picks the home organization of a new user. */
export type JitOrganizationMode = 'fixed' | 'claim';

/** One line of the claim mapping: a claim/attribute value → an organization. */
export interface JitOrganizationRule {
  value: string;
  organizationId: number;
}

/**
 * An identity provider users sign in through (SPEC §6). `key` is what a user's `provider` holds
 * (e.g. `azure`; `local` is Tessera's own passwords); the protocol-specific part lives in
 * `settings` (see `protocols.ts`), so that the table serves every protocol. `secretSealed` is the
 * client secret (or another protocol's secret) sealed by `SecretBox`, never shown again.
 */
@Entity({ tableName: 'identity_providers' })
export class IdentityProvider {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 60 })
  key!: string;

  @Property({ type: 'string', length: 100 })
  label!: string;

  @Property({ type: 'string', length: 10 })
  kind!: ProviderKind;

  @Property({ type: 'boolean' })
  enabled: boolean & Opt = true;

  /** Protocol settings: OIDC issuer, client id, scopes, claims; SAML metadata, attributes. */
  @Property({ type: 'json' })
  settings: Record<string, unknown> & Opt = {};

  @Property({ type: 'text', nullable: true, hidden: true })
  secretSealed: string | null = null;

  /** SAML: Tessera's signing key for this provider (logout messages), sealed like the secret; made when first needed. */
  @Property({ type: 'text', nullable: true, hidden: true })
  spKeySealed: string | null = null;

  /** SAML: the self-signed certificate of that key (PEM), published in Tessera's SP metadata. */
  @Property({ type: 'text', nullable: true })
  spCertificate: string | null = null;

  /** Just-in-time creation of unknown identities (off by default). */
  @Property({ type: 'boolean' })
  jitEnabled: boolean & Opt = false;

  @Property({ type: 'string', length: 10 })
  jitOrganizationMode: JitOrganizationMode & Opt = 'fixed';

  /** The home organization of new users (`fixed`), or the fallback when no rule matches (`claim`). */
  @ManyToOne(() => Organization, { nullable: true, deleteRule: 'set null' })
  jitOrganization: Organization | null = null;

  /** Claim (OIDC) or attribute (SAML) whose value picks the organization (`claim`). */
  @Property({ type: 'string', length: 200, nullable: true })
  jitOrganizationClaim: string | null = null;

  @Property({ type: 'json' })
  jitOrganizationRules: JitOrganizationRule[] & Opt = [];

  /** Copy name and e-mail from the provider at each sign-in. */
  @Property({ type: 'boolean' })
  updateAttributes: boolean & Opt = false;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', defaultRaw: 'now()', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
