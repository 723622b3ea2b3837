import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Actor } from '../access/actor';
import { allows, canGrantRole } from '../access/policy';
import { AuditService, diffChanges } from '../audit/audit.service';
import { FieldErrors, ForbiddenError, ValidationError } from '../common/errors';
import { UsernameSource, explainUsername, usernameFormatProblem } from '../users/username-format';
import {
  Named,
  interfaceSettings,
  interfaceSettingsByName,
  licencesByName,
  nameOf,
  profilesByName,
  replaceDefaultRoles,
  rolesByName,
  rolesWithIds,
  saveInterfaceSettings,
} from './interface-settings.queries';

export interface InterfaceSettingsInput {
  usernameFormat: string;
  /** Role ids; unparseable ids arrive as 0 (and are refused). */
  defaultRoleIds: number[];
  /** `null`: no default profile. */
  defaultProfileId: number | null;
  /** `null`: no default licence. */
  defaultLicenceId: number | null;
}

export interface InterfaceSettingsValues {
  usernameFormat: string;
  defaultRoleIds: number[];
  defaultProfileId: number | null;
  defaultLicenceId: number | null;
}

/** The sample contacts the page previews the username format with. */
export const PREVIEW_SAMPLES: { label: string; source: UsernameSource }[] = [
  {
    label: 'Zoë Ångström, zoe.angstrom@example.org',
    source: { kind: 'person', firstName: 'Zoë', lastName: 'Ångström', fullName: 'Zoë Ångström', email: 'zoe.angstrom@example.org' },
  },
  {
    label: 'Organization contact Nordwind Logistik GmbH, info@nordwind.example',
    source: { kind: 'organization', fullName: 'Nordwind Logistik GmbH', email: 'info@nordwind.example' },
  },
];

/** What the format makes of a sample contact, saying so when a fallback had to be used. */
function preview(format: string, sample: { label: string; source: UsernameSource }) {
  const { username, fallback } = explainUsername(format, sample.source);
  const notes = {
    name: 'The format gives no letter or digit for this contact, so its name is used instead.',
    email: 'The format and the name give no letter or digit for this contact, so the part of its e-mail address before @ is used instead.',
  };
  return {
    label: sample.label,
    username: username || '(none)',
    note: username === '' ? 'No username can be made for this contact: Enable Access refuses it.' : fallback ? notes[fallback] : null,
  };
}

/**
 * Settings → Interface (SPEC §2 "Client settings"): the username format and the default roles,
 * user profile and licence that Enable Access, Create User and imports give new users.
 */
