import { Body, Controller, Get, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
import { describePolicy } from '../accounts/password-policy';
import { flash } from '../common/flash';
import { FormView, text } from '../common/form';
import { toPolicyPreview } from './password-settings.view';
import { asvsPreset, PasswordSettingsService } from './password-settings.service';

const PASSWORDS = { title: 'Settings: Password requirements', tab: 'passwords' };
const AUTHENTICATION = { title: 'Settings: Authentication', tab: 'authentication' };
const MAIL = { title: 'Settings: Mail', tab: 'mail' };

/** The Password requirements, Authentication and Mail tabs of the client settings. */
@Controller('settings')
@RequirePermission('manage_settings')
export class PasswordSettingsController {
  constructor(private readonly settings: PasswordSettingsService) {}

  @Get('passwords')
  async passwords(@CurrentActor() actor: Actor, @Res() res: Response) {
    const values = await this.settings.passwordValues(actor);
    res.render('settings/passwords', { ...PASSWORDS, values, policy: describePolicy(toPolicyPreview(values)) });
  }

  @Post('passwords')
  @FormView('settings/passwords', PASSWORDS)
  async savePasswords(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    if (text(body, 'preset') === 'asvs') {
      // Fills the form with the preset; nothing is saved until the administrator presses Save.
      const values = asvsPreset(await this.settings.passwordValues(actor));
      const filled = { ...values, initialValidityDays: text(body, 'initialValidityDays') || values.initialValidityDays };
      res.status(200).render('settings/passwords', { ...PASSWORDS, values: filled, presetFilled: true, policy: describePolicy(toPolicyPreview(filled)) });
      return;
    }
    res.locals.policy = describePolicy(toPolicyPreview(await this.settings.passwordValues(actor)));
    const checked = (field: string) => text(body, field) === 'on';
    const changed = await this.settings.updatePasswords(actor, {
      minLength: text(body, 'minLength'),
      maxLength: text(body, 'maxLength'),
      requireLetter: checked('requireLetter'),
      requireDigit: checked('requireDigit'),
      requireUpper: checked('requireUpper'),
      requireLower: checked('requireLower'),
      requireSymbol: checked('requireSymbol'),
      mustChangeAtFirstLogin: checked('mustChangeAtFirstLogin'),
      initialValidityDays: text(body, 'initialValidityDays'),
      lockoutThreshold: text(body, 'lockoutThreshold'),
      lockoutMinutes: text(body, 'lockoutMinutes'),
    });
    flash(req, 'success', changed ? 'Password requirements saved.' : 'Nothing changed.');
    res.redirect(303, '/settings/passwords');
  }

  @Get('authentication')
  async authentication(@CurrentActor() actor: Actor, @Res() res: Response) {
    res.render('settings/authentication', { ...AUTHENTICATION, values: await this.settings.authenticationValues(actor), defaultLoginUrl: this.settings.defaultLoginUrl });
  }

  @Post('authentication')
  @FormView('settings/authentication', AUTHENTICATION)
  async saveAuthentication(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    res.locals.defaultLoginUrl = this.settings.defaultLoginUrl;
    const changed = await this.settings.updateAuthentication(actor, { loginUrl: text(body, 'loginUrl') });
    flash(req, 'success', changed ? 'Authentication settings saved.' : 'Nothing changed.');
    res.redirect(303, '/settings/authentication');
  }

  @Get('mail')
  async mail(@CurrentActor() actor: Actor, @Res() res: Response) {
    res.render('settings/mail', { ...MAIL, values: await this.settings.mailValues(actor), timeZones: timeZones() });
  }

  @Post('mail')
  @FormView('settings/mail', MAIL)
  async saveMail(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    res.locals.timeZones = timeZones();
    const changed = await this.settings.updateMail(actor, {
      mailSenderName: text(body, 'mailSenderName'),
      mailSenderAddress: text(body, 'mailSenderAddress'),
      timeZone: text(body, 'timeZone'),
    });
    flash(req, 'success', changed ? 'Mail settings saved.' : 'Nothing changed.');
    res.redirect(303, '/settings/mail');
  }
}

let zones: string[] | null = null;
function timeZones(): string[] {
  zones ??= ['UTC', ...(Intl.supportedValuesOf('timeZone') as string[]).filter((z) => z !== 'UTC')];
  return zones;
}
