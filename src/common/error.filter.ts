import { safeReturnPath } from './form';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { isDatabaseUnavailable } from './database-errors';
import { AppError, LoginRequiredError, RedirectRequiredError, ValidationError } from './errors';
import { flash } from './flash';
import { FormRejection } from './form';

const STATUS_TEXT: Record<number, { title: string; message: string }> = {
  400: { title: 'Bad request', message: 'The request could not be understood.' },
  403: { title: 'Not allowed', message: 'You are not allowed to do this.' },
  404: { title: 'Not found', message: 'The page or object you asked for does not exist, or you may not see it.' },
  405: { title: 'Not allowed', message: 'This address does not accept that kind of request.' },
  409: { title: 'Not possible', message: 'This cannot be done in the current state: nothing was changed.' },
  413: { title: 'Too large', message: 'What you sent is larger than Tessera accepts.' },
  415: { title: 'Unsupported', message: 'Tessera cannot read what you sent.' },
  422: { title: 'Check the form', message: 'Some values are not valid.' },
  429: { title: 'Too many requests', message: 'Too many attempts: wait a moment, then try again.' },
  503: { title: 'Try again', message: 'Tessera is busy: please try again in a moment.' },
  500: { title: 'Something went wrong', message: 'Tessera could not complete the request. The error has been logged; please try again.' },
};

/**
 * The one place where failures become responses: refusals of a form or of a page's button
 * re-render that form or page with the message (422 or the rule's status, usually 409), other
 * typed business errors become pages with their message, missing sessions redirect to the login
 * page, CSRF failures answer 403, and anything unexpected is logged with its stack and shown as a
 * plain 500 page. No stack trace ever reaches a user.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
    if (res.headersSent) {
      this.logger.error(`Error after the response started (${req.method} ${req.originalUrl})`, (exception as Error)?.stack);
      return;
    }

    if (exception instanceof FormRejection) {
      // 422, or the status of a more specific rejection (a throttled sign-in answers 429). A page
      // of buttons shows the refusal where its flash messages go; a form in its summary.
      if (exception.page) flash(req, 'error', exception.message);
      return this.render(req, res, exception.status, exception.view, exception.locals);
    }
    if (exception instanceof LoginRequiredError) {
      const params = new URLSearchParams();
      if (exception.returnTo && exception.returnTo !== '/') params.set('next', exception.returnTo);
      if (exception.reason) params.set('reason', exception.reason);
      const query = params.toString();
      return res.redirect(303, `/login${query ? `?${query}` : ''}`);
    }
    if (exception instanceof RedirectRequiredError) {
      return res.redirect(303, exception.location);
    }
    if (exception instanceof ValidationError) {
      return this.errorPage(req, res, 422, exception.formError ?? exception.message);
    }
    if (exception instanceof AppError) {
      return this.errorPage(req, res, exception.status, exception.message);
    }
    const code = (exception as { code?: string })?.code;
    if (code === 'EBADCSRFTOKEN') {
      return this.errorPage(
        req,
        res,
        403,
        'This form has expired or did not come from Tessera, so nothing was changed. Go back, reload the page and try again.',
      );
    }
    if (isDatabaseUnavailable(exception)) {
      // An outage, not a bug: one line in the log, and a page that says what is going on.
      this.logger.warn(`Database unavailable on ${req.method} ${req.originalUrl}: ${(exception as Error).message}`);
      return this.render(req, res, 503, 'errors/error', {
        title: 'Database unavailable',
        status: 503,
        message: 'Tessera cannot reach its database at the moment, so this page cannot be shown and nothing was changed. Please try again in a few minutes.',
        back: null,
      });
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status >= 500) this.logger.error(exception.message, exception.stack);
      return this.errorPage(req, res, status);
    }
    // body-parser and other Express middleware errors carry an HTTP status of their own.
    const status = (exception as { status?: number; statusCode?: number })?.status ?? (exception as { statusCode?: number })?.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return this.errorPage(req, res, status);
    }
    this.logger.error(`Unexpected error on ${req.method} ${req.originalUrl}`, exception instanceof Error ? exception.stack : String(exception));
    return this.errorPage(req, res, 500);
  }

  private errorPage(req: Request, res: Response, status: number, message?: string): void {
    const text = STATUS_TEXT[status] ?? { title: `Error ${status}`, message: 'The request failed.' };
    this.render(req, res, status, 'errors/error', { title: text.title, status, message: message ?? text.message, back: backLink(req) });
  }

  private render(req: Request, res: Response, status: number, view: string, locals: Record<string, unknown>): void {
    if (req.path === '/health' || req.accepts(['html', 'json']) === 'json') {
      res.status(status).json({ status, error: locals.message ?? locals.formError ?? 'error' });
      return;
    }
    res.status(status);
    res.render(view, locals, (renderError: Error | null, html?: string) => {
      if (renderError) {
        this.logger.error(`Could not render ${view}`, renderError.stack);
        res.status(500).type('text/plain').send('Tessera could not complete the request.');
        return;
      }
      res.send(html);
    });
  }
}

/** The page the user came from, when it is a page of this site: the error page links back to it. */
function backLink(req: Request): string | null {
  const referer = req.get('referer');
  if (!referer) return null;
  try {
    const url = new URL(referer);
    if (url.host !== req.get('host')) return null;
    const path = safeReturnPath(url.pathname + url.search);
    return path === '/' || path === req.originalUrl ? null : path;
  } catch {
    return null;
  }
}
