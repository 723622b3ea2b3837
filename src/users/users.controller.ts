import { Body, Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor } from '../access/decorators';
import { allows } from '../access/policy';
import { NotFoundError, ValidationError } from '../common/errors';
import { flash } from '../common/flash';
import { FormView, RefusalView, isRefusal, list, parseId, queryText, raw, safeReturnPath, text } from '../common/form';
import { pageLinks, pageSize } from '../common/pagination';
import { UserAdminService } from './user-admin.service';
import { USER_SORTS, USER_STATUSES, UserListQuery, UserSort, UserStatus, UsersService } from './users.service';

function userId(value: string): number {
  const id = parseId(value);
  if (id === null) throw new NotFoundError();
  return id;
}

function optionalId(value: unknown): number | undefined {
  return parseId(queryText(value)) ?? undefined;
}

/** The list's query string as a typed query (unknown values fall back to the defaults). */
function listQuery(query: Record<string, unknown>): UserListQuery {
  const sort = queryText(query.sort);
  const status = queryText(query.status);
  const validSort: UserSort = (USER_SORTS as readonly string[]).includes(sort) ? (sort as UserSort) : 'username';
  const dir = queryText(query.dir);
  return {
    q: queryText(query.q) || undefined,
    organizationId: optionalId(query.org),
    withSubOrganizations: queryText(query.sub) === '1',
    roleId: optionalId(query.role),
    status: (USER_STATUSES as readonly string[]).includes(status) ? (status as UserStatus) : undefined,
    licenceId: optionalId(query.licence),
    propertyId: optionalId(query.prop),
    propertyValue: queryText(query.value) || undefined,
    sort: validSort,
    direction: dir === 'asc' || dir === 'desc' ? dir : validSort === 'lastLogin' ? 'desc' : 'asc',
    after: queryText(query.after) || undefined,
    size: pageSize(query.size),
  };
}

/** Where a bulk action goes back to: the list with its filters. */
function backToList(body: unknown): string {
  const back = safeReturnPath(text(body, 'back'));
  return back === '/users' || back.startsWith('/users?') ? back : '/users';
}

function personInput(body: Record<string, unknown>) {
  return {
    firstName: text(body, 'firstName'),
    lastName: text(body, 'lastName'),
    email: text(body, 'email'),
    mobile: text(body, 'mobile'),
    department: text(body, 'department'),
    jobTitle: text(body, 'jobTitle'),
  };
}

