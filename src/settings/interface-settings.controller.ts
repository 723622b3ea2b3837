import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
import { ValidationError } from '../common/errors';
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
  @FormView('settings/interface', PAGE)
  async save(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const input = interfaceInput(body);
    try {
      await this.settings.update(actor, input);
      flash(req, 'success', 'Interface settings saved.');
      res.redirect(303, '/settings/interface');
    } catch (error) {
      if (error instanceof ValidationError) Object.assign(res.locals, await this.settings.page(input));
      throw error;
    }
  }

  /** The "Preview" button: the page again with the typed values and their preview, nothing saved. */
  @Post('preview')
  @HttpCode(200)
  @FormView('settings/interface', PAGE)
  async preview(@CurrentActor() actor: Actor, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const input = interfaceInput(body);
    try {
      const page = await this.settings.preview(actor, input);
      res.render('settings/interface', { ...PAGE, ...page, values: formValues(page.values) });
    } catch (error) {
      if (error instanceof ValidationError) Object.assign(res.locals, await this.settings.page(input));
      throw error;
    }
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
