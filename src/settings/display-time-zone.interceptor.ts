import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import { from, Observable, switchMap } from 'rxjs';
import { DISPLAY_TIME_ZONE } from '../common/hbs-helpers';
import { SettingsService } from './settings.service';

/**
 * Reads the client time zone (Settings → Mail) once per request and hands it to the views, where
 * the `formatDateTime` helper shows every date in it. The zone is looked up before the handler
 * runs, so pages re-rendered by the error filter (422 forms) show their dates in it too.
 * Requests without a signed-in session (sign-in page, /health) show no dates and skip the lookup:
 * /health must answer within its own timeout even while the database hangs.
 */
@Injectable()
export class DisplayTimeZoneInterceptor implements NestInterceptor {
  constructor(private readonly settings: SettingsService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<Request>();
    if (!req.actor) return next.handle();
    const res = context.switchToHttp().getResponse<Response>();
    // Read with the session in the same statement (SessionStore), when it was.
    const known = req.sessionCompanions?.timeZone;
    if (known) {
      res.locals[DISPLAY_TIME_ZONE] = known;
      return next.handle();
    }
    return from(this.settings.get()).pipe(
      switchMap((settings) => {
        res.locals[DISPLAY_TIME_ZONE] = settings.timeZone;
        return next.handle();
      }),
    );
  }
}