@Controller('users')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly admin: UserAdminService,
  ) {}

  @Get()
  async index(@CurrentActor() actor: Actor, @Query() query: Record<string, unknown>, @Req() req: Request, @Res() res: Response) {
    const q = listQuery(query);
    const [page, options] = await Promise.all([this.users.list(actor, q), this.users.filterOptions(actor)]);
    const createIn = q.organizationId ?? actor.currentOrganization.organizationId;
    // Sort links keep the filters and start again at the first page.
    const sortLink = (sort: UserSort) => {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (typeof v === 'string' && v !== '' && !['sort', 'dir', 'after'].includes(k)) params.set(k, v);
      params.set('sort', sort);
      const defaultDir = sort === 'lastLogin' ? 'desc' : 'asc';
      const dir = q.sort === sort ? (q.direction === 'asc' ? 'desc' : 'asc') : defaultDir;
      params.set('dir', dir);
      return `/users?${params.toString()}`;
    };
    res.render('users/index', {
      title: 'Users',
      users: page.rows,
      total: page.total,
      totalCapped: page.totalCapped,
      filter: {
        q: q.q ?? '',
        org: q.organizationId ?? '',
        sub: q.withSubOrganizations,
        role: q.roleId ?? '',
        status: q.status ?? '',
        licence: q.licenceId ?? '',
        prop: q.propertyId ?? '',
        value: q.propertyValue ?? '',
        sort: q.sort,
        dir: q.direction,
      },
      filtered: Boolean(q.q || q.organizationId || q.roleId || q.status || q.licenceId || q.propertyId),
      options,
      sorts: {
        username: { href: sortLink('username'), current: q.sort === 'username' ? q.direction : null },
        name: { href: sortLink('name'), current: q.sort === 'name' ? q.direction : null },
        lastLogin: { href: sortLink('lastLogin'), current: q.sort === 'lastLogin' ? q.direction : null },
      },
      back: req.originalUrl.startsWith('/users') ? req.originalUrl : '/users',
      canManage: allows(actor, 'manage_users'),
      createHref: `/users/new?org=${createIn}`,
      pages: pageLinks('/users', query, 'after', page.next),
    });
  }

  @Post('bulk/enable')
  async bulkEnable(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    await this.bulk(actor, req, res, body, true);
  }

  @Post('bulk/disable')
  async bulkDisable(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    await this.bulk(actor, req, res, body, false);
  }

  private async bulk(actor: Actor, req: Request, res: Response, body: Record<string, unknown>, enabled: boolean) {
    const ids = list(body, 'ids').map(parseId);
    const back = backToList(body);
    if (ids.some((id) => id === null)) throw new NotFoundError();
    try {
      const result = await this.users.setEnabledBulk(actor, ids as number[], enabled);
      const verb = enabled ? 'Enabled' : 'Disabled';
      if (result.changed.length > 0) flash(req, 'success', `${verb} ${result.changed.length} ${result.changed.length === 1 ? 'user' : 'users'}: ${result.changed.join(', ')}.`);
      if (result.skipped.length > 0) flash(req, 'warning', `Skipped ${result.skipped.length} ${result.skipped.length === 1 ? 'user' : 'users'}:`, result.skipped);
    } catch (error) {
      if (!isRefusal(error)) throw error;
      flash(req, 'error', error.message);
    }
    res.redirect(303, back);
  }

  // ----- Create User --------------------------------------------------------------------------

  @Get('new')
  async newForm(@CurrentActor() actor: Actor, @Query('org') org: unknown, @Res() res: Response) {
    const organizationId = org === undefined ? actor.currentOrganization.organizationId : userId(queryText(org));
    const form = await this.admin.createForm(actor, organizationId);
    res.render('users/new', { title: 'Create User', ...form });
  }

  @Post()
  @FormView('users/new', { title: 'Create User' })
  async create(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const organizationId = userId(text(body, 'organizationId'));
    try {
      const user = await this.admin.create(actor, {
        ...personInput(body),
        organizationId,
        username: text(body, 'username'),
        password: raw(body, 'password'),
        passwordConfirmation: raw(body, 'passwordConfirmation'),
        roleIds: list(body, 'roleIds'),
        // Left out of a form that does not offer them: the defaults of Settings → Interface.
        profileId: body.profileId === undefined ? undefined : text(body, 'profileId'),
        licenceId: body.licenceId === undefined ? undefined : text(body, 'licenceId'),
        body,
      });
      flash(req, 'success', `User ${user.username} created.`);
      res.redirect(303, `/users/${user.id}`);
    } catch (error) {
      if (isRefusal(error)) Object.assign(res.locals, await this.admin.createFormAgain(actor, organizationId, body, list(body, 'roleIds')));
      throw error;
    }
  }

  // ----- User page ----------------------------------------------------------------------------

  @Get(':id')
  async show(@CurrentActor() actor: Actor, @Param('id') idParam: string, @Res() res: Response) {
    res.render('users/show', await this.pageLocals(actor, userId(idParam)));
  }

  private async pageLocals(actor: Actor, id: number) {
    const details = await this.admin.details(actor, id);
    return { title: `User ${details.user.username}`, ...details };
  }

  /** A button of the user page was refused (a full licence): the page again, with the message. */
  private async refusedOnPage(actor: Actor, id: number, res: Response, error: unknown): Promise<never> {
    if (isRefusal(error)) Object.assign(res.locals, await this.pageLocals(actor, id));
    throw error;
  }

  @Get(':id/edit')
  async editForm(@CurrentActor() actor: Actor, @Param('id') idParam: string, @Res() res: Response) {
    const form = await this.admin.editForm(actor, userId(idParam));
    res.render('users/form', { title: `Edit user ${form.user.username}`, ...form });
  }

  @Post(':id')
  @FormView('users/form', { title: 'Edit user' })
  async update(@CurrentActor() actor: Actor, @Param('id') idParam: string, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const id = userId(idParam);
    try {
      const result = await this.admin.update(actor, id, { ...personInput(body), roleIds: list(body, 'roleIds'), profileId: text(body, 'profileId'), body });
      flash(req, result.changed ? 'success' : 'info', result.changed ? `User ${result.username} saved.` : `Nothing to save: user ${result.username} is unchanged.`);
      res.redirect(303, `/users/${id}`);
    } catch (error) {
      if (isRefusal(error)) Object.assign(res.locals, await this.admin.editFormAgain(actor, id, body, list(body, 'roleIds')));
      throw error;
    }
  }

  @Post(':id/enable')
  @RefusalView('users/show')
  async enable(@CurrentActor() actor: Actor, @Param('id') idParam: string, @Req() req: Request, @Res() res: Response) {
    const id = userId(idParam);
    try {
      const r = await this.admin.setEnabled(actor, id, true);
      flash(req, r.changed ? 'success' : 'info', r.changed ? `User ${r.username} enabled.` : `User ${r.username} is already enabled.`);
      res.redirect(303, `/users/${id}`);
    } catch (error) {
      await this.refusedOnPage(actor, id, res, error);
    }
  }

  @Post(':id/disable')
  async disable(@CurrentActor() actor: Actor, @Param('id') idParam: string, @Req() req: Request, @Res() res: Response) {
    const id = userId(idParam);
    const r = await this.admin.setEnabled(actor, id, false);
    flash(req, r.changed ? 'success' : 'info', r.changed ? `User ${r.username} disabled; their sessions have ended.` : `User ${r.username} is already disabled.`);
    res.redirect(303, `/users/${id}`);
  }

  @Post(':id/licence')
  @RefusalView('users/show')
  async licence(@CurrentActor() actor: Actor, @Param('id') idParam: string, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const id = userId(idParam);
    try {
      const value = text(body, 'licenceId');
      const licenceId = value === '' ? null : parseId(value);
      if (licenceId === null && value !== '') throw ValidationError.single('licenceId', 'Choose a licence from the list.');
      const r = await this.admin.setLicence(actor, id, licenceId);
      flash(req, r.changed ? 'success' : 'info', r.changed ? `Licence of ${r.username} set to ${r.licence ?? 'none'}.` : `Licence of ${r.username} unchanged.`);
      res.redirect(303, `/users/${id}`);
    } catch (error) {
      await this.refusedOnPage(actor, id, res, error);
    }
  }

  @Post(':id/end-sessions')
  async endSessions(@CurrentActor() actor: Actor, @Param('id') idParam: string, @Req() req: Request, @Res() res: Response) {
    const id = userId(idParam);
    const r = await this.admin.endSessions(actor, id);
    flash(req, 'success', `All sessions of ${r.username} have ended.`);
    res.redirect(303, `/users/${id}`);
  }

  @Get(':id/delete')
  async confirmDelete(@CurrentActor() actor: Actor, @Param('id') idParam: string, @Res() res: Response) {
    const details = await this.admin.deleteForm(actor, userId(idParam));
    res.render('users/delete', { title: `Delete user ${details.user.username}`, ...details });
  }

  @Post(':id/delete')
  async remove(@CurrentActor() actor: Actor, @Param('id') idParam: string, @Req() req: Request, @Res() res: Response) {
    const r = await this.admin.delete(actor, userId(idParam));
    flash(req, 'success', `User ${r.username} deleted. The contact ${r.contactName} was kept.`);
    res.redirect(303, '/users');
  }
}
