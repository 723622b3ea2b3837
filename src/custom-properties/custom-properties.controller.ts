import { Body, Controller, Get, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
import { flash } from '../common/flash';
import { FormView, text } from '../common/form';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { CustomPropertiesService, PropertyInput } from './custom-properties.service';

function input(body: Record<string, unknown>): PropertyInput {
  const allowed = body && typeof body.allowedValues === 'string' ? body.allowedValues : '';
  return { name: text(body, 'name'), description: text(body, 'description'), allowedValues: allowed, valueMode: text(body, 'valueMode') };
}

/** `/custom-properties`: user attributes defined by administrators (permission "manage settings"). */
@Controller('custom-properties')
@RequirePermission('manage_settings')
export class CustomPropertiesController {
  constructor(private readonly properties: CustomPropertiesService) {}

  @Get()
  async index(@CurrentActor() actor: Actor, @Res() res: Response) {
    res.render('custom-properties/index', { title: 'Custom properties', properties: await this.properties.list(actor) });
  }

  @Get('new')
  newForm(@Res() res: Response) {
    res.render('custom-properties/form', { title: 'New custom property', values: { valueMode: 'single' } });
  }

  @Post()
  @FormView('custom-properties/form', { title: 'New custom property' })
  async create(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const def = await this.properties.create(actor, input(body));
    flash(req, 'success', `Custom property ${def.name} created.`);
    res.redirect(303, '/custom-properties');
  }

  @Get(':id/edit')
  async editForm(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Res() res: Response) {
    const property = await this.properties.details(actor, id);
    res.render('custom-properties/form', {
      title: `Edit custom property ${property.name}`,
      property,
      values: { name: property.name, description: property.description ?? '', allowedValues: property.allowedValues.join('\n'), valueMode: property.multiValued ? 'multi' : 'single' },
    });
  }

  @Post(':id')
  @FormView('custom-properties/form', { title: 'Edit custom property' }, async (c: CustomPropertiesController, { actor, id }) => ({
    property: await c.properties.details(actor, id),
  }))
  async update(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const { def, changed } = await this.properties.update(actor, id, input(body));
    flash(req, changed ? 'success' : 'info', changed ? `Custom property ${def.name} saved.` : `Nothing to save: ${def.name} is unchanged.`);
    res.redirect(303, '/custom-properties');
  }

  @Get(':id/delete')
  async confirmDelete(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Res() res: Response) {
    const property = await this.properties.details(actor, id);
    res.render('custom-properties/delete', { title: `Delete custom property ${property.name}`, property });
  }

  @Post(':id/delete')
  async remove(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Req() req: Request, @Res() res: Response) {
    const { name, userCount } = await this.properties.delete(actor, id);
    flash(req, 'success', `Custom property ${name} deleted${userCount > 0 ? ` with the values of ${userCount} ${userCount === 1 ? 'user' : 'users'}` : ''}.`);
    res.redirect(303, '/custom-properties');
  }
}
