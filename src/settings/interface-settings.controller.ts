import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
import { flash } from '../common/flash';
import { FormView, list, parseId, text } from '../common/form';
import { InterfaceSettingsInput, InterfaceSettingsService, InterfaceSettingsValues } from './interface-settings.service';

const PAGE = { title: 'Settings: Interface', tab: 'interface' };

/** Settings → Interface: username format (with a preview computed here) and the defaults of new users. */
@Controller('settings/interface')
@RequirePermission('manage_settings')
export class InterfaceSettingsController {
  constructor(private readonly settings: InterfaceSettingsService) {}

  @Get()
  async show(@CurrentActor() actor: Actor, @Res() res: Response) {
    const page = await this.settings.forEdit(actor);
    res.render('settings/interface', { ...PAGE, ...page, values: formValues(page.values) });
  }

  @Post()
  // Refused: the page's choices (roles, profiles, licences) and the preview of the typed values.
  @FormView('settings/interface', PAGE, (c: InterfaceSettingsController, { body }) => c.settings.page(interfaceInput(body)))
  async save(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const input = interfaceInput(body);
    await this.settings.update(actor, input);
    flash(req, 'success', 'Interface settings saved.');
    res.redirect(303, '/settings/interface');
  }

  /** The "Preview" button: the page again with the typed values and their preview, nothing saved. */
  @Post('preview')
  @HttpCode(200)
  @FormView('settings/interface', PAGE, (c: InterfaceSettingsController, { body }) => c.settings.page(interfaceInput(body)))
  async preview(@CurrentActor() actor: Actor, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const input = interfaceInput(body);
    const page = await this.settings.preview(actor, input);
    res.render('settings/interface', { ...PAGE, ...page, values: formValues(page.values) });
  }
}

function interfaceInput(body: Record<string, unknown>): InterfaceSettingsInput {
  const optionalId = (field: string) => (text(body, field) === '' ? null : (parseId(text(body, field)) ?? 0));
  return {
    usernameFormat: text(body, 'usernameFormat'),
    defaultRoleIds: list(body, 'defaultRoleIds').map((v) => parseId(v) ?? 0),
    defaultProfileId: optionalId('defaultProfileId'),
    defaultLicenceId: optionalId('defaultLicenceId'),
  };
}

function formValues(values: InterfaceSettingsValues) {
  return { usernameFormat: values.usernameFormat, defaultProfileId: values.defaultProfileId ?? '', defaultLicenceId: values.defaultLicenceId ?? '' };
}
