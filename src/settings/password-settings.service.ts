import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { ASVS_PASSWORD_POLICY } from '../accounts/password-policy';
import type { Actor } from '../access/actor';
import { allows } from '../access/policy';
import { AuditService, diffChanges } from '../audit/audit.service';
import { ForbiddenError, FieldErrors, ValidationError } from '../common/errors';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config';
import { isTimeZone } from '../credentials/credential-mail';
import { ClientSettings } from './client-settings.entity';

export const PASSWORD_LENGTH_FLOOR = 4;
export const PASSWORD_LENGTH_CEILING = 128;

/** The form of the Password requirements tab (strings and checkbox values as submitted). */
export interface PasswordSettingsInput {
  minLength: string;
  maxLength: string;
  requireLetter: boolean;
  requireDigit: boolean;
  requireUpper: boolean;
  requireLower: boolean;
  requireSymbol: boolean;
  mustChangeAtFirstLogin: boolean;
  initialValidityDays: string;
  lockoutThreshold: string;
  lockoutMinutes: string;
}

/** Form field → settings property (form fields never mention "password": forms and the audit log hide such fields). */
const BOOLEAN_FIELDS = {
  requireLetter: 'passwordRequireLetter',
  requireDigit: 'passwordRequireDigit',
  requireUpper: 'passwordRequireUpper',
  requireLower: 'passwordRequireLower',
  requireSymbol: 'passwordRequireSymbol',
  mustChangeAtFirstLogin: 'mustChangeAtFirstLogin',
} as const;

