import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AccessService } from '../access/access.service';
import type { Actor } from '../access/actor';
import { allows, canActOnUser, canListUsers, canSeeUser, UserTarget } from '../access/policy';
import { AuditService } from '../audit/audit.service';
import { BusinessRuleError, ForbiddenError, NotFoundError, ValidationError, uniqueViolation } from '../common/errors';
import { SettingsService } from '../settings/settings.service';
import { LOCAL_PROVIDER } from '../users/user.entity';
import { usernameProblem } from '../users/username-format';
import { Clock } from './clock';
import { cancelPendingCredentialMail } from './credential-jobs';
import { clearSendDate, insertCredentialJob, lockSendState, lockUsername, recentMessages, renameUser, userEmail, UserFacts, userFacts, usernameTaken } from './credentials.queries';
import { CredentialDispatcher } from './credential-dispatcher';
import { HIDDEN_RECIPIENT } from '../mail/mail.service';
import { credentialSubject, formatInZone, zonedLocalToUtc } from './credential-mail';

export type Recipient = 'user' | 'self';

export interface CredentialsPage {
  user: UserFacts;
  canRename: boolean;
  canSend: boolean;
  /** Why "Email new password to user" cannot be used, or `null`. */
  toUserRefusal: string | null;
  toSelfRefusal: string | null;
  actorEmail: string | null;
  messages: { id: number; recipient: string; subject: string; status: string; attempts: number; error: string | null; created: Date; sent: Date | null }[];
}

export interface BulkResult {
  done: string[];
  skipped: string[];
  /** The date as the client time zone shows it; `null`: sent now. */
  when?: string | null;
}

/** Selected users who already received a password: a new date e-mails them another one. */
export interface ResendConfirmation {
  confirm: { id: number; username: string; sentAt: Date }[];
  /** How many of the other selected users the date applies to without asking. */
  others: number;
  when: string | null;
}

/** "Set password send date" / "Email new password now" of the users list. */
export interface ScheduleInput {
  /** A `datetime-local` value in the client time zone; `null`: send now. */
  sendAt: string | null;
  /** The answer of the confirmation step for users who already received a password. */
  resend: 'confirm' | 'skip' | null;
  /** The users that step listed (and so were confirmed); others that turned "sent" meanwhile are skipped. */
  confirmedIds: number[];
}

const BUSY = (username: string) =>
  new BusinessRuleError('credentials_busy', `Credentials of ${username} were scheduled or sent by someone else at the same moment. Reload the page and try again.`);

const USERNAME_TAKEN = 'This username is already taken (usernames are compared without regard to case).';

/**
 * "Change username/password" (SPEC §4) and the password send date of the users list: creates,
 * replaces and cancels credential jobs; the dispatcher sends them. Passwords are never typed,
 * stored in a job, logged or audited.
 */
@Injectable()
export class CredentialsService {
  constructor(
    private readonly em: EntityManager,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly settings: SettingsService,
    private readonly clock: Clock,
    private readonly dispatcher: CredentialDispatcher,
  ) {}

  /** Why credentials cannot be e-mailed for this user (to `recipient`), or `null`. */
  private refusal(actor: Actor, user: UserFacts, recipient: Recipient, actorEmail: string | null): string | null {
    if (user.id === actor.userId) return 'This is your own account: change your password on My account.';
    if (user.provider !== LOCAL_PROVIDER) return `${user.username} signs in with ${user.provider_label ?? user.provider} (single sign-on): Tessera sends no password for SSO users.`;
    if (!user.enabled) return `${user.username} is disabled: enable the account before sending credentials.`;
    if (recipient === 'user' && !user.email) return `${user.username} has no e-mail address: add one to their contact, or use "Email new password to myself".`;
    if (recipient === 'self' && !actorEmail) return 'You have no e-mail address yourself: add one to your contact first.';
    return null;
  }

  /** The "Change username/password" page: visible to sessions that may rename or send for the user. */
  async page(actor: Actor, userId: number | null): Promise<CredentialsPage> {
    if (!canListUsers(actor)) throw new ForbiddenError();
    const target = userId === null ? null : await this.access.userTarget(userId);
    if (!target || !canSeeUser(actor, target)) throw new NotFoundError();
    const canRename = canActOnUser(actor, target, 'manage_users');
    const canSend = canActOnUser(actor, target, 'send_credentials');
    if (!canRename && !canSend) throw new ForbiddenError('You may not manage this user.');
    const user = (await userFacts(this.em, userId!))!;
    const actorEmail = await userEmail(this.em, actor.userId);
    const recipientScope = this.access.visibleUsersCondition(actor, 'ru');
    // As on /mail: the address of a copy sent to someone the session may not see stays hidden.
    const messages = await recentMessages(this.em, { userId: userId!, viewerId: actor.userId, recipientScope, hidden: HIDDEN_RECIPIENT });
    return {
      user,
      canRename,
      canSend,
      toUserRefusal: this.refusal(actor, user, 'user', actorEmail),
      toSelfRefusal: this.refusal(actor, user, 'self', actorEmail),
      actorEmail,
      messages: messages.map((m) => ({
        id: m.id,
        recipient: m.recipient,
        subject: m.subject,
        status: m.status,
        attempts: m.attempts,
        error: m.error,
        created: m.created_at,
        sent: m.sent_at,
      })),
    };
  }

