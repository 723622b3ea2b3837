import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { verifyPassword } from '../accounts/password-hasher';
import { AppError } from '../common/errors';
import { AuditService } from '../audit/audit.service';
import { SettingsService } from '../settings/settings.service';
import { LOCAL_PROVIDER, User } from '../users/user.entity';

/** Sign-in refused. The message never tells a stranger whether the username exists. */
export class LoginRefusedError extends AppError {
  constructor(code: string, message: string) {
    super(code, message, 422);
  }
}

export const INVALID_CREDENTIALS = 'The username or password is incorrect.';

/**
 * The sign-in rules of SPEC §2: the password is checked first; only someone who knows it learns
 * why an account may not sign in (locked, disabled, no role, no profile, expired password).
 * Wrong passwords count per account; at the threshold the account locks for the set duration.
 */
@Injectable()
export class AuthService {
  constructor(
    private readonly em: EntityManager,
    private readonly settings: SettingsService,
    private readonly audit: AuditService,
  ) {}

  async authenticate(usernameInput: string, password: string, ip: string | null): Promise<User> {
    const username = usernameInput.trim();
    const user = username ? await this.findByUsername(username) : null;
    const passwordOk = await verifyPassword(user && user.provider === LOCAL_PROVIDER ? user.passwordHash : null, password);

    if (!user || !passwordOk) {
      await this.recordFailure(user, username, ip);
      throw new LoginRefusedError('invalid_credentials', INVALID_CREDENTIALS);
    }

    const now = new Date();
    const refuse = async (code: string, message: string, detail: string) => {
      await this.audit.write(
        { actorId: user.id, actorName: user.username, ip },
        { action: 'login.refused', objectType: 'user', objectId: user.id, objectLabel: user.username, detail },
      );
      throw new LoginRefusedError(code, message);
    };

    if (user.isLocked(now)) {
      const minutes = Math.max(1, Math.ceil((user.lockedUntil!.getTime() - now.getTime()) / 60000));
      await refuse(
        'locked',
        `This account is locked after too many failed sign-ins. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}, or ask an administrator to unlock it.`,
        'account locked',
      );
    }
    if (!user.enabled) await refuse('disabled', 'This account is disabled. Ask an administrator to enable it.', 'account disabled');
    if (user.roles.count() === 0 || !user.profile) {
      await refuse(
        'no_role_or_profile',
        'This account has no user group (role) or no user profile yet, so it cannot sign in. Ask an administrator to assign them.',
        user.roles.count() === 0 ? 'no role' : 'no user profile',
      );
    }
    if (user.memberships.count() === 0) {
      await refuse('no_organization', 'This account belongs to no organization yet, so it cannot sign in. Ask an administrator.', 'no membership');
    }
    if (user.passwordExpiresAt && user.passwordExpiresAt.getTime() <= now.getTime()) {
      await refuse(
        'initial_password_expired',
        'Your initial password has expired. Ask an administrator to send you a new one.',
        'initial password expired',
      );
    }

    user.failedLogins = 0;
    user.lockedUntil = null;
    user.lastLoginAt = now;
    await this.em.flush();
    await this.audit.write(
      { actorId: user.id, actorName: user.username, ip },
      { action: 'login.success', objectType: 'user', objectId: user.id, objectLabel: user.username },
    );
    return user;
  }

  /** Case-insensitive lookup through the `lower(username)` unique index. */
  private async findByUsername(username: string): Promise<User | null> {
    const rows: { id: number }[] = await this.em.execute('select id from users where lower(username) = lower(?)', [username]);
    if (rows.length === 0) return null;
    return this.em.findOne(User, { id: rows[0].id }, { populate: ['passwordHash', 'roles', 'profile', 'memberships'], refresh: true });
  }

  /** Counts a failed attempt atomically; locks the account when it reaches the threshold. */
  private async recordFailure(user: User | null, typedUsername: string, ip: string | null): Promise<void> {
    if (!user) {
      await this.audit.write(
        { actorName: typedUsername || null, ip },
        { action: 'login.failure', objectType: 'user', objectLabel: typedUsername || undefined, detail: 'unknown username' },
      );
      return;
    }
    const settings = await this.settings.get();
    // While the account is locked, further attempts neither count nor extend the lock.
    const rows: { failed_logins: number; locked: boolean }[] = await this.em.execute(
      `update users
          set failed_logins = case when failed_logins + 1 >= ? then 0 else failed_logins + 1 end,
              locked_until = case when failed_logins + 1 >= ? then now() + make_interval(mins => ?) else locked_until end
        where id = ? and (locked_until is null or locked_until <= now())
        returning failed_logins, locked_until > now() as locked`,
      [settings.lockoutThreshold, settings.lockoutThreshold, settings.lockoutMinutes, user.id],
    );
    const source = { actorId: user.id, actorName: user.username, ip };
    const target = { objectType: 'user', objectId: user.id, objectLabel: user.username };
    await this.audit.write(source, { action: 'login.failure', ...target, detail: 'wrong password' });
    if (rows[0]?.locked) {
      await this.audit.write(source, {
        action: 'login.lockout',
        ...target,
        detail: `locked for ${settings.lockoutMinutes} minutes after ${settings.lockoutThreshold} failed attempts`,
      });
    }
  }
}