const MAIL_ADDRESS = /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$|^[^\s@<>"]+@localhost$/;

/**
 * The Password requirements, Authentication and Mail tabs of the client settings (SPEC §2). The
 * policy they set is the one `SettingsService.passwordPolicy()` hands to every password check and
 * to the password generator.
 */
@Injectable()
export class PasswordSettingsService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private async load(actor: Actor): Promise<ClientSettings> {
    if (!allows(actor, 'manage_settings')) throw new ForbiddenError();
    return this.em.findOneOrFail(ClientSettings, { id: 1 });
  }

  /** The default login URL (when the setting is empty): PUBLIC_URL + /login. */
  get defaultLoginUrl(): string {
    return `${this.config.publicUrl}/login`;
  }

  async passwordValues(actor: Actor): Promise<Record<string, unknown>> {
    const s = await this.load(actor);
    return {
      minLength: String(s.passwordMinLength),
      maxLength: String(s.passwordMaxLength),
      ...Object.fromEntries(Object.entries(BOOLEAN_FIELDS).map(([field, prop]) => [field, s[prop]])),
      initialValidityDays: String(s.initialPasswordValidityDays),
      lockoutThreshold: String(s.lockoutThreshold),
      lockoutMinutes: String(s.lockoutMinutes),
    };
  }

  async updatePasswords(actor: Actor, input: PasswordSettingsInput): Promise<boolean> {
    const settings = await this.load(actor);
    const errors: FieldErrors = {};
    const int = (field: keyof PasswordSettingsInput, label: string, min: number, max: number): number => {
      const raw = String(input[field]);
      if (!/^\d{1,6}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
        errors[field] = `${label} must be a whole number from ${min} to ${max}.`;
        return NaN;
      }
      return Number(raw);
    };
    const min = int('minLength', 'Minimum length', PASSWORD_LENGTH_FLOOR, PASSWORD_LENGTH_CEILING);
    const max = int('maxLength', 'Maximum length', PASSWORD_LENGTH_FLOOR, PASSWORD_LENGTH_CEILING);
    if (!errors.minLength && !errors.maxLength && max < min) errors.maxLength = 'Maximum length must not be less than the minimum length.';
    const classes =
      (['requireUpper', 'requireLower', 'requireDigit', 'requireSymbol'] as const).filter((f) => input[f]).length +
      (input.requireLetter && !input.requireUpper && !input.requireLower ? 1 : 0);
    if (!errors.maxLength && !Number.isNaN(max) && classes > max) errors.maxLength = 'The maximum length is too short for the required kinds of characters.';
    const validity = int('initialValidityDays', 'Validity of an initial password', 0, 365);
    const threshold = int('lockoutThreshold', 'Failed attempts before lock-out', 1, 100);
    const minutes = int('lockoutMinutes', 'Lock duration', 1, 1440);
    if (Object.keys(errors).length > 0) throw new ValidationError(errors);

    const before = { ...(await this.passwordValues(actor)) };
    settings.passwordMinLength = min;
    settings.passwordMaxLength = max;
    for (const [field, prop] of Object.entries(BOOLEAN_FIELDS)) settings[prop] = input[field as keyof typeof BOOLEAN_FIELDS];
    settings.initialPasswordValidityDays = validity;
    settings.lockoutThreshold = threshold;
    settings.lockoutMinutes = minutes;
    return this.save(actor, 'Password requirements', numbers(before), numbers(await this.passwordValues(actor)));
  }

  async authenticationValues(actor: Actor): Promise<Record<string, unknown>> {
    const s = await this.load(actor);
    return { loginUrl: s.loginUrl ?? '' };
  }

  async updateAuthentication(actor: Actor, input: { loginUrl: string }): Promise<boolean> {
    const settings = await this.load(actor);
    const url = input.loginUrl.trim();
    if (url !== '') {
      let ok = false;
      try {
        const parsed = new URL(url);
        ok = (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.hostname !== '';
      } catch {
        ok = false;
      }
      if (!ok || url.length > 500) throw ValidationError.single('loginUrl', 'Enter an http:// or https:// address of at most 500 characters, or leave it empty.');
    }
    const before = { loginUrl: settings.loginUrl };
    settings.loginUrl = url === '' ? null : url;
    return this.save(actor, 'Authentication', before, { loginUrl: settings.loginUrl });
  }

  async mailValues(actor: Actor): Promise<Record<string, unknown>> {
    const s = await this.load(actor);
    return { mailSenderName: s.mailSenderName ?? '', mailSenderAddress: s.mailSenderAddress ?? '', timeZone: s.timeZone };
  }

  async updateMail(actor: Actor, input: { mailSenderName: string; mailSenderAddress: string; timeZone: string }): Promise<boolean> {
    const settings = await this.load(actor);
    const errors: FieldErrors = {};
    const name = input.mailSenderName.trim();
    const address = input.mailSenderAddress.trim();
    if (name.length > 200 || /[\r\n<>"]/.test(name)) errors.mailSenderName = 'The sender name has at most 200 characters and no < > or quotes.';
    if (address !== '' && (address.length > 254 || !MAIL_ADDRESS.test(address))) errors.mailSenderAddress = 'Enter an e-mail address like no-reply@example.org, or leave it empty.';
    if (!isTimeZone(input.timeZone)) errors.timeZone = 'Choose a time zone from the list (for example Europe/Berlin).';
    if (Object.keys(errors).length > 0) throw new ValidationError(errors);
    const before = { mailSenderName: settings.mailSenderName, mailSenderAddress: settings.mailSenderAddress, timeZone: settings.timeZone };
    settings.mailSenderName = name === '' ? null : name;
    settings.mailSenderAddress = address === '' ? null : address;
    settings.timeZone = input.timeZone;
    return this.save(actor, 'Mail', before, { mailSenderName: settings.mailSenderName, mailSenderAddress: settings.mailSenderAddress, timeZone: settings.timeZone });
  }

  private async save(actor: Actor, tab: string, before: Record<string, unknown>, after: Record<string, unknown>): Promise<boolean> {
    const changes = diffChanges(before, after);
    await this.em.transactional(async (tx) => {
      await tx.flush();
      if (changes) await this.audit.record(actor, { action: 'settings.updated', objectType: 'settings', objectLabel: tab, changes }, tx);
    });
    return changes !== null;
  }
}

/** The ASVS preset: 12 to 128 characters, no composition rules (the other fields stay). */
export function asvsPreset(values: Record<string, unknown>): Record<string, unknown> {
  return {
    ...values,
    minLength: String(ASVS_PASSWORD_POLICY.minLength),
    maxLength: String(ASVS_PASSWORD_POLICY.maxLength),
    requireLetter: false,
    requireDigit: false,
    requireUpper: false,
    requireLower: false,
    requireSymbol: false,
  };
}

/** Numeric form values as numbers, for the audit log. */
function numbers(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v]));
}
