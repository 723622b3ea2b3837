import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Actor } from '../access/actor';
import { AuditService } from '../audit/audit.service';
import { NotFoundError, ValidationError } from '../common/errors';
import { SettingsService } from '../settings/settings.service';
import { LOCAL_PROVIDER, User } from '../users/user.entity';
import { hashPassword, verifyPassword } from './password-hasher';
import { describePolicy, passwordPolicyMessage } from './password-policy';

export interface ChangeOwnPasswordInput {
  currentPassword: string;
  newPassword: string;
  confirmPassword: string;
}

/** The signed-in user's own account: details and password. */
@Injectable()
export class AccountService {
  constructor(
    private readonly em: EntityManager,
    private readonly settings: SettingsService,
    private readonly audit: AuditService,
  ) {}

  async details(actor: Actor) {
    const user = await this.em.findOne(User, { id: actor.userId }, { populate: ['contact', 'roles', 'profile', 'licence'] });
    if (!user) throw new NotFoundError();
    const policy = await this.settings.passwordPolicy();
    // An SSO user's password lives at the provider: the page names it by its button label.
    const [provider] = user.provider === LOCAL_PROVIDER ? [] : await this.em.execute<{ label: string }[]>('select label from identity_providers where key = ?', [user.provider]);
    return {
      user,
      roles: user.roles.getItems().map((r) => r.name),
      providerLabel: provider?.label ?? user.provider,
      canChangePassword: user.provider === LOCAL_PROVIDER,
      passwordHint: describePolicy(policy),
    };
  }

  /**
   * Changes the actor's own password: the current one is required, the new one must satisfy
   * the policy and differ from it. Every other session of the user ends (session version bump);
   * returns the new version so the caller can keep the current session.
   */
  async changePassword(actor: Actor, input: ChangeOwnPasswordInput): Promise<{ sessionVersion: number }> {
    const user = await this.em.findOne(User, { id: actor.userId }, { populate: ['passwordHash'] });
    if (!user) throw new NotFoundError();
    if (user.provider !== LOCAL_PROVIDER) {
      throw ValidationError.form(`Your account signs in through ${user.provider}; its password is managed there.`);
    }
    const errors: Record<string, string> = {};
    if (!input.currentPassword) errors.currentPassword = 'Enter your current password.';
    const policyMessage = passwordPolicyMessage(await this.settings.passwordPolicy(), input.newPassword);
    if (!input.newPassword) errors.newPassword = 'Enter a new password.';
    else if (policyMessage) errors.newPassword = policyMessage;
    if (input.newPassword && input.confirmPassword !== input.newPassword) errors.confirmPassword = 'The two new passwords do not match.';
    if (Object.keys(errors).length > 0) throw new ValidationError(errors);

    if (!(await verifyPassword(user.passwordHash, input.currentPassword))) {
      throw new ValidationError({ currentPassword: 'Your current password is not correct.' });
    }
    if (input.newPassword === input.currentPassword) {
      throw new ValidationError({ newPassword: 'Choose a password different from your current one.' });
    }

    user.passwordHash = await hashPassword(input.newPassword);
    user.mustChangePassword = false;
    user.passwordExpiresAt = null;
    user.passwordChangedAt = new Date();
    user.sessionVersion += 1;
    await this.em.flush();
    await this.audit.record(actor, { action: 'password.changed', objectType: 'user', objectId: user.id, objectLabel: user.username, detail: 'own password' });
    return { sessionVersion: user.sessionVersion };
  }
}