  /** Changes a user's username (unique without regard to case). */
  async changeUsername(actor: Actor, userId: number | null, input: { username: string }): Promise<{ id: number; username: string }> {
    if (userId === null) throw new NotFoundError();
    await this.access.assertCanActOnUser(actor, userId, 'manage_users');
    const username = input.username.trim();
    const problem = usernameProblem(username);
    if (problem) throw ValidationError.single('username', problem);
    try {
      return await this.em.transactional(async (tx) => {
        const before = await lockUsername(tx, userId);
        if (before === null) throw new NotFoundError();
        if (before === username) return { id: userId, username };
        if (await usernameTaken(tx, username, userId)) throw ValidationError.single('username', USERNAME_TAKEN);
        await renameUser(tx, userId, username);
        await this.audit.record(
          actor,
          { action: 'user.username_changed', objectType: 'user', objectId: userId, objectLabel: username, changes: { username: { from: before, to: username } } },
          tx,
        );
        return { id: userId, username };
      });
    } catch (error) {
      throw uniqueViolation(error, { users_username_unique: ['username', USERNAME_TAKEN] }) ?? error;
    }
  }

  /** "Email new password to user / to myself": a job due now, then an immediate dispatch pass. */
  async sendNow(actor: Actor, userId: number | null, recipient: Recipient): Promise<{ username: string; to: string }> {
    if (userId === null) throw new NotFoundError();
    await this.access.assertCanActOnUser(actor, userId, 'send_credentials');
    const user = await userFacts(this.em, userId);
    if (!user) throw new NotFoundError();
    const actorEmail = await userEmail(this.em, actor.userId);
    const refusal = this.refusal(actor, user, recipient, actorEmail);
    if (refusal) throw new BusinessRuleError('credentials_refused', refusal, 409);
    if (user.live_job === 'sending') throw new BusinessRuleError('credentials_busy', `A credential e-mail for ${user.username} is being sent right now. Try again in a minute.`);
    const to = recipient === 'user' ? user.email! : actorEmail!;
    const settings = await this.settings.get();
    await this.liveJobRace(user.username, () =>
      this.em.transactional(async (tx) => {
        await this.replaceJob(tx, actor, user, recipient, this.clock.now(), to, settings.mailSenderName ?? 'Tessera');
        await this.audit.record(
          actor,
          {
            action: 'credentials.send_requested',
            objectType: 'user',
            objectId: user.id,
            objectLabel: user.username,
            detail: recipient === 'user' ? `New password to be e-mailed to the user (${to}).` : `New password to be e-mailed to ${actor.username} (${to}).`,
          },
          tx,
        );
      }),
    );
    void this.dispatcher.kick();
    return { username: user.username, to };
  }

  /** Cancels the user's pending job (and its queued message) and creates a new one. */
  private async replaceJob(tx: EntityManager, actor: Actor, user: UserFacts, recipient: Recipient, dueAt: Date, to: string, product: string): Promise<void> {
    await cancelPendingCredentialMail(tx, user.id);
    await insertCredentialJob(tx, {
      userId: user.id,
      recipient,
      recipientUserId: recipient === 'user' ? user.id : actor.userId,
      address: to,
      dueAt,
      requestedBy: actor.userId,
      requestedByName: actor.username,
      subject: credentialSubject(product),
    });
  }

