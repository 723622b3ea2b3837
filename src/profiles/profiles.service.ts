import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Actor } from '../access/actor';
import { NamedSettingKind, NamedSettings } from '../common/named-settings';
import { AuditService } from '../audit/audit.service';
import { FieldErrors, NotFoundError, ValidationError } from '../common/errors';
import { ProfileStartPage, UserProfile } from './user-profile.entity';
import { ProfileRow, findProfile, listProfiles } from './profiles.queries';

export const PROFILE_NAME_MAX = 100;
export const PROFILE_DESCRIPTION_MAX = 1000;

export const START_PAGE_LABELS: Record<ProfileStartPage, string> = {
  administrator: 'Administrator startboard',
  self_service: 'Self-service',
};

export interface ProfileInput {
  name: string;
  description: string;
  /** `administrator` or `self_service`; ignored for a built-in profile, whose start page is fixed. */
  startPage: string;
}

export interface ProfileView {
  id: number;
  name: string;
  description: string | null;
  startPage: ProfileStartPage;
  startPageLabel: string;
  builtIn: boolean;
  userCount: number;
  isDefault: boolean;
}

function isStartPage(value: string): value is ProfileStartPage {
  return value === 'administrator' || value === 'self_service';
}

function snapshot(profile: UserProfile): Record<string, unknown> {
  return { name: profile.name, description: profile.description, startPage: profile.startPage };
}

/** "1 user has" or "3 users have". */
function usersHave(count: number): string {
  return count === 1 ? '1 user has' : `${count} users have`;
}

const PROFILES: NamedSettingKind<UserProfile> = {
  entity: UserProfile,
  table: 'user_profiles',
  kind: 'profile',
  uniqueIndex: 'user_profiles_name_unique',
  nameTaken: 'Another user profile already has this name.',
  snapshot,
  deletion: {
    builtIn: (name) => `${name} is a built-in user profile and cannot be deleted.`,
    inUse: (name, count) => `Cannot delete ${name}: ${usersHave(count)} this user profile. Give them another profile first.`,
    inUseRace: 'Cannot delete this user profile: users have it. Give them another profile first.',
    wasDefault: 'was the default profile of the client settings (now none)',
  },
};

function toView(r: ProfileRow): ProfileView {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    startPage: r.start_page,
    startPageLabel: START_PAGE_LABELS[r.start_page] ?? r.start_page,
    builtIn: r.built_in_key !== null,
    userCount: r.user_count,
    isDefault: r.is_default,
  };
}

/**
 * User profiles: they decide a user's start page and menu (SPEC §2). Managed by sessions allowed
 * `manage_settings`; the built-in profiles cannot be deleted and keep their start page.
 */
@Injectable()
export class ProfilesService {
  private readonly named: NamedSettings<UserProfile>;

  constructor(
    private readonly em: EntityManager,
    audit: AuditService,
  ) {
    this.named = new NamedSettings(em, audit, PROFILES);
  }

  async list(actor: Actor): Promise<ProfileView[]> {
    this.named.assertAllowed(actor);
    const rows = await listProfiles(this.em);
    return rows.map(toView);
  }

  async details(actor: Actor, id: number): Promise<ProfileView> {
    this.named.assertAllowed(actor);
    const row = await findProfile(this.em, id);
    if (!row) throw new NotFoundError();
    return toView(row);
  }

  async create(actor: Actor, input: ProfileInput): Promise<{ id: number; name: string }> {
    this.named.assertAllowed(actor);
    const values = validate(input);
    return this.named.create(actor, values.name, (tx) => tx.create(UserProfile, values));
  }

  /** Changes name, description and start page; a built-in profile keeps its start page. */
  async update(actor: Actor, id: number, input: ProfileInput): Promise<{ id: number; name: string; changed: boolean }> {
    this.named.assertAllowed(actor);
    return this.named.write(async (tx) => {
      const profile = await this.named.lock(tx, id);
      const values = validate(profile.builtInKey !== null ? { ...input, startPage: profile.startPage } : input);
      await this.named.assertNameFree(tx, values.name, profile.id);
      return this.named.applyChanges(actor, tx, profile, () => {
        profile.name = values.name;
        profile.description = values.description;
        profile.startPage = values.startPage;
      });
    });
  }

  /**
   * Deletes a profile that is not built-in and that no user has. When it is the default profile of
   * the client settings, the database clears that default (`on delete set null`); `wasDefault` says so.
   */
  async delete(actor: Actor, id: number): Promise<{ name: string; wasDefault: boolean }> {
    this.named.assertAllowed(actor);
    return this.named.delete(actor, id);
  }
}

function validate(input: ProfileInput): { name: string; description: string | null; startPage: ProfileStartPage } {
  const errors: FieldErrors = {};
  const name = input.name.trim();
  if (!name) errors.name = 'Enter a name.';
  else if ([...name].length > PROFILE_NAME_MAX) errors.name = `Use at most ${PROFILE_NAME_MAX} characters for the name.`;
  const description = input.description.trim();
  if ([...description].length > PROFILE_DESCRIPTION_MAX) errors.description = `Use at most ${PROFILE_DESCRIPTION_MAX} characters for the description.`;
  if (!isStartPage(input.startPage)) errors.startPage = 'Choose a start page.';
  if (Object.keys(errors).length > 0) throw new ValidationError(errors);
  return { name, description: description || null, startPage: input.startPage as ProfileStartPage };
}