@Injectable()
export class InterfaceSettingsService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
  ) {}

  /** Raw SQL through the entity manager, which joins the transaction the call runs in (a connection's `execute` never does). */
  private get db() {
    return this.em;
  }

  private assertAllowed(actor: Actor): void {
    if (!allows(actor, 'manage_settings')) throw new ForbiddenError();
  }

  /** The saved values with the page's choices and previews. */
  async forEdit(actor: Actor) {
    this.assertAllowed(actor);
    const values = await this.current();
    return { values, ...(await this.page(values)) };
  }

  /** The page for typed values that are not saved: the preview of the typed format. */
  async preview(actor: Actor, input: InterfaceSettingsInput) {
    this.assertAllowed(actor);
    const problem = usernameFormatProblem(input.usernameFormat);
    if (problem) throw ValidationError.single('usernameFormat', problem);
    return { values: input, ...(await this.page(input)), previewed: true };
  }

  /** Everything the page shows besides the values (also for re-rendering a rejected form). */
  async page(values: InterfaceSettingsValues) {
    const [roles, profiles, licences] = await Promise.all([
      rolesByName(this.db),
      profilesByName(this.db),
      licencesByName(this.db),
    ]);
    const chosen = new Set(values.defaultRoleIds);
    const warnings: string[] = [];
    if (chosen.size === 0) warnings.push('No default role: new users cannot log in until they are given a role.');
    if (values.defaultProfileId === null) warnings.push('No default user profile: new users cannot log in until they are given a user profile.');
    if (values.defaultLicenceId === null) warnings.push('No default licence: new users cannot log in until they are given a licence.');
    if (roles.some((r) => r.builtInKey === 'administrator' && chosen.has(r.id))) {
      warnings.push('Administrator is a default role: only Administrators can then enable access or create users.');
    }
    return {
      roles: roles.map((r) => ({ id: r.id, name: r.name, checked: chosen.has(r.id) })),
      profiles,
      licences,
      previews: usernameFormatProblem(values.usernameFormat) ? [] : PREVIEW_SAMPLES.map((s) => preview(values.usernameFormat, s)),
      warnings,
    };
  }

  async update(actor: Actor, input: InterfaceSettingsInput): Promise<void> {
    this.assertAllowed(actor);
    const errors: FieldErrors = {};
    const format = input.usernameFormat.trim();
    const problem = usernameFormatProblem(format);
    if (problem) errors.usernameFormat = problem;
    const roleIds = [...new Set(input.defaultRoleIds)];
    const roles = roleIds.length ? await rolesWithIds(this.db, roleIds) : [];
    if (roles.length !== roleIds.length) errors.defaultRoleIds = 'Choose roles from the list.';
    else {
      const problem = await this.defaultRolesProblem(actor, roleIds);
      if (problem) errors.defaultRoleIds = problem;
    }
    const profile = await this.named('user_profiles', input.defaultProfileId);
    if (profile === undefined) errors.defaultProfileId = 'Choose a user profile from the list.';
    const licence = await this.named('licence_types', input.defaultLicenceId);
    if (licence === undefined) errors.defaultLicenceId = 'Choose a licence from the list.';
    if (Object.keys(errors).length > 0) throw new ValidationError(errors);

    await this.em.transactional(async (tx) => {
      const before = await this.snapshot(tx);
      await saveInterfaceSettings(tx, { usernameFormat: format, defaultProfileId: input.defaultProfileId, defaultLicenceId: input.defaultLicenceId });
      await replaceDefaultRoles(tx, roleIds);
      const changes = diffChanges(before, await this.snapshot(tx));
      if (changes) await this.audit.record(actor, { action: 'settings.updated', objectType: 'settings', objectLabel: 'Interface', changes }, tx);
    });
  }

  /**
   * Every new user gets the default roles, whoever creates them: so making a role a default, or
   * no longer one, is giving or taking away that role, and follows the role rule (`canGrantRole`):
   * a settings manager who is not an Administrator changes only defaults whose permissions they
   * hold (never the Administrator role). Defaults they may not change stay as they are.
   */
  private async defaultRolesProblem(actor: Actor, roleIds: number[]): Promise<string | null> {
    if (actor.isAdministrator) return null;
    const saved = (await this.current()).defaultRoleIds;
    const changed = [...roleIds.filter((id) => !saved.includes(id)), ...saved.filter((id) => !roleIds.includes(id))];
    if (changed.length === 0) return null;
    const refused = (await rolesWithIds(this.db, changed)).filter(
      (r) => !canGrantRole(actor, { permissions: r.permissions ?? [], isAdministratorRole: r.builtInKey === 'administrator' }),
    );
    if (refused.length === 0) return null;
    const names = refused.map((r) => r.name).join(', ');
    return `Only an Administrator can change whether ${names} ${refused.length === 1 ? 'is a default role: it has' : 'are default roles: they have'} permissions you do not have.`;
  }

  private current(): Promise<InterfaceSettingsValues> {
    return interfaceSettings(this.db);
  }

  /** The audited view of the settings: names, not ids. */
  private async snapshot(tx: EntityManager): Promise<Record<string, unknown>> {
    const row = await interfaceSettingsByName(tx);
    return { usernameFormat: row.format, defaultRoles: row.roles, defaultProfile: row.profile, defaultLicence: row.licence };
  }

  /** The name of the row, `null` for no id, `undefined` for an id that does not exist. */
  private async named(table: 'user_profiles' | 'licence_types', id: number | null): Promise<string | null | undefined> {
    if (id === null) return null;
    return (await nameOf(this.db, table, id)) ?? undefined;
  }
}
