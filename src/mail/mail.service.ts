import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ReadStream } from 'node:fs';
import { AccessService } from '../access/access.service';
import type { Actor } from '../access/actor';
import { allows } from '../access/policy';
import { ForbiddenError, NotFoundError } from '../common/errors';
import { MailTransport } from './mail-transport';
import { listMail, mailFile } from './mail.queries';

export interface MailRow {
  id: number;
  kind: string;
  recipient: string;
  subject: string;
  status: string;
  attempts: number;
  error: string | null;
  userId: number | null;
  username: string | null;
  created: Date;
  sent: Date | null;
  /** A queued message: when it is due to go out (its send date, or the next try after a failure). */
  due: Date | null;
  /** A stored `.eml` this session may download. */
  downloadable: boolean;
}

/** What /mail shows instead of the address of a recipient the session may not see. */
export const HIDDEN_RECIPIENT = 'the administrator who asked for it (address hidden)';

/**
 * The /mail page (SPEC §4): every e-mail sent or pending, with its envelope and error, never its
 * body. Administrators see every message; sessions allowed to send credentials see the messages
 * about users in their subtree. The stored `.eml` of file mode holds the generated password, so
 * only Administrators may download it.
 */
@Injectable()
export class MailService {
  constructor(
    private readonly em: EntityManager,
    private readonly access: AccessService,
    private readonly transport: MailTransport,
  ) {}

  async list(actor: Actor, options: { after?: string; size: number; status?: string }): Promise<{ rows: MailRow[]; next: string | null; mode: 'smtp' | 'file' }> {
    if (!allows(actor, 'send_credentials')) throw new ForbiddenError();
    const rows = await listMail(this.em, {
      scope: actor.isAdministrator ? null : this.access.visibleUsersCondition(actor, 'u'),
      // The copy an Administrator (or anyone outside the subtree) had sent to themselves names their
      // address: shown only when the session may see that recipient too.
      recipientScope: this.access.visibleUsersCondition(actor, 'ru'),
      viewerId: actor.userId,
      before: options.after && /^\d{1,10}$/.test(options.after) ? Number(options.after) : null,
      status: options.status && ['queued', 'sent', 'failed'].includes(options.status) ? options.status : null,
      limit: options.size + 1,
    });
    const page = rows.slice(0, options.size);
    return {
      rows: page.map((r) => ({
        id: r.id,
        kind: r.kind,
        recipient: r.recipient ?? HIDDEN_RECIPIENT,
        subject: r.subject,
        status: r.status,
        attempts: r.attempts,
        error: r.error,
        userId: r.user_id,
        username: r.username,
        created: r.created_at,
        sent: r.sent_at,
        due: r.due_at,
        downloadable: actor.isAdministrator && r.eml_file !== null,
      })),
      next: rows.length > options.size ? String(page[page.length - 1].id) : null,
      mode: this.transport.mode,
    };
  }

  /** The stored `.eml` of a message (file mode): Administrators only, since it holds the password. */
  async eml(actor: Actor, id: number | null): Promise<{ name: string; stream: ReadStream }> {
    if (!allows(actor, 'send_credentials')) throw new ForbiddenError();
    if (id === null) throw new NotFoundError();
    const row = await mailFile(this.em, id);
    if (!row) throw new NotFoundError();
    if (!actor.isAdministrator) {
      const target = row.user_id === null ? null : await this.access.userTarget(row.user_id);
      const visible = target !== null && target.membershipPaths.some((p) => p.startsWith(actor.currentOrganization.path));
      if (!visible) throw new NotFoundError();
      throw new ForbiddenError('Only Administrators may download stored messages: a credential e-mail contains the password.');
    }
    if (!row.eml_file || !/^[A-Za-z0-9._-]+\.eml$/.test(row.eml_file)) throw new NotFoundError('This message has no stored .eml file.');
    const path = join(this.transport.mailDir, row.eml_file);
    if (!existsSync(path)) throw new NotFoundError('The stored .eml file is no longer there.');
    return { name: row.eml_file, stream: createReadStream(path) };
  }
}
