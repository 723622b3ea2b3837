import { Body, Controller, Get, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
import { PERMISSIONS, PERMISSION_LABELS } from '../access/permissions';
import { BusinessRuleError } from '../common/errors';
import { flash } from '../common/flash';
import { FormView, list, text } from '../common/form';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { RolesService } from './roles.service';

/** The permission checkboxes of the role form. `locked`: the Administrator role (all, disabled). */
function permissionChoices(selected: readonly string[], locked: boolean) {
  return PERMISSIONS.map((key) => ({ key, label: PERMISSION_LABELS[key], checked: locked || selected.includes(key), disabled: locked }));
}

function input(body: Record<string, unknown>) {
  return { name: text(body, 'name'), description: text(body, 'description'), permissions: list(body, 'permissions') };
}

@Controller('roles')
@RequirePermission('manage_settings')
export class RolesController {
  constructor(private readonly roles: RolesService) {}

  @Get()
  async index(@CurrentActor() actor: Actor, @Res() res: Response) {
    res.render('roles/index', { title: 'Roles (user groups)', roles: await this.roles.list(actor) });
  }

  @Get('new')
  newForm(@Res() res: Response) {
    res.render('roles/form', { title: 'New role', values: {}, permissions: permissionChoices([], false) });
  }

  @Post()
  @FormView('roles/form', { title: 'New role' }, (_c, { body }) => ({ permissions: permissionChoices(list(body, 'permissions'), false) }))
  async create(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const role = await this.roles.create(actor, input(body));
    flash(req, 'success', `Role ${role.name} created.`);
    res.redirect(303, `/roles/${role.id}`);
  }

  @Get(':id')
  async show(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Res() res: Response) {
    const details = await this.roles.details(actor, id);
    res.render('roles/show', { title: `Role ${details.role.name}`, ...details });
  }

  @Get(':id/edit')
  async editForm(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Res() res: Response) {
    const { role } = await this.roles.details(actor, id);
    res.render('roles/form', {
      title: `Edit role ${role.name}`,
      role,
      values: { name: role.name, description: role.description ?? '' },
      permissions: permissionChoices(role.permissions, role.isAdministratorRole),
    });
  }

  @Post(':id')
  // The form is shown again with the role as stored and the submitted choices.
  @FormView('roles/form', { title: 'Edit role' }, async (c: RolesController, { actor, id, body }) => {
    const { role } = await c.roles.details(actor, id);
    return { role, permissions: permissionChoices(role.isAdministratorRole ? PERMISSIONS : list(body, 'permissions'), role.isAdministratorRole) };
  })
  async update(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const role = await this.roles.update(actor, id, input(body));
    flash(req, role.changed ? 'success' : 'info', role.changed ? `Role ${role.name} saved.` : `Nothing to save: role ${role.name} is unchanged.`);
    res.redirect(303, `/roles/${role.id}`);
  }

  @Post(':id/delete')
  async remove(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Req() req: Request, @Res() res: Response) {
    try {
      const { name, wasDefault } = await this.roles.delete(actor, id);
      const note = wasDefault ? ' It was a default role for new users and has been removed from the client settings.' : '';
      flash(req, 'success', `Role ${name} deleted.${note}`);
      res.redirect(303, '/roles');
    } catch (error) {
      if (!(error instanceof BusinessRuleError)) throw error;
      // Refused: the role's page again, with the reason.
      const details = await this.roles.details(actor, id);
      res.status(error.status).render('roles/show', { title: `Role ${details.role.name}`, ...details, refusal: error.message });
    }
  }
}
