import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { PasswordPolicy } from '../accounts/password-policy';
import type { Actor } from '../access/actor';
import { allows } from '../access/policy';
import { AuditService, diffChanges } from '../audit/audit.service';
import { ForbiddenError, ValidationError } from '../common/errors';
import { ClientSettings } from './client-settings.entity';

/** Reads the deployment's client settings (one row, created at first start). */
@Injectable()
export class SettingsService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
  ) {}

  get(): Promise<ClientSettings> {
    return this.em.findOneOrFail(ClientSettings, { id: 1 });
  }

  async passwordPolicy(): Promise<PasswordPolicy> {
    return toPasswordPolicy(await this.get());
  }

  /** The settings for the settings pages (permission "manage settings", logged in to Global). */
  async forEdit(actor: Actor): Promise<ClientSettings> {
    if (!allows(actor, 'manage_settings')) throw new ForbiddenError();
    return this.get();
  }

  /** Portal tab: "Limit Organization Members Visibility" (`yes` / `no`). */
  async updatePortal(actor: Actor, input: { limitMemberVisibility: string }): Promise<void> {
    const settings = await this.forEdit(actor);
    if (input.limitMemberVisibility !== 'yes' && input.limitMemberVisibility !== 'no') {
      throw ValidationError.single('limitMemberVisibility', 'Choose Yes or No.');
    }
    const before = { limitMemberVisibility: settings.limitMemberVisibility };
    settings.limitMemberVisibility = input.limitMemberVisibility === 'yes';
    const changes = diffChanges(before, { limitMemberVisibility: settings.limitMemberVisibility });
    await this.em.transactional(async (tx) => {
      await tx.flush();
      if (changes) await this.audit.record(actor, { action: 'settings.updated', objectType: 'settings', objectLabel: 'Portal', changes }, tx);
    });
  }
}

export function toPasswordPolicy(s: ClientSettings): PasswordPolicy {
  return {
    minLength: s.passwordMinLength,
    maxLength: s.passwordMaxLength,
    requireLetter: s.passwordRequireLetter,
    requireDigit: s.passwordRequireDigit,
    requireUpper: s.passwordRequireUpper,
    requireLower: s.passwordRequireLower,
    requireSymbol: s.passwordRequireSymbol,
  };
}
