import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Actor } from '../access/actor';
import { PERMISSIONS } from '../access/permissions';
import { AuditService } from '../audit/audit.service';
import { accountRefusal } from '../auth/auth.service';
import { AppError } from '../common/errors';
import { LicenceFullError } from '../licences/licence-seats';
import { User } from '../users/user.entity';
import { insertPersonContact } from '../provisioning/provisioning.queries';
import { UserProvisioningService, uniquenessProblems } from '../provisioning/provisioning.service';
import { usernameProblem } from '../users/username-format';
import { IdentityProvider } from './identity-provider.entity';
import { updateProvidedAttributes, userIdByExternalId } from './sso.queries';
import { isEmail } from '../people/person-rules';

/** What an identity provider vouched for, whatever the protocol (OIDC claims, SAML attributes). */
export interface ProviderIdentity {
  /** The configured claim/attribute (default `sub` / NameID): matched with `users.external_id`. */
  externalId: string;
  email: string | null;
  username: string | null;
  firstName: string | null;
  lastName: string | null;
  /** Values of the claim/attribute that picks the home organization of a just-in-time user. */
  organizationValues: string[];
}

/**
 * A single sign-on refused. `message` is for the person; the audit entry has the reason. Shown
 * on the login page, so it tells only what the person may know: an account's state only once
 * the provider vouched for them.
 */
export class SsoRefusedError extends AppError {
  constructor(code: string, message: string) {
    super(code, message, 403);
  }
}

/**
 * The protocol-neutral half of single sign-on: after a protocol proved an identity, find its
 * user by provider key and external id — **never** by e-mail or username —, create it just in
 * time when the provider allows that, apply Tessera's sign-in rules and audit the outcome.
 * Every refusal, including the protocol's own (`refuse`), is one audit entry with the reason.
 */
