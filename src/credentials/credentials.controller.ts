import { Body, Controller, Get, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
import { ValidationError } from '../common/errors';
import { flash } from '../common/flash';
import { FormView, parseId, text } from '../common/form';
import { BulkActionRunner } from '../users/bulk-actions';
import { BulkResult, CredentialsService } from './credentials.service';

/** "Change username/password" of a user, and the password send date bulk actions of the users list. */
@Controller('users')
export class CredentialsController {
  constructor(
    private readonly credentials: CredentialsService,
    private readonly bulk: BulkActionRunner,
  ) {}

  @Post('password-send-date')
  @RequirePermission('send_credentials')
  async schedule(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const sendAt = text(body, 'sendAt');
    await this.bulk.run(actor, req, res, body, {
      permission: 'send_credentials',
      verb: 'Set password send date for',
      consequence: `Each of them gets a new password e-mailed at ${sendAt === '' ? '(no date given)' : sendAt.replace('T', ' ')} in the client time zone of Settings → Mail (a pending send date is replaced). Users you may not send credentials to, users without an e-mail address and users whose e-mail is being sent right now are skipped.`,
      carry: ['sendAt'],
      apply: (ids) => this.credentials.scheduleMany(actor, ids, sendAt),
      report: (req, r) =>
        this.report(req, r, `Password send date set to ${r.when} for ${r.done.length} user${r.done.length === 1 ? '' : 's'}${r.done.length ? `: ${r.done.join(', ')}` : ''}.`),
    });
  }

  @Post('password-send-date/clear')
  @RequirePermission('send_credentials')
  async clear(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    await this.bulk.run(actor, req, res, body, {
      permission: 'send_credentials',
      verb: 'Clear password send date of',
      consequence: 'Each of them has the password send date cleared and the pending credential e-mail cancelled. Users without a send date and users whose e-mail is being sent right now are skipped.',
      apply: (ids) => this.credentials.clearMany(actor, ids),
      report: (req, r) => this.report(req, r, `Password send date cleared for ${r.done.length} user${r.done.length === 1 ? '' : 's'}${r.done.length ? `: ${r.done.join(', ')}` : ''}.`),
    });
  }

  private report(req: Request, result: BulkResult, message: string) {
    flash(req, result.done.length > 0 ? 'success' : 'warning', message);
    if (result.skipped.length > 0) flash(req, 'warning', `Skipped ${result.skipped.length} user${result.skipped.length === 1 ? '' : 's'}:`, result.skipped);
  }

  @Get(':id/credentials')
  async page(@CurrentActor() actor: Actor, @Param('id') id: string, @Res() res: Response) {
    res.render('credentials/show', await this.locals(actor, parseId(id)));
  }

  @Post(':id/credentials/username')
  @RequirePermission('manage_users')
  @FormView('credentials/show')
  async rename(@CurrentActor() actor: Actor, @Param('id') id: string, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const userId = parseId(id);
    try {
      const user = await this.credentials.changeUsername(actor, userId, { username: text(body, 'username') });
      flash(req, 'success', `Username changed to ${user.username}.`);
      res.redirect(303, `/users/${user.id}/credentials`);
    } catch (error) {
      if (error instanceof ValidationError) Object.assign(res.locals, await this.locals(actor, userId));
      throw error;
    }
  }

  @Post(':id/credentials/email')
  @RequirePermission('send_credentials')
  async email(@CurrentActor() actor: Actor, @Param('id') id: string, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const userId = parseId(id);
    const recipient = text(body, 'recipient') === 'self' ? 'self' : 'user';
    const sent = await this.credentials.sendNow(actor, userId, recipient);
    flash(
      req,
      'success',
      `A new password for ${sent.username} is being e-mailed to ${sent.to}. The current password keeps working until the mail server has accepted the message.`,
    );
    res.redirect(303, `/users/${userId}/credentials`);
  }

  private async locals(actor: Actor, userId: number | null) {
    const page = await this.credentials.page(actor, userId);
    return { title: `Change username/password: ${page.user.username}`, ...page, values: { username: page.user.username } };
  }
}

