import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Actor } from '../access/actor';
import { allows } from '../access/policy';
import { usageOf } from '../common/names.queries';
import { assertNameFree } from '../common/unique-name';
import { AuditService, createdChanges, deletedChanges, diffChanges } from '../audit/audit.service';
import { BusinessRuleError, FieldErrors, ForbiddenError, NotFoundError, ValidationError, uniqueViolation } from '../common/errors';
import { ProfileStartPage, UserProfile } from './user-profile.entity';
import { ProfileRow, deleteProfile, findProfile, listProfiles } from './profiles.queries';

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

const NAME_TAKEN = 'Another user profile already has this name.';
const UNIQUE_NAME = { user_profiles_name_unique: ['name', NAME_TAKEN] as [string, string] };

function isStartPage(value: string): value is ProfileStartPage {
  return value === 'administrator' || value === 'self_service';
}

function snapshot(profile: UserProfile): Record<string, unknown> {
  return { name: profile.name, description: profile.description, startPage: profile.startPage };
}

/** The same fields, all empty: what a created object changes from and a deleted one changes to. */
function usersHave(count: number): string {
  return count === 1 ? '1 user has' : `${count} users have`;
}

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
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
  ) {}

  async list(actor: Actor): Promise<ProfileView[]> {
    this.assertAllowed(actor);
    const rows = await listProfiles(this.em);
    return rows.map(toView);
  }

  async details(actor: Actor, id: number): Promise<ProfileView> {
    this.assertAllowed(actor);
    const row = await findProfile(this.em, id);
    if (!row) throw new NotFoundError();
    return toView(row);
  }

  async create(actor: Actor, input: ProfileInput): Promise<{ id: number; name: string }> {
    this.assertAllowed(actor);
    const values = validate(input);
    try {
      return await this.em.transactional(async (tx) => {
        await assertNameFree(tx, 'user_profiles', values.name, null, NAME_TAKEN);
        const profile = tx.create(UserProfile, values);
        await tx.flush();
        await this.audit.record(
          actor,
          { action: 'profile.created', objectType: 'profile', objectId: profile.id, objectLabel: profile.name, changes: createdChanges(snapshot(profile)) },
          tx,
        );
        return { id: profile.id, name: profile.name };
      });
    } catch (error) {
      throw uniqueViolation(error, UNIQUE_NAME) ?? error;
    }
  }

  async update(actor: Actor, id: number, input: ProfileInput): Promise<{ id: number; name: string; changed: boolean }> {
    this.assertAllowed(actor);
    try {
      return await this.em.transactional(async (tx) => {
        const profile = await tx.findOne(UserProfile, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
        if (!profile) throw new NotFoundError();
        const values = validate(profile.builtInKey !== null ? { ...input, startPage: profile.startPage } : input);
        await assertNameFree(tx, 'user_profiles', values.name, profile.id, NAME_TAKEN);

        const before = snapshot(profile);
        profile.name = values.name;
        profile.description = values.description;
        profile.startPage = values.startPage;
        const changes = diffChanges(before, snapshot(profile));
        if (changes) {
          await tx.flush();
          await this.audit.record(actor, { action: 'profile.updated', objectType: 'profile', objectId: profile.id, objectLabel: profile.name, changes }, tx);
        }
        return { id: profile.id, name: profile.name, changed: changes !== null };
      });
    } catch (error) {
      throw uniqueViolation(error, UNIQUE_NAME) ?? error;
    }
  }

  /**
   * Deletes a profile that is not built-in and that no user has. When it is the default profile of
   * the client settings, the database clears that default (`on delete set null`); `wasDefault` says so.
   */
  async delete(actor: Actor, id: number): Promise<{ name: string; wasDefault: boolean }> {
    this.assertAllowed(actor);
    try {
      return await this.em.transactional(async (tx) => {
        // The row lock makes a concurrent assignment of the profile wait until this ends.
        const profile = await tx.findOne(UserProfile, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
        if (!profile) throw new NotFoundError();
        if (profile.builtInKey !== null) {
          throw new BusinessRuleError('profile_built_in', `${profile.name} is a built-in user profile and cannot be deleted.`);
        }
        const usage = await usageOf(tx, 'profile', id);
        if (usage.user_count > 0) {
          throw new BusinessRuleError(
            'profile_in_use',
            `Cannot delete ${profile.name}: ${usersHave(usage.user_count)} this user profile. Give them another profile first.`,
          );
        }
        const before = snapshot(profile);
        const name = profile.name;
        await deleteProfile(tx, id);
        await this.audit.record(
          actor,
          {
            action: 'profile.deleted',
            objectType: 'profile',
            objectId: id,
            objectLabel: name,
            changes: deletedChanges(before),
            detail: usage.is_default ? 'was the default profile of the client settings (now none)' : undefined,
          },
          tx,
        );
        return { name, wasDefault: usage.is_default };
      });
    } catch (error) {
      if ((error as { code?: string })?.code === '23503') {
        throw new BusinessRuleError('profile_in_use', 'Cannot delete this user profile: users have it. Give them another profile first.');
      }
      throw error;
    }
  }

  private assertAllowed(actor: Actor): void {
    if (!allows(actor, 'manage_settings')) throw new ForbiddenError();
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

