import { Body, Controller, Get, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
import { flash } from '../common/flash';
import { FormView, RefusalView, text } from '../common/form';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { CredentialsService } from './credentials.service';

/**
 * "Change username/password" of a user: the pages under /users/:id/credentials (the users
 * list's password send date actions are in UsersController, which owns the rest of /users).
 */
@Controller('users/:id/credentials')
export class CredentialsController {
  constructor(private readonly credentials: CredentialsService) {}

  @Get()
  async page(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) userId: number | null, @Res() res: Response) {
    res.render('credentials/show', await this.locals(actor, userId));
  }

  @Post('username')
  @RequirePermission('manage_users')
  @FormView('credentials/show', {}, (c: CredentialsController, { actor, id }) => c.locals(actor, id))
  async rename(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) userId: number | null, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const user = await this.credentials.changeUsername(actor, userId, { username: text(body, 'username') });
    flash(req, 'success', `Username changed to ${user.username}.`);
    res.redirect(303, `/users/${user.id}/credentials`);
  }

  @Post('email')
  @RequirePermission('send_credentials')
  // No e-mail address, an SSO user, a send under way: the page again, saying why.
  @RefusalView('credentials/show', (c: CredentialsController, { actor, id }) => c.locals(actor, id))
  async email(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) userId: number | null, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
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
