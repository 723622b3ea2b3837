import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import type { NextFunction, Request, Response } from 'express';
import { safeReturnPath } from '../common/form';
import { UsersModule } from '../users/users.module';
import { IdentityProvidersController } from './identity-providers.controller';
import { SamlKeysService } from './saml/saml-keys.service';
import { SamlLogoutService } from './saml/saml-logout.service';
import { SamlSignInService } from './saml/saml-sign-in.service';
import { IdentityProvidersService } from './identity-providers.service';
import { SsoController } from './sso.controller';
import { OidcService } from './oidc/oidc.service';
import { SecretBox } from './secret-box';
import { SECRET_BOX_PROVIDER } from './secret-box.provider';
import { SsoSignInService } from './sso-sign-in.service';
import { enabledProviderButtons } from './sso.queries';

/**
 * Single sign-on: the identity providers (Settings → Authentication → Identity providers), the
 * "Sign in with …" buttons of the login page, and the protocols' sign-in routes under `/sso/<key>/`.
 */
@Module({
  imports: [UsersModule],
  controllers: [IdentityProvidersController, SsoController],
  providers: [IdentityProvidersService, SsoSignInService, OidcService, SamlSignInService, SamlKeysService, SamlLogoutService, SECRET_BOX_PROVIDER],
  exports: [SsoSignInService, SecretBox],
})
export class SsoModule implements NestModule {
  constructor(private readonly em: EntityManager) {}

  /** The login page (shown, and shown again with an error) lists the enabled providers. */
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(async (req: Request, res: Response, next: NextFunction) => {
        try {
          // Where to go after signing in travels with the link, as it does in the password form.
          const after = safeReturnPath(req.method === 'GET' ? req.query.next : (req.body as Record<string, unknown> | undefined)?.next);
          const query = after === '/' ? '' : `?next=${encodeURIComponent(after)}`;
          res.locals.ssoProviders = (await enabledProviderButtons(this.em.fork())).map((p) => ({ ...p, href: `/sso/${encodeURIComponent(p.key)}/start${query}` }));
          next();
        } catch (error) {
          next(error);
        }
      })
      .forRoutes({ path: 'login', method: RequestMethod.GET }, { path: 'login', method: RequestMethod.POST });
  }
}
