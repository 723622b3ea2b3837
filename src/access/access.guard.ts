import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { ForbiddenError, LoginRequiredError, RedirectRequiredError } from '../common/errors';
import { SESSION_ABSOLUTE_MS, destroySession, sessionUser } from '../auth/session';
import { AccessService } from './access.service';
import { PUBLIC_ROUTE, REQUIRED_PERMISSION, SESSION_SETUP_ROUTE } from './decorators';
import { Permission } from './permissions';
import { allows } from './policy';
import { navigation } from './navigation';

/** The organization chooser (`AuthController`), the one page a session without an organization may use. */
const ORGANIZATION_CHOOSER = '/session/organization';

/**
 * Global guard: resolves the session into an `Actor` (or ends it), sends sessions that must first
 * choose an organization or change their password there, and checks `@RequirePermission`.
 * Object-level checks happen in the services.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly access: AccessService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const res = context.switchToHttp().getResponse<Response>();
    const targets = [context.getHandler(), context.getClass()];
    const isPublic = this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets) ?? false;
    const isSetupRoute = this.reflector.getAllAndOverride<boolean>(SESSION_SETUP_ROUTE, targets) ?? false;
    const returnTo = req.method === 'GET' ? req.originalUrl : null;

    const identity = sessionUser(req);
    if (!identity) {
      if (isPublic) return true;
      throw new LoginRequiredError(returnTo);
    }

    const authenticatedAt = req.session.authenticatedAt ?? 0;
    if (Date.now() - authenticatedAt > SESSION_ABSOLUTE_MS) {
      await destroySession(req);
      if (isPublic) return true;
      throw new LoginRequiredError(returnTo, 'expired');
    }

    const resolution = await this.access.resolve(
      {
        userId: identity.id,
        sessionVersion: identity.v,
        currentOrganizationId: req.session.currentOrganizationId ?? null,
        ip: req.ip ?? null,
      },
      // Read with the session in the same statement (SessionStore), when it was.
      req.sessionCompanions?.user,
    );
    if (resolution.kind === 'ended') {
      await destroySession(req);
      if (isPublic) return true;
      throw new LoginRequiredError(returnTo, 'ended');
    }
    if (resolution.kind === 'choose-organization') {
      // Only the chooser itself works without an actor (other setup routes, e.g. /account, need one).
      if (isPublic || (isSetupRoute && req.path === ORGANIZATION_CHOOSER)) return true;
      const next = returnTo && returnTo !== '/' ? `?next=${encodeURIComponent(returnTo)}` : '';
      throw new RedirectRequiredError(`${ORGANIZATION_CHOOSER}${next}`);
    }

    const actor = resolution.actor;
    req.actor = actor;
    req.session.currentOrganizationId = actor.currentOrganization.organizationId;
    res.locals.actor = actor;
    res.locals.nav = navigation(actor);
    res.locals.switchableOrganizations = actor.memberships.length > 1 ? actor.memberships : null;

    if (actor.mustChangePassword && !isSetupRoute && !isPublic) throw new RedirectRequiredError('/account');

    const permission = this.reflector.getAllAndOverride<Permission | undefined>(REQUIRED_PERMISSION, targets);
    if (permission && !allows(actor, permission)) throw new ForbiddenError();
    return true;
  }
}
