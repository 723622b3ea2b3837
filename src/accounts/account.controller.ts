import { Body, Controller, Get, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, SessionSetupRoute } from '../access/decorators';
import { flash } from '../common/flash';
import { FormView, raw } from '../common/form';
import { AccountService } from './account.service';

@Controller('account')
@SessionSetupRoute()
export class AccountController {
  constructor(private readonly accounts: AccountService) {}

  @Get()
  async show(@CurrentActor() actor: Actor, @Res() res: Response) {
    res.render('account/index', { title: 'My account', ...(await this.accounts.details(actor)), mustChange: actor.mustChangePassword });
  }

  @Post('password')
  // The form is shown again on the account page: it needs the account's details too.
  @FormView('account/index', { title: 'My account' }, async (c: AccountController, { actor }) => ({
    mustChange: actor.mustChangePassword,
    ...(await c.accounts.details(actor)),
  }))
  async changePassword(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const { sessionVersion } = await this.accounts.changePassword(actor, {
      currentPassword: raw(body, 'currentPassword'),
      newPassword: raw(body, 'newPassword'),
      confirmPassword: raw(body, 'confirmPassword'),
    });
    // This session stays signed in; every other session of the user has just ended.
    if (req.session.passport?.user) req.session.passport.user.v = sessionVersion;
    flash(req, 'success', 'Your password has been changed. Other sessions of your account have been signed out.');
    res.redirect(303, actor.mustChangePassword ? '/' : '/account');
  }
}
