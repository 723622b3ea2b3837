import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { PasswordPolicy } from '../accounts/password-policy';
import { ClientSettings } from './client-settings.entity';

/** Reads the deployment's client settings (one row, created at first start). */
@Injectable()
export class SettingsService {
  constructor(private readonly em: EntityManager) {}

  get(): Promise<ClientSettings> {
    return this.em.findOneOrFail(ClientSettings, { id: 1 });
  }

  async passwordPolicy(): Promise<PasswordPolicy> {
    return toPasswordPolicy(await this.get());
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
