import { ExecutionContext, SetMetadata, createParamDecorator } from '@nestjs/common';
import type { Request } from 'express';
import { LoginRequiredError } from '../common/errors';
import type { Actor } from './actor';
import type { Permission } from './permissions';

export const PUBLIC_ROUTE = 'tessera:public';
export const REQUIRED_PERMISSION = 'tessera:permission';
export const SESSION_SETUP_ROUTE = 'tessera:session-setup';

/** The route needs no signed-in session (login page, health check). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** The session must be allowed permission `p` (menu-level check; services check the object). */
export const RequirePermission = (permission: Permission) => SetMetadata(REQUIRED_PERMISSION, permission);

/**
 * Reachable by a signed-in session that still has to finish setting itself up: choose its
 * organization or change a password that must be changed.
 */
export const SessionSetupRoute = () => SetMetadata(SESSION_SETUP_ROUTE, true);

declare module 'express' {
  interface Request {
    actor?: Actor;
  }
}

/** The acting user of the request (the guard guarantees one on non-public routes). */
export const CurrentActor = createParamDecorator((_data: unknown, context: ExecutionContext): Actor => {
  const req = context.switchToHttp().getRequest<Request>();
  if (!req.actor) throw new LoginRequiredError(req.originalUrl);
  return req.actor;
});
