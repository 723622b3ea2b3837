import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, RequirePermission } from '../access/decorators';
import { APP_CONFIG } from '../config/config';
import type { AppConfig } from '../config/config';
import { flash } from '../common/flash';
import { FormView, RefusalView, queryText } from '../common/form';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { PROVIDER_KINDS } from './identity-provider.entity';
import { IdentityProvidersService } from './identity-providers.service';
import { PROTOCOLS, protocolOf } from './protocols';

const BASE = '/settings/identity-providers';
const LIST = { title: 'Settings: Identity providers', tab: 'authentication' };
const FORM = { title: 'Identity provider', tab: 'authentication' };

/**
 * Settings → Authentication → Identity providers. The menu-level check is "manage settings";
 * the service allows only Administrators signed in to Global, on its first line.
 */
@Controller('settings/identity-providers')
@RequirePermission('manage_settings')
export class IdentityProvidersController {
  constructor(
    readonly providers: IdentityProvidersService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  async index(@CurrentActor() actor: Actor, @Res() res: Response) {
    res.render('sso/index', { ...LIST, providers: await this.providers.list(actor) });
  }

  /** Step one of "Add": choose the protocol; step two is the form of that protocol. */
  @Get('new')
  async newForm(@CurrentActor() actor: Actor, @Res() res: Response, @Query('kind') kindParam?: string) {
    const kind = queryText(kindParam);
    const protocol = protocolOf(kind);
    if (!protocol) {
      await this.providers.list(actor);
      const kinds = PROVIDER_KINDS.flatMap((k) => (PROTOCOLS[k] ? [{ kind: k, name: PROTOCOLS[k]!.name }] : []));
      return res.render('sso/choose-kind', { ...FORM, title: 'Add an identity provider', kinds });
    }
    res.render('sso/form', { ...FORM, title: `Add an ${protocol.name} provider`, ...(await this.formLocals(actor, kind)), values: { ...protocol.values({}), jitOrganizationMode: 'fixed' } });
  }

  @Post()
  @FormView('sso/form', FORM, (c: IdentityProvidersController, { actor, body }) => c.addLocals(actor, body))
  async create(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const provider = await this.providers.create(actor, typeof body.kind === 'string' ? body.kind : '', body);
    flash(req, 'success', `Identity provider ${provider.label} added.`);
    res.redirect(303, `${BASE}/${provider.id}/edit`);
  }

  @Get(':id/edit')
  async editForm(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Res() res: Response) {
    const { provider, ...locals } = await this.editLocals(actor, id);
    res.render('sso/form', { ...FORM, title: `Identity provider ${provider.label}`, provider, ...locals, values: provider.values });
  }

  @Post(':id')
  @FormView('sso/form', FORM, (c: IdentityProvidersController, { actor, id }) => c.editLocals(actor, id))
  async update(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const result = await this.providers.update(actor, id, body);
    flash(req, result.changed ? 'success' : 'info', result.changed ? `Identity provider ${result.label} saved.` : `Nothing to save: ${result.label} is unchanged.`);
    res.redirect(303, `${BASE}/${id}/edit`);
  }

  @Post(':id/enable')
  async enable(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Req() req: Request, @Res() res: Response) {
    const provider = await this.providers.setEnabled(actor, id, true);
    flash(req, 'success', `${provider.label} is enabled: its button is on the login page.`);
    res.redirect(303, BASE);
  }

  @Post(':id/disable')
  async disable(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Req() req: Request, @Res() res: Response) {
    const provider = await this.providers.setEnabled(actor, id, false);
    flash(req, 'success', `${provider.label} is disabled: nobody can sign in with it until it is enabled again.`);
    res.redirect(303, BASE);
  }

  @Get(':id/delete')
  async confirmDelete(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Res() res: Response) {
    const provider = await this.providers.details(actor, id);
    res.render('sso/delete', { ...FORM, title: `Delete ${provider.label}?`, provider });
  }

  @Post(':id/delete')
  @RefusalView('sso/delete', async (c: IdentityProvidersController, { actor, id }) => ({ provider: await c.providers.details(actor, id) }), FORM)
  async remove(@CurrentActor() actor: Actor, @Param('id', ParseIdPipe) id: number, @Req() req: Request, @Res() res: Response) {
    const provider = await this.providers.remove(actor, id);
    flash(req, 'success', `Identity provider ${provider.label} deleted.`);
    res.redirect(303, BASE);
  }

  /** The add form's choices, shown again with a refused submit (none for an unknown kind). */
  private async addLocals(actor: Actor, body: Record<string, unknown>) {
    const kind = typeof body.kind === 'string' ? body.kind : '';
    return protocolOf(kind) ? this.formLocals(actor, kind) : {};
  }

  /** The edit form's provider and choices. */
  private async editLocals(actor: Actor, id: number) {
    const provider = await this.providers.details(actor, id);
    return { provider, ...(await this.formLocals(actor, provider.kind, provider.hasSecret)) };
  }

  private async formLocals(actor: Actor, kind: string, hasSecret = false) {
    const protocol = protocolOf(kind)!;
    return {
      secretHint: hasSecret ? 'Stored encrypted and never shown again. Leave it empty to keep the stored one.' : 'None stored yet.',
      kind,
      kindName: protocol.name,
      isOidc: kind === 'oidc',
      isSaml: kind === 'saml',
      secretLabel: protocol.secret?.label ?? null,
      organizations: await this.providers.organizationChoices(actor),
      publicUrl: this.config.publicUrl,
    };
  }
}
