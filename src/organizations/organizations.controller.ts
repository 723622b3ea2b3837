import { Body, Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
import { ValidationError } from '../common/errors';
import { flash } from '../common/flash';
import { FormView, RefusalView, list, parseId, queryText, text } from '../common/form';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { pageLinks, pageSize } from '../common/pagination';
import { OrganizationsService } from './organizations.service';

@Controller('organizations')
@RequirePermission('manage_organizations')
export class OrganizationsController {
  constructor(private readonly organizations: OrganizationsService) {}

  @Get()
  async index(@CurrentActor() actor: Actor, @Res() res: Response) {
    res.render('organizations/index', { title: 'Organizations', tree: await this.organizations.tree(actor) });
  }

  @Get('new')
  async newForm(@CurrentActor() actor: Actor, @Query('parent') parent: string | undefined, @Res() res: Response) {
    const parentId = parseId(parent) ?? actor.currentOrganization.organizationId;
    res.render('organizations/form', await this.formLocals(actor, null, parentId));
  }

  @Post()
  @FormView('organizations/form', {}, (c: OrganizationsController, { actor, body }) => c.formLocals(actor, null, parseId(body.parentId)))
  async create(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const parentId = parseId(body.parentId);
    const created = await this.organizations.create(actor, parentId, { name: text(body, 'name'), description: text(body, 'description') });
    flash(req, 'success', `Organization ${created.name} created.`);
    res.redirect(303, `/organizations/${created.id}`);
  }

  @Get(':id')
  async show(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) id: number | null, @Query() query: Record<string, unknown>, @Res() res: Response) {
    res.render('organizations/show', await this.pageLocals(actor, id, query));
  }

  private async pageLocals(actor: Actor, id: number | null, query: Record<string, unknown>) {
    const q = queryText(query.q);
    const { members, ...details } = await this.organizations.pageWithMembers(actor, id, { q, after: queryText(query.after) || undefined, size: pageSize(query.size) });
    return {
      title: details.organization.name,
      ...details,
      members: members.rows,
      q,
      pages: pageLinks(`/organizations/${id}`, query, 'after', members.next),
    };
  }

  @Get(':id/edit')
  async editForm(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) id: number | null, @Res() res: Response) {
    res.render('organizations/form', await this.formLocals(actor, id, null));
  }

  @Post(':id')
  @FormView('organizations/form', {}, (c: OrganizationsController, { actor, id }) => c.formLocals(actor, id, null))
  async update(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) id: number | null, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const updated = await this.organizations.update(actor, id, {
      name: text(body, 'name'),
      description: text(body, 'description'),
      parentId: body.parentId === undefined ? undefined : parseId(body.parentId),
    });
    flash(req, 'success', `Organization ${updated.name} saved.`);
    res.redirect(303, `/organizations/${updated.id}`);
  }

  @Get(':id/delete')
  async confirmDelete(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) id: number | null, @Res() res: Response) {
    const { organization, blockers } = await this.organizations.contents(actor, id);
    res.render('organizations/delete', { title: `Delete ${organization.name}`, organization, blockers });
  }

  @Post(':id/delete')
  // Not empty (any more): the confirmation page again, listing what is inside now.
  @RefusalView('organizations/delete', async (c: OrganizationsController, { actor, id }) => {
    const { organization, blockers } = await c.organizations.contents(actor, id);
    return { title: `Delete ${organization.name}`, organization, blockers };
  })
  async delete(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) id: number | null, @Req() req: Request, @Res() res: Response) {
    const deleted = await this.organizations.delete(actor, id);
    flash(req, 'success', `Organization ${deleted.name} deleted.`);
    res.redirect(303, deleted.parentId ? `/organizations/${deleted.parentId}` : '/organizations');
  }

  @Get(':id/members/add')
  async picker(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) id: number | null, @Query() query: Record<string, unknown>, @Res() res: Response) {
    const { organization } = await this.organizations.page(actor, id);
    const q = queryText(query.q);
    const candidates = await this.organizations.candidates(actor, id, { q, after: queryText(query.after) || undefined, size: pageSize(query.size, 25, 100) });
    res.render('organizations/picker', {
      title: `Add members to ${organization.name}`,
      organization,
      candidates: candidates.rows,
      q,
      pages: pageLinks(`/organizations/${id}/members/add`, query, 'after', candidates.next),
    });
  }

  @Post(':id/members')
  async addMembers(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) id: number | null, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const ids = list(body, 'userIds').map(parseId);
    if (ids.some((v) => v === null)) throw ValidationError.form('The list of users to add is not valid.');
    const { added, alreadyMembers } = await this.organizations.addMembers(actor, id, ids as number[]);
    if (added.length) flash(req, 'success', `Added ${added.length} member${added.length === 1 ? '' : 's'}: ${added.join(', ')}.`);
    if (alreadyMembers.length) flash(req, 'info', `Already members, skipped: ${alreadyMembers.join(', ')}.`);
    res.redirect(303, `/organizations/${id}`);
  }

  @Post(':id/members/:userId/delete')
  // The last membership, or the session's own organization: the organization page again.
  @RefusalView('organizations/show', (c: OrganizationsController, { actor, id }) => c.pageLocals(actor, id, {}))
  async removeMember(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) id: number | null, @Param('userId', ParseIdPipe.orNull) userId: number | null, @Req() req: Request, @Res() res: Response) {
    const username = await this.organizations.removeMember(actor, id, userId);
    flash(req, 'success', `${username} is no longer a member.`);
    res.redirect(303, `/organizations/${id}`);
  }

  @Post(':id/members/:userId/admin')
  async setAdministrator(
    @CurrentActor() actor: Actor,
    @Param('id', ParseIdPipe.orNull) id: number | null,
    @Param('userId', ParseIdPipe.orNull) userId: number | null,
    @Req() req: Request,
    @Res() res: Response,
    @Body() body: Record<string, unknown>,
  ) {
    const isAdmin = text(body, 'isAdmin') === 'true';
    const username = await this.organizations.setAdministrator(actor, id, userId, isAdmin);
    flash(req, 'success', isAdmin ? `${username} is now an organization administrator here.` : `${username} is no longer an organization administrator here.`);
    res.redirect(303, `/organizations/${id}`);
  }

  /** Locals of the create/edit form: the organization (edit) or its parent (create), move targets. */
  private async formLocals(actor: Actor, id: number | null, parentId: number | null) {
    if (id !== null) {
      const { organization, moveTargets } = await this.organizations.forEdit(actor, id);
      return {
        title: `Edit ${organization.name}`,
        organization,
        action: `/organizations/${organization.id}`,
        values: { name: organization.name, description: organization.description ?? '', parentId: organization.parentId },
        moveTargets,
      };
    }
    const parent = await this.organizations.visible(actor, parentId);
    return { title: `New organization under ${parent.name}`, parent, action: '/organizations', values: { parentId: parent.id } };
  }
}