@Injectable()
export class SsoSignInService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
    private readonly provisioning: UserProvisioningService,
  ) {}

  /** The enabled provider with this key, or `null`. */
  async enabledProvider(key: string): Promise<IdentityProvider | null> {
    return this.em.fork().findOne(IdentityProvider, { key, enabled: true }, { populate: ['secretSealed'] });
  }

  /** Records a refusal of the protocol step (bad state, wrong nonce…) and returns the error to throw. */
  async refuse(provider: { key: string; label: string } | null, ip: string | null, code: string, message: string, detail: string): Promise<SsoRefusedError> {
    await this.audit.write(
      { actorName: null, ip },
      { action: 'login.failure', objectType: 'identity_provider', objectLabel: provider?.key ?? undefined, detail: `single sign-on${provider ? ` with ${provider.key}` : ''}: ${detail}` },
    );
    return new SsoRefusedError(code, message);
  }

  async signIn(provider: IdentityProvider, identity: ProviderIdentity, ip: string | null): Promise<User> {
    const em = this.em.fork();
    let userId = await userIdByExternalId(em, provider.key, identity.externalId);
    let created = false;
    if (userId === null) {
      if (!provider.jitEnabled) {
        throw await this.refuse(
          provider,
          ip,
          'sso_unknown_identity',
          `${provider.label} signed you in, but no Tessera account is linked to that identity. Ask an administrator to create your account with provider ${provider.key}.`,
          `unknown identity ${JSON.stringify(identity.externalId)} (just-in-time creation is off)`,
        );
      }
      userId = await this.createJustInTime(em, provider, identity, ip);
      created = true;
    }

    const user = await em.findOneOrFail(User, { id: userId }, { populate: ['roles', 'profile', 'memberships', 'contact'], refresh: true });
    const source = { actorId: user.id, actorName: user.username, ip };
    const target = { objectType: 'user', objectId: user.id, objectLabel: user.username };
    const refusal = accountRefusal({ enabled: user.enabled, hasRole: user.roles.count() > 0, hasProfile: user.profile !== null && user.profile !== undefined, hasMembership: user.memberships.count() > 0 });
    if (refusal) {
      await this.audit.write(source, { action: 'login.refused', ...target, detail: `single sign-on with ${provider.key}: ${refusal.detail}` });
      throw new SsoRefusedError(refusal.code, refusal.message);
    }
    if (provider.updateAttributes && !created) await this.updateAttributes(em, provider, user, identity, ip);
    user.lastLoginAt = new Date();
    await em.flush();
    await this.audit.write(source, { action: 'login.success', ...target, detail: `single sign-on with ${provider.key}` });
    return user;
  }

  /**
   * Creates the contact and user of an unknown identity in its home organization, through the
   * one provisioning core (default roles, profile, licence and its seat check, username rules).
   * An e-mail address that another user already has is refused, never adopted.
   */
  private async createJustInTime(em: EntityManager, provider: IdentityProvider, identity: ProviderIdentity, ip: string | null): Promise<number> {
    const organizationId = homeOrganization(provider, identity.organizationValues);
    if (organizationId === null) {
      throw await this.refuse(
        provider,
        ip,
        'sso_no_home_organization',
        `${provider.label} signed you in, but Tessera cannot tell which organization your new account belongs to. Ask an administrator.`,
        `just-in-time creation of ${JSON.stringify(identity.externalId)}: no home organization for ${JSON.stringify(identity.organizationValues)}`,
      );
    }
    // An address that is no e-mail address (the person rules of every form) is not kept.
    const offered = identity.email?.trim() || null;
    const email = offered && isEmail(offered) ? offered : null;
    const claimed = identity.username?.trim() ?? '';
    const taken = await uniquenessProblems(em, { email, username: claimed !== '' && usernameProblem(claimed) === null ? claimed : null });
    if (taken.email) {
      throw await this.refuse(
        provider,
        ip,
        'sso_email_taken',
        `${provider.label} signed you in, but a Tessera account that is not linked to this identity already uses the e-mail address ${email}. Ask an administrator to link it.`,
        `just-in-time creation of ${JSON.stringify(identity.externalId)}: e-mail ${email} belongs to another user`,
      );
    }
    const firstName = identity.firstName?.trim() || null;
    const lastName = identity.lastName?.trim() || null;
    const fullName = [firstName, lastName].filter(Boolean).join(' ') || email || identity.username || identity.externalId;
    // A username the provider suggests is taken when it is free and valid; otherwise the format makes one.
    const username = claimed !== '' && usernameProblem(claimed) === null && !taken.username ? claimed : undefined;
    try {
      return await em.transactional(async (tx) => {
        const contactId = await insertPersonContact(
          tx,
          { firstName, lastName, fullName: fullName.slice(0, 200), email, mobile: null, department: null, jobTitle: null },
          organizationId,
        );
        const user = await this.provisioning.provision(
          providerActor(provider, ip),
          { contactId, organizationId, username, provider: provider.key, externalId: identity.externalId, auditFields: { createdBy: `single sign-on with ${provider.key}` } },
          tx,
        );
        return user.id;
      });
    } catch (error) {
      if (error instanceof LicenceFullError) {
        throw await this.refuse(
          provider,
          ip,
          'sso_licence_full',
          `${provider.label} signed you in, but Tessera cannot create your account: ${error.message} Ask an administrator.`,
          `just-in-time creation of ${JSON.stringify(identity.externalId)}: ${error.message}`,
        );
      }
      if (error instanceof AppError) {
        throw await this.refuse(
          provider,
          ip,
          'sso_creation_refused',
          `${provider.label} signed you in, but Tessera cannot create your account: ${error.message}`,
          `just-in-time creation of ${JSON.stringify(identity.externalId)}: ${error.message}`,
        );
      }
      throw error;
    }
  }

  /** Copies name and e-mail from the provider; an e-mail another user has stays unchanged. */
  private async updateAttributes(em: EntityManager, provider: IdentityProvider, user: User, identity: ProviderIdentity, ip: string | null): Promise<void> {
    const contact = user.contact;
    const before = { firstName: contact.firstName, lastName: contact.lastName, email: contact.email };
    const firstName = identity.firstName?.trim() || contact.firstName;
    const lastName = identity.lastName?.trim() || contact.lastName;
    const offered = identity.email?.trim() || null;
    let email = offered && isEmail(offered) ? offered : contact.email;
    if (email && email.toLowerCase() !== (contact.email ?? '').toLowerCase()) {
      if ((await uniquenessProblems(em, { email }, { userId: user.id })).email) email = contact.email;
    }
    if (firstName === before.firstName && lastName === before.lastName && email === before.email) return;
    await em.transactional(async (tx) => {
      await updateProvidedAttributes(tx, contact.id, { firstName, lastName, email }, [before.firstName, before.lastName].filter(Boolean).join(' '));
      const changes = Object.fromEntries(
        Object.entries({ firstName, lastName, email })
          .filter(([k, v]) => v !== before[k as keyof typeof before])
          .map(([k, v]) => [k, { from: before[k as keyof typeof before] ?? null, to: v ?? null }]),
      );
      await this.audit.write(
        { actorName: `${provider.key} (identity provider)`, ip },
        { action: 'contact.updated', objectType: 'contact', objectId: contact.id, objectLabel: user.username, changes, detail: `attributes from ${provider.key} at sign-in` },
        tx,
      );
    });
    await em.refresh(contact);
  }
}

/**
 * The home organization of a just-in-time user: the fixed one, or the first claim value with a
 * mapping line (the fixed one when none matches). Pure; `null` when there is none.
 */
export function homeOrganization(
  provider: Pick<IdentityProvider, 'jitOrganizationMode' | 'jitOrganizationRules' | 'jitOrganization'>,
  values: string[],
): number | null {
  if (provider.jitOrganizationMode === 'claim') {
    for (const value of values) {
      const rule = provider.jitOrganizationRules.find((r) => r.value.toLowerCase() === value.trim().toLowerCase());
      if (rule) return rule.organizationId;
    }
  }
  return provider.jitOrganization?.id ?? null;
}

/**
 * The actor of a just-in-time creation: the identity provider, acting with the rights an
 * Administrator gave it by turning creation on (any organization; the default roles). Its audit
 * entries name the provider; there is no user behind it (`userId` 0).
 */
function providerActor(provider: IdentityProvider, ip: string | null): Actor {
  const global = { organizationId: 0, organizationName: 'Global', path: '/', isAdmin: true };
  return {
    userId: 0,
    username: `${provider.key} (identity provider)`,
    displayName: provider.label,
    ip,
    currentOrganization: global,
    memberships: [global],
    permissions: new Set(PERMISSIONS),
    hasAdministratorRole: true,
    isAdministrator: true,
    isOrganizationAdmin: true,
    startPage: 'administrator',
    mustChangePassword: false,
  };
}
