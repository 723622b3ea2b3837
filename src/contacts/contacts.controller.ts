import { Body, Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor } from '../access/decorators';
import { flash } from '../common/flash';
import { FormView, RefusalView, isRefusal, list, parseId, queryText, text } from '../common/form';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { pageLinks, pageSize } from '../common/pagination';
import { organizationTreeLinks } from '../organizations/organization-tree-panel';
import type { ContactKind } from './contact.entity';
import { CONTACT_SORTS, ContactSort } from './contact-list';
import type { ContactInput } from './contact-form';
import { ContactFormOptions, ContactsService } from './contacts.service';
import { EnableAccessService } from './enable-access.service';

const KIND_LABELS: Record<ContactKind, string> = { person: 'Person', organization: 'Organization contact' };

/** Contacts: list, create, edit, delete, and Enable Access (SPEC §4 "Contacts", "Enable Access"). */
@Controller('contacts')
export class ContactsController {
  constructor(
    private readonly contacts: ContactsService,
    private readonly enableAccessService: EnableAccessService,
  ) {}

  @Get()
  async index(@CurrentActor() actor: Actor, @Query() query: Record<string, unknown>, @Req() req: Request, @Res() res: Response) {
    const q = queryText(query.q);
    const kind = parseKind(query.kind);
    const sort: ContactSort = (CONTACT_SORTS as string[]).includes(queryText(query.sort)) ? (queryText(query.sort) as ContactSort) : 'name';
    const organizationId = queryText(query.org) ? parseId(queryText(query.org)) ?? 0 : null;
    const [page, tree] = await Promise.all([
      this.contacts.list(actor, { q, kind: kind ?? undefined, organizationId, sort, after: queryText(query.after) || undefined, size: pageSize(query.size) }),
      this.contacts.organizationTree(actor, organizationId ?? undefined, req.sessionCompanions?.listChoicesVersion),
    ]);
    res.render('contacts/index', {
      title: 'Contacts',
      contacts: page.rows.map((row) => ({ ...row, kindLabel: KIND_LABELS[row.kind] })),
      tree: organizationTreeLinks(tree, '/contacts', query),
      filter: { q, kind: kind ?? '', org: page.filterOrganization?.id ?? '', sort },
      filtered: Boolean(q || kind || page.filterOrganization),
      can: page.can,
      pages: pageLinks('/contacts', query, 'after', page.next),
    });
  }

  @Get('new')
  async newForm(@CurrentActor() actor: Actor, @Query('kind') kind: string | undefined, @Query('org') org: string | undefined, @Res() res: Response) {
    const form = await this.contacts.newForm(actor, parseKind(kind) ?? 'person', org ? (parseId(org) ?? 0) : null);
    res.render('contacts/form', { ...formPage(form.kind, null, form.options), values: { organizationId: form.organizationId } });
  }

  @Post()
  @FormView('contacts/form', {}, async (c: ContactsController, { actor, body }) =>
    formPage(parseKind(text(body, 'kind')) ?? 'person', null, await c.contacts.formOptions(actor, null, null)),
  )
  async create(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const kind = parseKind(text(body, 'kind')) ?? 'person';
    const created = await this.contacts.create(actor, kind, contactInput(body));
    flash(req, 'success', `${KIND_LABELS[kind]} ${created.fullName} created.`);
    res.redirect(303, `/contacts/${created.id}`);
  }

  /** Bulk "Enable Access for selected contacts" (declared before `:id` so that the path is not read as an id). */
  @Post('enable-access')
  async enableAccessBulk(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const ids = list(body, 'ids').map((v) => parseId(v) ?? 0);
    try {
      const { created, skipped } = await this.enableAccessService.enableAccessBulk(actor, ids);
      if (created.length) {
        flash(req, 'success', `Access enabled for ${created.length} contact${created.length === 1 ? '' : 's'}: ${created.join(', ')}. Send the login credentials from the user pages.`);
      }
      if (skipped.length) flash(req, 'warning', `Skipped ${skipped.length} contact${skipped.length === 1 ? '' : 's'}:`, skipped);
    } catch (error) {
      if (!isRefusal(error)) throw error;
      flash(req, 'error', error.message);
    }
    res.redirect(303, safeListReturn(text(body, 'returnTo')));
  }

