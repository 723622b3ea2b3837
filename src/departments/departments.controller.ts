import { Body, Controller, Get, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
import { flash } from '../common/flash';
import { FormView, text } from '../common/form';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { DepartmentsService } from './departments.service';

/** Settings → Departments: the names the Department pull-down of the contact form offers. */
@Controller('settings/departments')
@RequirePermission('manage_settings')
export class DepartmentsController {
  constructor(private readonly departments: DepartmentsService) {}

  @Get()
  async index(@CurrentActor() actor: Actor, @Res() res: Response) {
    res.render('departments/index', { title: 'Settings: Departments', tab: 'departments', departments: await this.departments.list(actor) });
  }

  @Post()
  @FormView('departments/index', { title: 'Settings: Departments', tab: 'departments' }, async (c: DepartmentsController, { actor }) => ({
    departments: await c.departments.list(actor),
  }))
  async create(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const created = await this.departments.create(actor, text(body, 'name'));
    flash(req, 'success', `Department ${created.name} added.`);
    res.redirect(303, '/settings/departments');
  }

  @Get(':id/edit')
  async editForm(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) id: number | null, @Res() res: Response) {
    const department = await this.departments.get(actor, id);
    res.render('departments/edit', { title: `Rename ${department.name}`, tab: 'departments', department, values: { name: department.name } });
  }

  @Post(':id')
  @FormView('departments/edit', { tab: 'departments' }, async (c: DepartmentsController, { actor, id }) => {
    const department = await c.departments.get(actor, id);
    return { title: `Rename ${department.name}`, department };
  })
  async rename(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) id: number | null, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const renamed = await this.departments.rename(actor, id, text(body, 'name'));
    flash(req, 'success', `Department ${renamed.name} saved.`);
    res.redirect(303, '/settings/departments');
  }

  @Get(':id/delete')
  async confirmDelete(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) id: number | null, @Res() res: Response) {
    const department = await this.departments.get(actor, id);
    res.render('departments/delete', { title: `Delete ${department.name}`, tab: 'departments', department });
  }

  @Post(':id/delete')
  async delete(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) id: number | null, @Req() req: Request, @Res() res: Response) {
    const deleted = await this.departments.delete(actor, id);
    flash(req, 'success', `Department ${deleted.name} deleted.${deleted.contactCount ? ` ${deleted.contactCount} contact${deleted.contactCount === 1 ? ' keeps' : 's keep'} the name.` : ''}`);
    res.redirect(303, '/settings/departments');
  }
}
