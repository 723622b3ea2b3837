import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Actor } from '../access/actor';
import { canManageIdentityProviders } from '../access/policy';
import { AuditService, createdChanges, deletedChanges, diffChanges } from '../audit/audit.service';
import { BusinessRuleError, FieldErrors, ForbiddenError, NotFoundError, ValidationError, uniqueViolation } from '../common/errors';
import { text } from '../common/form';
import { organizationPaths } from '../imports/import-store';
import { LOCAL_PROVIDER } from '../users/user.entity';
import { IdentityProvider, JitOrganizationMode, JitOrganizationRule, PROVIDER_KINDS, ProviderKind } from './identity-provider.entity';
import { protocolOf } from './protocols';
import { SamlKeysService, SpCertificateView } from './saml/saml-keys.service';
import { SecretBox } from './secret-box';
import { countUsersOfProvider, providerKeyTaken } from './sso.queries';

const KEY = /^[a-z0-9][a-z0-9._-]*$/;
const KEY_TAKEN = 'Another identity provider already has this key.';
const UNIQUE_KEY = { identity_providers_key_unique: ['key', KEY_TAKEN] as [string, string] };

export interface OrganizationChoice {
  id: number;
  label: string;
}

/** What the list and the edit page show of a provider (never its secret). */
export interface ProviderView {
  id: number;
  key: string;
  label: string;
  kind: ProviderKind;
  kindName: string;
  enabled: boolean;
  jitEnabled: boolean;
  hasSecret: boolean;
  userCount: number;
}

/** The edit page's view: the form values and, for SAML, Tessera's signing certificate. */
export interface ProviderDetails extends ProviderView {
  values: Record<string, string>;
  spCertificate: SpCertificateView | null;
}

/**
 * Settings → Authentication → Identity providers: add, edit, disable, delete. Only an
 * Administrator signed in to Global (`canManageIdentityProviders`), checked first in every
 * method. The key may change only while no user has it, so that a rename never cuts users off
 * their provider; for the same reason a provider with users is disabled, not deleted.
 */
