import { Body, Controller, Get, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
import { flash } from '../common/flash';
import { describePolicy } from '../accounts/password-policy';
import { FormView, text } from '../common/form';
import { toPolicyPreview } from './password-settings.view';
import { asvsPreset, PasswordSettingsService } from './password-settings.service';
import { SettingsService } from './settings.service';

const PASSWORDS = { title: 'Settings: Password requirements', tab: 'passwords' };
const AUTHENTICATION = { title: 'Settings: Authentication', tab: 'authentication' };
const MAIL = { title: 'Settings: Mail', tab: 'mail' };

/**
 * Client settings, one tab per URL (`/settings/<tab>`): Portal, Password requirements,
 * Authentication and Mail here; Interface (`/settings/interface`, InterfaceSettingsController)
 * and Departments (`/settings/departments`) have controllers of their own.
 */
@Controller('settings')
@RequirePermission('manage_settings')
export class SettingsController {
  constructor(
    private readonly settings: SettingsService,
    private readonly passwordSettings: PasswordSettingsService,
  ) {}

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

  @Get('passwords')
  async passwords(@CurrentActor() actor: Actor, @Res() res: Response) {
    const values = await this.passwordSettings.passwordValues(actor);
    res.render('settings/passwords', { ...PASSWORDS, values, policy: describePolicy(toPolicyPreview(values)) });
  }

  @Post('passwords')
  @FormView('settings/passwords', PASSWORDS, async (c: SettingsController, { actor }) => ({
    policy: describePolicy(toPolicyPreview(await c.passwordSettings.passwordValues(actor))),
  }))
  async savePasswords(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    if (text(body, 'preset') === 'asvs') {
      // Fills the form with the preset; nothing is saved until the administrator presses Save.
      const values = asvsPreset(await this.passwordSettings.passwordValues(actor));
      const filled = { ...values, initialValidityDays: text(body, 'initialValidityDays') || values.initialValidityDays };
      res.status(200).render('settings/passwords', { ...PASSWORDS, values: filled, presetFilled: true, policy: describePolicy(toPolicyPreview(filled)) });
      return;
    }
    const checked = (field: string) => text(body, field) === 'on';
    const changed = await this.passwordSettings.updatePasswords(actor, {
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
    res.render('settings/authentication', { ...AUTHENTICATION, values: await this.passwordSettings.authenticationValues(actor), defaultLoginUrl: this.passwordSettings.defaultLoginUrl });
  }

  @Post('authentication')
  @FormView('settings/authentication', AUTHENTICATION, (c: SettingsController) => ({ defaultLoginUrl: c.passwordSettings.defaultLoginUrl }))
  async saveAuthentication(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const changed = await this.passwordSettings.updateAuthentication(actor, { loginUrl: text(body, 'loginUrl') });
    flash(req, 'success', changed ? 'Authentication settings saved.' : 'Nothing changed.');
    res.redirect(303, '/settings/authentication');
  }

  @Get('mail')
  async mail(@CurrentActor() actor: Actor, @Res() res: Response) {
    res.render('settings/mail', { ...MAIL, values: await this.passwordSettings.mailValues(actor), timeZones: timeZones() });
  }

  @Post('mail')
  @FormView('settings/mail', MAIL, () => ({ timeZones: timeZones() }))
  async saveMail(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const changed = await this.passwordSettings.updateMail(actor, {
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