  /** Two requests creating a job for the same user at once: the database keeps one, the other gets a clear message. */
  private async liveJobRace<T>(usernames: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const e = error as { code?: string; constraint?: string };
      if (e?.code === '23505' && e.constraint === 'credential_jobs_one_live_per_user') throw BUSY(usernames);
      throw error;
    }
  }

  /** The users of a bulk action the session may act on, and the others as "skipped" lines. */
  private async targets(actor: Actor, ids: number[]): Promise<{ allowed: UserFacts[]; skipped: string[] }> {
    const allowed: UserFacts[] = [];
    const skipped: string[] = [];
    for (const id of [...new Set(ids)]) {
      const target: UserTarget | null = await this.access.userTarget(id);
      const user = target ? await userFacts(this.em, id) : null;
      if (!target || !user || !canSeeUser(actor, target)) skipped.push(`User #${id}: not found.`);
      else if (!canActOnUser(actor, target, 'send_credentials')) skipped.push(`${user.username}: you may not send this user's credentials.`);
      else allowed.push(user);
    }
    return { allowed, skipped };
  }

  /**
   * "Set password send date for selected users" (`sendAt` a `datetime-local` value in the client
   * time zone, Settings → Mail) and "Email new password now" (`sendAt` null): creates or replaces
   * the pending job of each eligible user. A date in the past is refused: sending now is its own
   * action. Users who already received a password get another one only when the administrator
   * confirmed it: without an answer, nothing is written and the users to confirm are returned.
   */
  async scheduleMany(actor: Actor, ids: number[], input: ScheduleInput): Promise<BulkResult | ResendConfirmation> {
    if (!allows(actor, 'send_credentials')) throw new ForbiddenError();
    if (ids.length === 0) throw ValidationError.form('Select at least one user.');
    const settings = await this.settings.get();
    const now = this.clock.now();
    let dueAt = now;
    let when: string | null = null;
    if (input.sendAt !== null) {
      const parsed = zonedLocalToUtc(input.sendAt, settings.timeZone);
      if (!parsed) throw ValidationError.single('sendAt', `Enter the password send date as a date and time (time zone ${settings.timeZone}).`);
      when = `${formatInZone(parsed, settings.timeZone)} (${settings.timeZone})`;
      if (parsed.getTime() <= now.getTime()) {
        throw ValidationError.single(
          'sendAt',
          `The password send date ${when} is not in the future (it is now ${formatInZone(now, settings.timeZone)}). Choose a later date and time, or use "Email new password now".`,
        );
      }
      dueAt = parsed;
    }
    const { allowed, skipped } = await this.targets(actor, ids);
    const alreadySent = allowed.filter((u) => u.password_send_status === 'sent' && u.password_send_at !== null && !this.refusal(actor, u, 'user', null));
    if (alreadySent.length > 0 && input.resend === null) {
      return {
        confirm: alreadySent.map((u) => ({ id: u.id, username: u.username, sentAt: new Date(u.password_send_at!) })),
        others: allowed.length - alreadySent.length,
        when,
      };
    }
    const confirmed = new Set(input.resend === 'confirm' ? input.confirmedIds : []);
    const done: string[] = [];
    const schedule = async (tx: EntityManager) => {
      // Users are locked one by one: in id order, so that two bulk requests cannot deadlock.
      for (const user of [...allowed].sort((a, b) => a.id - b.id)) {
        const refusal = this.refusal(actor, user, 'user', null);
        if (refusal) {
          skipped.push(refusal);
          continue;
        }
        // Read again under the row lock: the dispatcher may have sent the pending e-mail since.
        const current = await lockSendState(tx, user.id);
        if (!current) {
          skipped.push(`User #${user.id}: not found.`);
          continue;
        }
        if (current.password_send_status === 'sent' && current.password_send_at !== null && !confirmed.has(user.id)) {
          skipped.push(
            `${user.username}: already received a new password (${formatInZone(current.password_send_at, settings.timeZone)}, ${settings.timeZone}); not sent again${input.resend === 'skip' ? '' : ' — select the user again to confirm a new one'}.`,
          );
          continue;
        }
        if (user.live_job === 'sending') {
          skipped.push(`${user.username}: a credential e-mail is being sent right now.`);
          continue;
        }
        await this.replaceJob(tx, actor, user, 'user', dueAt, user.email!, settings.mailSenderName ?? 'Tessera');
        await this.audit.record(
          actor,
          {
            action: when === null ? 'credentials.send_requested' : 'credentials.scheduled',
            objectType: 'user',
            objectId: user.id,
            objectLabel: user.username,
            changes: { sendDate: { from: isoOrNull(current.password_send_at), to: dueAt.toISOString() } },
            detail: when === null ? `New password to be e-mailed to the user (${user.email}).` : `New password to be e-mailed to ${user.email} at ${when}.`,
          },
          tx,
        );
        done.push(user.username);
      }
    };
    await this.liveJobRace(allowed.map((u) => u.username).join(', '), () => this.em.transactional(schedule));
    if (done.length > 0 && when === null) void this.dispatcher.kick();
    return { done, skipped, when };
  }

  /** Clears the password send date of the selected users and cancels their pending e-mails. */
  async clearMany(actor: Actor, ids: number[]): Promise<BulkResult> {
    if (!allows(actor, 'send_credentials')) throw new ForbiddenError();
    if (ids.length === 0) throw ValidationError.form('Select at least one user.');
    const { allowed, skipped } = await this.targets(actor, ids);
    const done: string[] = [];
    await this.em.transactional(async (tx) => {
      for (const user of allowed) {
        if (user.live_job === 'sending') {
          skipped.push(`${user.username}: a credential e-mail is being sent right now.`);
          continue;
        }
        if (user.password_send_at === null && user.live_job === null) {
          skipped.push(`${user.username}: no password send date to clear.`);
          continue;
        }
        await cancelPendingCredentialMail(tx, user.id);
        await clearSendDate(tx, user.id);
        await this.audit.record(
          actor,
          {
            action: 'credentials.schedule_cleared',
            objectType: 'user',
            objectId: user.id,
            objectLabel: user.username,
            changes: { sendDate: { from: isoOrNull(user.password_send_at), to: null } },
          },
          tx,
        );
        done.push(user.username);
      }
    });
    return { done, skipped };
  }
}


/** Timestamps of raw queries arrive as strings or dates. */
function isoOrNull(value: Date | string | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}