@Injectable()
export class IdentityProvidersService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
    private readonly secrets: SecretBox,
    private readonly samlKeys: SamlKeysService,
  ) {}

  private assertAllowed(actor: Actor): void {
    if (!canManageIdentityProviders(actor)) throw new ForbiddenError('Only Administrators signed in to Global may configure identity providers.');
  }

  async list(actor: Actor): Promise<ProviderView[]> {
    this.assertAllowed(actor);
    const providers = await this.em.find(IdentityProvider, {}, { orderBy: { label: 'asc', key: 'asc' }, populate: ['secretSealed'] });
    return Promise.all(providers.map((p) => this.view(p)));
  }

  async details(actor: Actor, id: number): Promise<ProviderDetails> {
    this.assertAllowed(actor);
    const provider = await this.em.findOne(IdentityProvider, { id }, { populate: ['secretSealed'], refresh: true });
    if (!provider) throw new NotFoundError();
    // A provider added before single logout gets its key here at the latest.
    const spCertificate = provider.kind === 'saml' ? SamlKeysService.describe((await this.samlKeys.keysOf(provider)).certificatePem) : null;
    return { ...(await this.view(provider)), values: await this.formValues(provider), spCertificate };
  }

  /** The organizations offered as home of just-in-time users, by their path of names. */
  async organizationChoices(actor: Actor): Promise<OrganizationChoice[]> {
    this.assertAllowed(actor);
    const orgs = await organizationPaths(this.em);
    return orgs.map((o) => ({ id: o.id, label: o.namePath === '' ? o.name : o.namePath }));
  }

  async create(actor: Actor, kind: string, body: Record<string, unknown>): Promise<{ id: number; label: string }> {
    this.assertAllowed(actor);
    const protocol = protocolOf(kind);
    if (!protocol) throw ValidationError.single('kind', `Choose the kind of provider: ${PROVIDER_KINDS.join(' or ')}.`);
    const early: FieldErrors = {};
    const prepared = protocol.prepare ? await protocol.prepare(body, early) : body;
    try {
      return await this.em.transactional(async (tx) => {
        const input = await this.read(tx, kind as ProviderKind, prepared, null, early);
        // SAML: Tessera's signing key of this provider, for single logout (SP metadata and logout messages).
        const spKeys = kind === 'saml' ? await this.samlKeys.newKeys(input.fields.key) : {};
        const provider = tx.create(IdentityProvider, { ...input.fields, ...spKeys, kind: kind as ProviderKind, secretSealed: input.secret === null ? null : this.secrets.seal(input.secret) });
        await tx.flush();
        await this.audit.record(
          actor,
          { action: 'identity_provider.created', objectType: 'identity_provider', objectId: provider.id, objectLabel: provider.key, changes: createdChanges(snapshot(provider)) },
          tx,
        );
        return { id: provider.id, label: provider.label };
      });
    } catch (error) {
      throw uniqueViolation(error, UNIQUE_KEY) ?? error;
    }
  }

  async update(actor: Actor, id: number, body: Record<string, unknown>): Promise<{ id: number; label: string; changed: boolean }> {
    this.assertAllowed(actor);
    const kind = (await this.em.fork().findOne(IdentityProvider, { id }))?.kind;
    if (!kind) throw new NotFoundError();
    const protocol = protocolOf(kind)!;
    const early: FieldErrors = {};
    const prepared = protocol.prepare ? await protocol.prepare(body, early) : body;
    try {
      return await this.em.transactional(async (tx) => {
        const provider = await tx.findOne(IdentityProvider, { id }, { populate: ['secretSealed'], refresh: true });
        if (!provider) throw new NotFoundError();
        const before = snapshot(provider);
        const input = await this.read(tx, provider.kind, prepared, provider, early);
        if (input.fields.key !== provider.key && (await countUsersOfProvider(tx, provider.key)) > 0) {
          throw ValidationError.single('key', `Users sign in with the key "${provider.key}": it cannot change while they have it.`);
        }
        tx.assign(provider, input.fields);
        if (input.secret !== null) provider.secretSealed = this.secrets.seal(input.secret);
        const changes = diffChanges(before, snapshot(provider));
        await tx.flush();
        if (changes) {
          await this.audit.record(actor, { action: 'identity_provider.updated', objectType: 'identity_provider', objectId: provider.id, objectLabel: provider.key, changes }, tx);
        }
        return { id: provider.id, label: provider.label, changed: changes !== null };
      });
    } catch (error) {
      throw uniqueViolation(error, UNIQUE_KEY) ?? error;
    }
  }

  async setEnabled(actor: Actor, id: number, enabled: boolean): Promise<{ label: string }> {
    this.assertAllowed(actor);
    return this.em.transactional(async (tx) => {
      const provider = await tx.findOne(IdentityProvider, { id }, { refresh: true });
      if (!provider) throw new NotFoundError();
      if (provider.enabled !== enabled) {
        provider.enabled = enabled;
        await tx.flush();
        await this.audit.record(
          actor,
          {
            action: enabled ? 'identity_provider.enabled' : 'identity_provider.disabled',
            objectType: 'identity_provider',
            objectId: provider.id,
            objectLabel: provider.key,
            changes: { enabled: { from: !enabled, to: enabled } },
          },
          tx,
        );
      }
      return { label: provider.label };
    });
  }

  /** Deletes a provider no user signs in with (otherwise disable it: its users would be stranded). */
  async remove(actor: Actor, id: number): Promise<{ label: string }> {
    this.assertAllowed(actor);
    return this.em.transactional(async (tx) => {
      const provider = await tx.findOne(IdentityProvider, { id }, { refresh: true });
      if (!provider) throw new NotFoundError();
      const users = await countUsersOfProvider(tx, provider.key);
      if (users > 0) {
        throw new BusinessRuleError(
          'identity_provider_in_use',
          `${provider.label} cannot be deleted: ${users === 1 ? '1 user signs' : `${users} users sign`} in with it. Disable it instead, or move the users to another provider first.`,
        );
      }
      const gone = snapshot(provider);
      tx.remove(provider);
      await tx.flush();
      await this.audit.record(actor, { action: 'identity_provider.deleted', objectType: 'identity_provider', objectId: id, objectLabel: gone.key as string, changes: deletedChanges(gone) }, tx);
      return { label: gone.label as string };
    });
  }

  private async view(p: IdentityProvider): Promise<ProviderView> {
    return {
      id: p.id,
      key: p.key,
      label: p.label,
      kind: p.kind,
      kindName: protocolOf(p.kind)?.name ?? p.kind,
      enabled: p.enabled,
      jitEnabled: p.jitEnabled,
      hasSecret: p.secretSealed !== null,
      userCount: await countUsersOfProvider(this.em, p.key),
    };
  }

  private async formValues(p: IdentityProvider): Promise<Record<string, string>> {
    const orgs = new Map((await organizationPaths(this.em)).map((o) => [o.id, o.namePath === '' ? o.name : o.namePath] as const));
    return {
      key: p.key,
      label: p.label,
      enabled: p.enabled ? 'yes' : 'no',
      jitEnabled: p.jitEnabled ? 'yes' : 'no',
      jitOrganizationMode: p.jitOrganizationMode,
      jitOrganizationId: p.jitOrganization ? String(p.jitOrganization.id) : '',
      jitOrganizationClaim: p.jitOrganizationClaim ?? '',
      jitOrganizationRules: p.jitOrganizationRules.map((r) => `${r.value} = ${orgs.get(r.organizationId) ?? '?'}`).join('\n'),
      updateAttributes: p.updateAttributes ? 'yes' : 'no',
      ...(protocolOf(p.kind)?.values(p.settings) ?? {}),
    };
  }

  /** Reads and checks the whole form; every problem at once, as field messages. */
  private async read(tx: EntityManager, kind: ProviderKind, body: Record<string, unknown>, existing: IdentityProvider | null, early: FieldErrors = {}) {
    const protocol = protocolOf(kind)!;
    const errors: FieldErrors = { ...early };
    const key = text(body, 'key').toLowerCase();
    if (key === '') errors.key = 'Enter the provider key: the name users and the import\'s Provider column use, e.g. "azure".';
    else if (key === LOCAL_PROVIDER) errors.key = '"local" is Tessera\'s own passwords; choose another key.';
    else if (key.length > 60 || !KEY.test(key)) errors.key = 'The key is up to 60 lower-case letters, digits, dot, dash or underscore, starting with a letter or digit.';
    else if (await providerKeyTaken(tx, key, existing?.id ?? 0)) errors.key = KEY_TAKEN;
    const label = text(body, 'label');
    if (label === '') errors.label = 'Enter the label of the sign-in button, e.g. "Microsoft".';
    else if (label.length > 100) errors.label = 'The label can be at most 100 characters.';

    const settings = protocol.read(body, errors);
    const secretText = typeof body.secret === 'string' ? body.secret.trim() : '';
    if (protocol.secret && secretText === '' && existing === null && protocol.secret.requiredOnCreate) errors.secret = `Enter the ${protocol.secret.label.toLowerCase()}.`;
    else if (secretText.length > 4000) errors.secret = `The ${protocol.secret?.label.toLowerCase() ?? 'secret'} is too long.`;

    const jitEnabled = text(body, 'jitEnabled') === 'yes';
    const modeText = text(body, 'jitOrganizationMode') || 'fixed';
    const jitOrganizationMode: JitOrganizationMode = modeText === 'claim' ? 'claim' : 'fixed';
    if (modeText !== 'fixed' && modeText !== 'claim') errors.jitOrganizationMode = 'Choose how the home organization is chosen.';
    const orgs = await organizationPaths(tx);
    const orgIdText = text(body, 'jitOrganizationId');
    const jitOrganizationId = orgIdText === '' ? null : Number(orgIdText);
    if (jitOrganizationId !== null && !orgs.some((o) => o.id === jitOrganizationId)) errors.jitOrganizationId = 'Choose one of the organizations.';
    const jitOrganizationClaim = text(body, 'jitOrganizationClaim') || null;
    if (jitOrganizationClaim !== null && !/^[A-Za-z0-9_.:/-]{1,200}$/.test(jitOrganizationClaim)) errors.jitOrganizationClaim = 'A claim name is letters, digits and _ . : / - (at most 200).';
    const byPath = new Map(orgs.map((o) => [(o.namePath === '' ? o.name : o.namePath).toLowerCase(), o.id] as const));
    const rules: JitOrganizationRule[] = [];
    const badLines: string[] = [];
    for (const line of text(body, 'jitOrganizationRules').split(/\r?\n/).map((l) => l.trim()).filter(Boolean)) {
      const at = line.lastIndexOf('=');
      const value = at > 0 ? line.slice(0, at).trim() : '';
      const organizationId = at > 0 ? byPath.get(line.slice(at + 1).trim().replace(/^\/+|\/+$/g, '').toLowerCase()) : undefined;
      if (value === '' || organizationId === undefined) badLines.push(line);
      else rules.push({ value, organizationId });
    }
    if (badLines.length > 0) errors.jitOrganizationRules = `Each line is "value = organization path" with an existing organization, e.g. "Sales = Global/Sales"; not: ${badLines.slice(0, 3).join('; ')}.`;
    if (jitEnabled && jitOrganizationMode === 'fixed' && jitOrganizationId === null) errors.jitOrganizationId = 'Choose the home organization of users created at their first sign-in.';
    if (jitEnabled && jitOrganizationMode === 'claim' && jitOrganizationClaim === null) errors.jitOrganizationClaim = 'Name the claim whose value chooses the organization.';
    if (jitEnabled && jitOrganizationMode === 'claim' && rules.length === 0 && !errors.jitOrganizationRules) errors.jitOrganizationRules = 'Map at least one value to an organization.';

    if (Object.keys(errors).length > 0) throw new ValidationError(errors);
    return {
      fields: {
        key,
        label,
        enabled: existing ? existing.enabled : text(body, 'enabled') !== 'no',
        settings,
        jitEnabled,
        jitOrganizationMode,
        jitOrganization: jitOrganizationId,
        jitOrganizationClaim,
        jitOrganizationRules: rules,
        updateAttributes: text(body, 'updateAttributes') === 'yes',
      },
      secret: secretText === '' ? null : secretText,
    };
  }
}

/** The audited fields; the secret only as "changed", never its value. */
function snapshot(p: IdentityProvider): Record<string, unknown> {
  return {
    key: p.key,
    label: p.label,
    kind: p.kind,
    enabled: p.enabled,
    settings: p.settings,
    secret: p.secretSealed === null ? null : `sealed:${p.secretSealed.slice(-8)}`,
    jitEnabled: p.jitEnabled,
    jitOrganizationMode: p.jitOrganizationMode,
    jitOrganizationId: p.jitOrganization?.id ?? null,
    jitOrganizationClaim: p.jitOrganizationClaim,
    jitOrganizationRules: p.jitOrganizationRules,
    updateAttributes: p.updateAttributes,
  };
}
