import { Body, Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
import { allows } from '../access/policy';
import { ValidationError } from '../common/errors';
import { xlsxAttachment } from '../common/download';
import { flash } from '../common/flash';
import { FormView, RefusalView, list, parseId, queryText, raw, text } from '../common/form';
import { ParseIdPipe, requireId } from '../common/parse-id.pipe';
import { pageLinks, pageSize } from '../common/pagination';
import { CredentialsService } from '../credentials/credentials.service';
import { UsersExportService } from '../imports/users-export';
import { organizationTreeLinks } from '../organizations/organization-tree-panel';
import { BulkAction, BulkActionRunner } from './bulk-actions';
import { UserAdminService } from './user-admin.service';
import { UserPageService } from './user-page.service';
import { backToList, filterFields, filterQueryString, isFiltered, parseUserFilter } from './user-filter';
import { BulkResult, MATCHING_MAX, USER_SORTS, UserListQuery, UserSort, UsersService } from './users.service';

/** The page sizes the list offers (any size up to 200 is understood). */
const PAGE_SIZES = [50, 100, 200];

/** The list's query string as a typed query (unknown values fall back to the defaults). */
function listQuery(query: Record<string, unknown>): UserListQuery {
  const sort = queryText(query.sort);
  const validSort: UserSort = (USER_SORTS as readonly string[]).includes(sort) ? (sort as UserSort) : 'username';
  const dir = queryText(query.dir);
  return {
    ...parseUserFilter(query),
    sort: validSort,
    direction: dir === 'asc' || dir === 'desc' ? dir : validSort === 'lastLogin' ? 'desc' : 'asc',
    after: queryText(query.after) || undefined,
    before: queryText(query.before) || undefined,
    size: pageSize(query.size),
  };
}

/** The ticked users of the list's bulk form. */
function selectedIds(body: unknown): number[] {
  const values = list(body, 'ids').map(parseId);
  if (values.some((v) => v === null)) throw ValidationError.form('The selection of users is not valid.');
  return values as number[];
}

/** "3 users: ann, bob, cleo" / "1 user: ann" / "0 users". */
function countOf(usernames: string[]): string {
  return `${usernames.length} ${usernames.length === 1 ? 'user' : 'users'}${usernames.length ? `: ${usernames.join(', ')}` : ''}`;
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
    private readonly page: UserPageService,
    private readonly credentials: CredentialsService,
    private readonly bulk: BulkActionRunner,
    private readonly exporter: UsersExportService,
  ) {}

  @Get()
  async index(@CurrentActor() actor: Actor, @Query() query: Record<string, unknown>, @Req() req: Request, @Res() res: Response) {
    res.render('users/index', await this.listLocals(actor, query, req.originalUrl, undefined, req.sessionCompanions?.listChoicesVersion));
  }

  /**
   * The users list at `url` (its query string `query`); `bulk` re-fills the bulk form of a
   * rejected submit (ticked users, typed date) so that it shows again as the person left it.
   */
  private async listLocals(
    actor: Actor,
    query: Record<string, unknown>,
    url: string,
    bulk: { ids: number[]; sendAt: string } = { ids: [], sendAt: '' },
    choicesVersion?: number | null,
  ) {
    const q = listQuery(query);
    const [page, options, tree] = await Promise.all([
      this.users.list(actor, q),
      this.users.filterOptions(actor, choicesVersion),
      this.users.organizationTree(actor, q.organizationId, choicesVersion),
    ]);
    const createIn = q.organizationId ?? actor.currentOrganization.organizationId;
    // Sort links keep the filters and start again at the first page.
    const sortLink = (sort: UserSort) => {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (typeof v === 'string' && v !== '' && !['sort', 'dir', 'after', 'before'].includes(k)) params.set(k, v);
      params.set('sort', sort);
      const defaultDir = sort === 'lastLogin' ? 'desc' : 'asc';
      const dir = q.sort === sort ? (q.direction === 'asc' ? 'desc' : 'asc') : defaultDir;
      params.set('dir', dir);
      return `/users?${params.toString()}`;
    };
    const ticked = new Set(bulk.ids);
    return {
      title: 'Users',
      users: ticked.size > 0 ? page.rows.map((row) => ({ ...row, isTicked: ticked.has(row.id) })) : page.rows,
      bulkSendAt: bulk.sendAt,
      total: page.total,
      totalCapped: page.totalCapped,
      totalAtLeast: page.totalAtLeast,
      filter: {
        q: q.q ?? '',
        org: q.organizationId ?? '',
        sub: q.withSubOrganizations,
        role: q.roleId ?? '',
        status: q.status ?? '',
        licence: q.licenceId ?? '',
        provider: q.provider ?? '',
        prop: q.propertyId ?? '',
        value: q.propertyValue ?? '',
        sort: q.sort,
        dir: q.direction,
        size: q.size,
      },
      pageSizes: (PAGE_SIZES.includes(q.size) ? PAGE_SIZES : [...PAGE_SIZES, q.size].sort((a, b) => a - b)).map((n) => ({ n, current: n === q.size })),
      // The bulk form carries the filter the list shows, for "all users matching this filter".
      filterFields: filterFields(q),
      filtered: isFiltered(q),
      // Exactly what the list shows: the export reads the same filter parameters.
      canExport: allows(actor, 'import_export_users'),
      exportHref: `/users/export${filterQueryString(q) ? `?${filterQueryString(q)}` : ''}`,
      options,
      tree: organizationTreeLinks(tree, '/users', query),
      sorts: {
        username: { href: sortLink('username'), current: q.sort === 'username' ? q.direction : null },
        name: { href: sortLink('name'), current: q.sort === 'name' ? q.direction : null },
        lastLogin: { href: sortLink('lastLogin'), current: q.sort === 'lastLogin' ? q.direction : null },
      },
      back: url.startsWith('/users') ? url : '/users',
      canManage: allows(actor, 'manage_users'),
      createHref: `/users/new?org=${createIn}`,
      matchingMax: MATCHING_MAX,
      // An estimate is good enough to offer the choice: the confirmation page counts exactly.
      tooManyForAll: page.total > MATCHING_MAX,
      pages: pageLinks('/users', query, 'after', page.next, { param: 'before', cursor: page.previous }),
    };
  }

  /** The list as an Excel file: the same filter parameters as the list. */
  @Get('export')
  @RequirePermission('import_export_users')
  async export(@CurrentActor() actor: Actor, @Query() query: Record<string, unknown>, @Res() res: Response) {
    const selection = await this.exporter.select(actor, parseUserFilter(query));
    xlsxAttachment(res, `users-${new Date().toISOString().slice(0, 10)}.xlsx`);
    // Ends the response itself, after the audit row is written.
    await this.exporter.write(actor, selection, res);
  }

  @Post('bulk/enable')
  async bulkEnable(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    await this.bulk.run(actor, req, res, body, this.enabledAction(actor, true));
  }

  @Post('bulk/disable')
  async bulkDisable(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    await this.bulk.run(actor, req, res, body, this.enabledAction(actor, false));
  }

  @Post('bulk/unlock')
  async bulkUnlock(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    await this.bulk.run(actor, req, res, body, {
      permission: 'manage_users',
      verb: 'Unlock',
      consequence: 'Each locked account is unlocked and may sign in again at once. Users who are not locked and users you may not manage are skipped.',
      apply: (ids) => this.users.unlockBulk(actor, ids),
      report: (req, result) => {
        if (result.changed.length > 0) flash(req, 'success', `Unlocked ${result.changed.length} ${result.changed.length === 1 ? 'user' : 'users'}: ${result.changed.join(', ')}.`);
        if (result.skipped.length > 0) flash(req, 'warning', `Skipped ${result.skipped.length} ${result.skipped.length === 1 ? 'user' : 'users'}:`, result.skipped);
      },
    });
  }

  private enabledAction(actor: Actor, enabled: boolean): BulkAction<BulkResult> {
    return {
      permission: 'manage_users',
      verb: enabled ? 'Enable' : 'Disable',
      consequence: enabled
        ? 'Each of them is enabled and may sign in again. Users who are already enabled, users you may not manage and users whose licence has no free seat are skipped.'
        : 'Each of them is disabled and their sessions end at once. Users who are already disabled, users you may not manage, the built-in admin and you yourself are skipped.',
      apply: (ids, max) => this.users.setEnabledBulk(actor, ids, enabled, max),
      report: (req, result) => {
        const verb = enabled ? 'Enabled' : 'Disabled';
        if (result.changed.length > 0) flash(req, 'success', `${verb} ${result.changed.length} ${result.changed.length === 1 ? 'user' : 'users'}: ${result.changed.join(', ')}.`);
        if (result.skipped.length > 0) flash(req, 'warning', `Skipped ${result.skipped.length} ${result.skipped.length === 1 ? 'user' : 'users'}:`, result.skipped);
      },
    };
  }

  // ----- Password send date (bulk) -------------------------------------------------------------

  @Post('password-send-date')
  @RequirePermission('send_credentials')
  @FormView('users/index', {}, (c: UsersController, { actor, body }) => c.listAgain(actor, body, text(body, 'sendAt')))
  async scheduleSend(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    await this.schedule(actor, req, res, body, text(body, 'sendAt'));
  }

  /** "Email new password now": its own action, since a send date must lie in the future. */
  @Post('password-send-date/now')
  @RequirePermission('send_credentials')
  @FormView('users/index', {}, (c: UsersController, { actor, body }) => c.listAgain(actor, body, ''))
  async sendNow(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    await this.schedule(actor, req, res, body, null);
  }

  @Post('password-send-date/clear')
  @RequirePermission('send_credentials')
  async clearSend(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    await this.bulk.run(actor, req, res, body, {
      permission: 'send_credentials',
      verb: 'Clear password send date of',
      consequence: 'Each of them has the password send date cleared and the pending credential e-mail cancelled. Users without a send date and users whose e-mail is being sent right now are skipped.',
      apply: (ids) => this.credentials.clearMany(actor, ids),
      report: (req, r) => {
        flash(req, r.done.length > 0 ? 'success' : 'warning', `Password send date cleared for ${countOf(r.done)}.`);
        if (r.skipped.length > 0) flash(req, 'warning', `Skipped ${r.skipped.length} ${r.skipped.length === 1 ? 'user' : 'users'}:`, r.skipped);
      },
    });
  }

  /**
   * Every user matching the list's filter gets the send date (or a new password now), after the
   * runner's confirmation page. Users who already received a password are skipped: the
   * confirmation states it, and re-sending to them stays a choice made user by user.
   */
  private async scheduleMatching(actor: Actor, req: Request, res: Response, body: Record<string, unknown>, sendAt: string | null) {
    await this.bulk.run(actor, req, res, body, {
      permission: 'send_credentials',
      verb: sendAt === null ? 'Email new password now to' : 'Set password send date for',
      consequence: `Each of them gets a new password e-mailed ${sendAt === null ? 'now' : `at ${sendAt === '' ? '(no date given)' : sendAt.replace('T', ' ')} in the client time zone of Settings → Mail (a pending send date is replaced)`}. Users who already received a password, users you may not send credentials to, users without an e-mail address and users whose e-mail is being sent right now are skipped.`,
      carry: sendAt === null ? [] : ['sendAt'],
      apply: async (ids) => {
        const result = await this.credentials.scheduleMany(actor, ids, { sendAt, resend: 'skip', confirmedIds: [] });
        if ('confirm' in result) throw new Error('a send with resend "skip" never asks for a confirmation');
        return result;
      },
      report: (req, r) => {
        const target = countOf(r.done);
        flash(req, r.done.length > 0 ? 'success' : 'warning', r.when === null ? `New passwords are being e-mailed to ${target}.` : `Password send date set to ${r.when} for ${target}.`);
        if (r.skipped.length > 0) flash(req, 'warning', `Skipped ${r.skipped.length} ${r.skipped.length === 1 ? 'user' : 'users'}:`, r.skipped);
      },
    });
  }

  /**
   * A refused send date: the list the person was on again, with the field error, their ticks and
   * typed date kept.
   */
  private listAgain(actor: Actor, body: Record<string, unknown>, sendAt: string) {
    const back = backToList(body);
    const path = new URL(back, 'http://tessera.invalid');
    const ticked = list(body, 'ids').map(parseId).filter((id): id is number => id !== null);
    return this.listLocals(actor, Object.fromEntries(path.searchParams), back, { ids: ticked, sendAt });
  }

  /**
   * Sets the send date (or sends now); a refusal shows the list again (`listAgain`). Users who
   * already received a password lead to a confirmation page first.
   */
  private async schedule(actor: Actor, req: Request, res: Response, body: Record<string, unknown>, sendAt: string | null) {
    if (text(body, 'matching') === '1') return await this.scheduleMatching(actor, req, res, body, sendAt);
    const back = backToList(body);
    const decision = text(body, 'resend');
    const ids = selectedIds(body);
    const result = await this.credentials.scheduleMany(actor, ids, {
      sendAt,
      resend: decision === 'confirm' || decision === 'skip' ? decision : null,
      confirmedIds: list(body, 'confirmedIds').map(parseId).filter((id): id is number => id !== null),
    });
    if ('confirm' in result) {
      res.status(200).render('users/confirm-send', {
        title: 'Send new passwords again?',
        ...result,
        action: sendAt === null ? '/users/password-send-date/now' : '/users/password-send-date',
        ids,
        sendAt: sendAt ?? '',
        back,
      });
      return;
    }
    const target = countOf(result.done);
    flash(
      req,
      result.done.length > 0 ? 'success' : 'warning',
      result.when === null ? `New passwords are being e-mailed to ${target}.` : `Password send date set to ${result.when} for ${target}.`,
    );
    if (result.skipped.length > 0) flash(req, 'warning', `Skipped ${result.skipped.length} ${result.skipped.length === 1 ? 'user' : 'users'}:`, result.skipped);
    res.redirect(303, back);
  }

  // ----- Create User --------------------------------------------------------------------------

  @Get('new')
  async newForm(@CurrentActor() actor: Actor, @Query('org') org: unknown, @Res() res: Response) {
    const organizationId = org === undefined ? actor.currentOrganization.organizationId : requireId(queryText(org));
    const form = await this.admin.createForm(actor, organizationId);
    res.render('users/new', { title: 'Create User', ...form });
  }

  @Post()
  @FormView('users/new', { title: 'Create User' }, (c: UsersController, { actor, body }) =>
    c.admin.createFormAgain(actor, requireId(text(body, 'organizationId')), body, list(body, 'roleIds')),
  )
  async create(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const organizationId = requireId(text(body, 'organizationId'));
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
  }

  // ----- User page ----------------------------------------------------------------------------

  @Get(':id')
  async show(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Res() res: Response) {
    res.render('users/show', await this.pageLocals(actor, id));
  }

  private async pageLocals(actor: Actor, id: number) {
    const details = await this.page.details(actor, id);
    return { title: `User ${details.user.username}`, ...details };
  }

  @Get(':id/edit')
  async editForm(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Res() res: Response) {
    const form = await this.admin.editForm(actor, id);
    res.render('users/form', { title: `Edit user ${form.user.username}`, ...form });
  }

  @Post(':id')
  @FormView('users/form', { title: 'Edit user' }, (c: UsersController, { actor, id, body }) => c.admin.editFormAgain(actor, id, body, list(body, 'roleIds')))
  async update(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const result = await this.admin.update(actor, id, { ...personInput(body), roleIds: list(body, 'roleIds'), profileId: text(body, 'profileId'), body });
    flash(req, result.changed ? 'success' : 'info', result.changed ? `User ${result.username} saved.` : `Nothing to save: user ${result.username} is unchanged.`);
    res.redirect(303, `/users/${id}`);
  }

  @Post(':id/enable')
  // A button of the user page was refused (a full licence): the page again, with the message.
  @RefusalView('users/show', (c: UsersController, { actor, id }) => c.pageLocals(actor, id))
  async enable(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Req() req: Request, @Res() res: Response) {
    const r = await this.admin.setEnabled(actor, id, true);
    flash(req, r.changed ? 'success' : 'info', r.changed ? `User ${r.username} enabled.` : `User ${r.username} is already enabled.`);
    res.redirect(303, `/users/${id}`);
  }

  @Post(':id/disable')
  async disable(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Req() req: Request, @Res() res: Response) {
    const r = await this.admin.setEnabled(actor, id, false);
    flash(req, r.changed ? 'success' : 'info', r.changed ? `User ${r.username} disabled; their sessions have ended.` : `User ${r.username} is already disabled.`);
    res.redirect(303, `/users/${id}`);
  }

  @Post(':id/unlock')
  async unlock(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Req() req: Request, @Res() res: Response) {
    const r = await this.admin.unlock(actor, id);
    flash(req, r.changed ? 'success' : 'info', r.changed ? `User ${r.username} unlocked: they can sign in again.` : `User ${r.username} is not locked.`);
    res.redirect(303, `/users/${id}`);
  }

  @Post(':id/licence')
  // A button of the user page was refused (a full licence): the page again, with the message.
  @RefusalView('users/show', (c: UsersController, { actor, id }) => c.pageLocals(actor, id))
  async licence(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const value = text(body, 'licenceId');
    const licenceId = value === '' ? null : parseId(value);
    if (licenceId === null && value !== '') throw ValidationError.single('licenceId', 'Choose a licence from the list.');
    const r = await this.admin.setLicence(actor, id, licenceId);
    flash(req, r.changed ? 'success' : 'info', r.changed ? `Licence of ${r.username} set to ${r.licence ?? 'none'}.` : `Licence of ${r.username} unchanged.`);
    res.redirect(303, `/users/${id}`);
  }

  @Post(':id/end-sessions')
  async endSessions(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Req() req: Request, @Res() res: Response) {
    const r = await this.admin.endSessions(actor, id);
    flash(req, 'success', `All sessions of ${r.username} have ended.`);
    res.redirect(303, `/users/${id}`);
  }

  @Get(':id/delete')
  async confirmDelete(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Res() res: Response) {
    const details = await this.page.deleteForm(actor, id);
    res.render('users/delete', { title: `Delete user ${details.user.username}`, ...details });
  }

  @Post(':id/delete')
  async remove(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Req() req: Request, @Res() res: Response) {
    const r = await this.admin.delete(actor, id);
    flash(req, 'success', `User ${r.username} deleted. The contact ${r.contactName} was kept.`);
    res.redirect(303, '/users');
  }
}
