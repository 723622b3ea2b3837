import { Body, Controller, Get, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
import { BusinessRuleError } from '../common/errors';
import { flash } from '../common/flash';
import { FormView, text } from '../common/form';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { LicencesService } from './licences.service';

function input(body: Record<string, unknown>) {
  return { name: text(body, 'name'), seats: text(body, 'seats') };
}

@Controller('licences')
@RequirePermission('manage_settings')
export class LicencesController {
  constructor(private readonly licences: LicencesService) {}

  @Get()
  async index(@CurrentActor() actor: Actor, @Res() res: Response) {
    res.render('licences/index', { title: 'Licence types', licences: await this.licences.list(actor) });
  }

  @Get('new')
  newForm(@Res() res: Response) {
    res.render('licences/form', { title: 'New licence type', values: {} });
  }

  @Post()
  @FormView('licences/form', { title: 'New licence type' })
  async create(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const licence = await this.licences.create(actor, input(body));
    flash(req, 'success', `Licence type ${licence.name} created.`);
    res.redirect(303, `/licences/${licence.id}`);
  }

  @Get(':id')
  async show(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Res() res: Response) {
    const licence = await this.licences.details(actor, id);
    res.render('licences/show', { title: `Licence type ${licence.name}`, licence });
  }

  @Get(':id/edit')
  async editForm(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Res() res: Response) {
    const licence = await this.licences.details(actor, id);
    res.render('licences/form', {
      title: `Edit licence type ${licence.name}`,
      licence,
      values: { name: licence.name, seats: licence.seats === null ? '' : String(licence.seats) },
    });
  }

  @Post(':id')
  @FormView('licences/form', { title: 'Edit licence type' }, async (c: LicencesController, { actor, id }) => ({ licence: await c.licences.details(actor, id) }))
  async update(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const licence = await this.licences.update(actor, id, input(body));
    flash(
      req,
      licence.changed ? 'success' : 'info',
      licence.changed ? `Licence type ${licence.name} saved.` : `Nothing to save: licence type ${licence.name} is unchanged.`,
    );
    res.redirect(303, `/licences/${licence.id}`);
  }

  @Post(':id/delete')
  async remove(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Req() req: Request, @Res() res: Response) {
    try {
      const { name, wasDefault } = await this.licences.delete(actor, id);
      const note = wasDefault
        ? ' It was the default licence for new users: new users get no licence until you choose another default in the client settings.'
        : '';
      flash(req, 'success', `Licence type ${name} deleted.${note}`);
      res.redirect(303, '/licences');
    } catch (error) {
      if (!(error instanceof BusinessRuleError)) throw error;
      const licence = await this.licences.details(actor, id);
      res.status(error.status).render('licences/show', { title: `Licence type ${licence.name}`, licence, refusal: error.message });
    }
  }
}
