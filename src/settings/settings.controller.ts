import { Body, Controller, Get, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
import { flash } from '../common/flash';
import { FormView, text } from '../common/form';
import { SettingsService } from './settings.service';

/** Client settings, one tab per URL (`/settings/<tab>`). */
@Controller('settings')
@RequirePermission('manage_settings')
export class SettingsController {
  constructor(private readonly settings: SettingsService) {}

  @Get()
  index(@Res() res: Response) {
    res.redirect(303, '/settings/portal');
  }

  @Get('portal')
  async portal(@CurrentActor() actor: Actor, @Res() res: Response) {
    const settings = await this.settings.forEdit(actor);
    res.render('settings/portal', { title: 'Settings: Portal', tab: 'portal', values: { limitMemberVisibility: settings.limitMemberVisibility ? 'yes' : 'no' } });
  }

  @Post('portal')
  @FormView('settings/portal', { title: 'Settings: Portal', tab: 'portal' })
  async savePortal(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    await this.settings.updatePortal(actor, { limitMemberVisibility: text(body, 'limitMemberVisibility') });
    flash(req, 'success', 'Portal settings saved.');
    res.redirect(303, '/settings/portal');
  }
}