  @Get(':id')
  async show(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) id: number | null, @Res() res: Response) {
    res.render('contacts/show', await this.pageLocals(actor, id));
  }

  private async pageLocals(actor: Actor, id: number | null) {
    const details = await this.contacts.page(actor, id);
    return { title: details.contact.fullName, ...details, kindLabel: KIND_LABELS[details.contact.kind] };
  }

  @Get(':id/edit')
  async editForm(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) id: number | null, @Res() res: Response) {
    const { contact, options } = await this.contacts.forEdit(actor, id);
    const derived = [contact.firstName, contact.lastName].filter(Boolean).join(' ');
    res.render('contacts/form', {
      ...formPage(contact.kind, contact, options),
      values: {
        firstName: contact.firstName ?? '',
        lastName: contact.lastName ?? '',
        // A full name made from first and last name stays derived: the field is left empty.
        fullName: contact.kind === 'person' && contact.fullName === derived ? '' : contact.fullName,
        email: contact.email ?? '',
        mobile: contact.mobile ?? '',
        phone: contact.phone ?? '',
        department: contact.department ?? '',
        jobTitle: contact.jobTitle ?? '',
        employerId: contact.employerId ?? '',
        organizationId: contact.organizationId,
      },
    });
  }

  @Post(':id')
  @FormView('contacts/form', {}, async (c: ContactsController, { actor, id }) => {
    const { contact, options } = await c.contacts.forEdit(actor, id);
    return formPage(contact.kind, contact, options);
  })
  async update(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) id: number | null, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const updated = await this.contacts.update(actor, id, contactInput(body));
    flash(req, 'success', `${updated.fullName} saved.`);
    res.redirect(303, `/contacts/${updated.id}`);
  }

  @Get(':id/delete')
  async confirmDelete(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) id: number | null, @Res() res: Response) {
    const details = await this.contacts.forDelete(actor, id);
    res.render('contacts/delete', { title: `Delete ${details.contact.fullName}`, ...details });
  }

  @Post(':id/delete')
  // A user was linked meanwhile: the confirmation page again, saying so.
  @RefusalView('contacts/delete', async (c: ContactsController, { actor, id }) => {
    const details = await c.contacts.forDelete(actor, id);
    return { title: `Delete ${details.contact.fullName}`, ...details };
  })
  async delete(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) id: number | null, @Req() req: Request, @Res() res: Response) {
    const deleted = await this.contacts.delete(actor, id);
    flash(req, 'success', `${deleted.fullName} deleted.`);
    res.redirect(303, '/contacts');
  }

  @Post(':id/enable-access')
  // A full licence, no username from the format, a user linked meanwhile: the contact again.
  @RefusalView('contacts/show', (c: ContactsController, { actor, id }) => c.pageLocals(actor, id))
  async enableAccess(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe.orNull) id: number | null, @Req() req: Request, @Res() res: Response) {
    const user = await this.enableAccessService.enableAccess(actor, id);
    flash(req, 'success', `Access enabled: username ${user.username}. Send the login credentials from the user page.`);
    res.redirect(303, `/users/${user.userId}`);
  }
}

function parseKind(value: unknown): ContactKind | null {
  return value === 'person' || value === 'organization' ? value : null;
}

function contactInput(body: Record<string, unknown>): ContactInput {
  const optionalId = (field: string) => (text(body, field) === '' ? null : (parseId(text(body, field)) ?? 0));
  return {
    firstName: text(body, 'firstName'),
    lastName: text(body, 'lastName'),
    fullName: text(body, 'fullName'),
    email: text(body, 'email'),
    mobile: text(body, 'mobile'),
    phone: text(body, 'phone'),
    department: text(body, 'department'),
    jobTitle: text(body, 'jobTitle'),
    employerId: optionalId('employerId'),
    organizationId: optionalId('organizationId'),
  };
}

/** Locals shared by the create and edit form. */
function formPage(kind: ContactKind, contact: { id: number; fullName: string } | null, options: ContactFormOptions) {
  const label = KIND_LABELS[kind];
  return {
    title: contact ? `Edit ${contact.fullName}` : `New ${label.toLowerCase()}`,
    kind,
    kindLabel: label,
    isPerson: kind === 'person',
    contact,
    action: contact ? `/contacts/${contact.id}` : '/contacts',
    cancel: contact ? `/contacts/${contact.id}` : '/contacts',
    ...options,
  };
}

/** Back to the list page the bulk form came from (its filters and page), never elsewhere. */
function safeListReturn(value: string): string {
  return /^\/contacts(\?[^\r\n]*)?$/.test(value) ? value : '/contacts';
}
