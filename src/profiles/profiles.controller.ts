import { Body, Controller, Get, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
import { BusinessRuleError } from '../common/errors';
import { flash } from '../common/flash';
import { FormView, text } from '../common/form';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { ProfilesService, START_PAGE_LABELS } from './profiles.service';
import type { ProfileStartPage } from './user-profile.entity';

/** The start page radio buttons. `locked`: a built-in profile, whose start page is fixed. */
function startPageChoices(selected: string, locked: boolean) {
  return (Object.keys(START_PAGE_LABELS) as ProfileStartPage[]).map((key) => ({
    key,
    label: START_PAGE_LABELS[key],
    checked: key === selected,
    disabled: locked,
  }));
}

function input(body: Record<string, unknown>) {
  return { name: text(body, 'name'), description: text(body, 'description'), startPage: text(body, 'startPage') };
}

@Controller('profiles')
@RequirePermission('manage_settings')
export class ProfilesController {
  constructor(private readonly profiles: ProfilesService) {}

  @Get()
  async index(@CurrentActor() actor: Actor, @Res() res: Response) {
    res.render('profiles/index', { title: 'User profiles', profiles: await this.profiles.list(actor) });
  }

  @Get('new')
  newForm(@Res() res: Response) {
    res.render('profiles/form', { title: 'New user profile', values: {}, startPages: startPageChoices('self_service', false) });
  }

  @Post()
  @FormView('profiles/form', { title: 'New user profile' }, (_c, { body }) => ({ startPages: startPageChoices(text(body, 'startPage'), false) }))
  async create(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const profile = await this.profiles.create(actor, input(body));
    flash(req, 'success', `User profile ${profile.name} created.`);
    res.redirect(303, `/profiles/${profile.id}`);
  }

  @Get(':id')
  async show(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Res() res: Response) {
    const profile = await this.profiles.details(actor, id);
    res.render('profiles/show', { title: `User profile ${profile.name}`, profile });
  }

  @Get(':id/edit')
  async editForm(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Res() res: Response) {
    const profile = await this.profiles.details(actor, id);
    res.render('profiles/form', {
      title: `Edit user profile ${profile.name}`,
      profile,
      values: { name: profile.name, description: profile.description ?? '' },
      startPages: startPageChoices(profile.startPage, profile.builtIn),
    });
  }

  @Post(':id')
  @FormView('profiles/form', { title: 'Edit user profile' }, async (c: ProfilesController, { actor, id, body }) => {
    const profile = await c.profiles.details(actor, id);
    return { profile, startPages: startPageChoices(profile.builtIn ? profile.startPage : text(body, 'startPage'), profile.builtIn) };
  })
  async update(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const profile = await this.profiles.update(actor, id, input(body));
    flash(
      req,
      profile.changed ? 'success' : 'info',
      profile.changed ? `User profile ${profile.name} saved.` : `Nothing to save: user profile ${profile.name} is unchanged.`,
    );
    res.redirect(303, `/profiles/${profile.id}`);
  }

  @Post(':id/delete')
  async remove(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Req() req: Request, @Res() res: Response) {
    try {
      const { name, wasDefault } = await this.profiles.delete(actor, id);
      const note = wasDefault
        ? ' It was the default profile for new users: new users get no profile (and cannot sign in) until you choose another default in the client settings.'
        : '';
      flash(req, 'success', `User profile ${name} deleted.${note}`);
      res.redirect(303, '/profiles');
    } catch (error) {
      if (!(error instanceof BusinessRuleError)) throw error;
      const profile = await this.profiles.details(actor, id);
      res.status(error.status).render('profiles/show', { title: `User profile ${profile.name}`, profile, refusal: error.message });
    }
  }
}
