import { CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata } from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { Observable, catchError, from, mergeMap, throwError } from 'rxjs';
import type { Actor } from '../access/actor';
import { BusinessRuleError, FieldErrors, LoginRequiredError, NotFoundError, ValidationError } from './errors';

const FORM_VIEW = 'tessera:form-view';

/** What `FormView`/`RefusalView` choices get: the submit that was refused. */
export interface RefusedSubmit {
  actor: Actor;
  /** The path's `:id` (a route's pipe has already refused a malformed one with 404). */
  readonly id: number;
  body: Record<string, unknown>;
  query: Record<string, unknown>;
  error: ValidationError | BusinessRuleError;
}

/**
 * What the view needs to be shown again besides the typed values and the errors: the form's
 * choices (organizations, roles, profiles…) or the page's own data. One function per form, given
 * the controller (for its services) and the refused submit; it runs only when a submit is refused.
 */
export type ViewChoices<C = never> = (controller: C, submit: RefusedSubmit) => Promise<Record<string, unknown>> | Record<string, unknown>;

export interface FormViewOptions {
  view: string;
  locals?: Record<string, unknown>;
  /** The view is a page with buttons (not a form of fields): the message goes at its top. */
  page?: boolean;
  choices?: ViewChoices<unknown>;
}

/**
 * Marks a POST handler as the submit of a form: when it throws a `ValidationError`, the filter
 * re-renders `view` with status 422, the field errors, an error summary and the typed values
 * (fields whose name mentions a password are never sent back). A business refusal (a
 * `BusinessRuleError`, e.g. a full licence) re-renders the form the same way with its message
 * and its status (409). `choices` supplies what else the view needs (see `ViewChoices`); the
 * locals given here and the typed values take precedence over it.
 */
export const FormView = <C = never>(view: string, locals: Record<string, unknown> = {}, choices?: ViewChoices<C>) =>
  SetMetadata(FORM_VIEW, { view, locals, choices: choices as ViewChoices<unknown> | undefined } satisfies FormViewOptions);

/**
 * Marks a POST handler that a button of a page submits (Enable, Remove from an organization,
 * Delete): when it is refused, the filter shows `view` again (the page the person was on) with
 * the refusal's message at its top and its status (409 for a business rule, 422 for bad input),
 * never a bare error page. `choices` supplies the page's data.
 */
export const RefusalView = <C = never>(view: string, choices?: ViewChoices<C>, locals: Record<string, unknown> = {}) =>
  SetMetadata(FORM_VIEW, { view, locals, page: true, choices: choices as ViewChoices<unknown> | undefined } satisfies FormViewOptions);

/** Whether an error is a refusal a person can act on (shown on their page, not a bare error page). */
export function isRefusal(error: unknown): error is ValidationError | BusinessRuleError {
  return error instanceof ValidationError || error instanceof BusinessRuleError;
}

/** A refusal together with the view to show it in; rendered by the error filter. */
export class FormRejection extends Error {
  constructor(
    readonly error: ValidationError | BusinessRuleError,
    readonly view: string,
    readonly locals: Record<string, unknown>,
    readonly page = false,
  ) {
    super(error.message);
  }

  get status(): number {
    return this.error.status;
  }
}

@Injectable()
export class FormViewInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly moduleRef: ModuleRef,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const options = this.reflector.get<FormViewOptions | undefined>(FORM_VIEW, context.getHandler());
    if (!options) return next.handle();
    const req = context.switchToHttp().getRequest<Request>();
    return next.handle().pipe(
      catchError((error: unknown) => {
        if (!isRefusal(error)) return throwError(() => error);
        return from(this.rejection(context, req, options, error)).pipe(mergeMap((rejection) => throwError(() => rejection)));
      }),
    );
  }

  private async rejection(context: ExecutionContext, req: Request, options: FormViewOptions, error: ValidationError | BusinessRuleError): Promise<FormRejection> {
    const choices = options.choices ? await options.choices(this.moduleRef.get(context.getClass(), { strict: false }), refusedSubmit(req, error)) : {};
    const locals = options.page
      ? { ...choices, ...options.locals }
      : error instanceof ValidationError
        ? { ...choices, ...options.locals, ...formLocals(req.body, error.fieldErrors, error.formError) }
        : { ...choices, ...options.locals, ...formLocals(req.body, {}, error.message) };
    return new FormRejection(error, options.view, locals, options.page === true);
  }
}

function refusedSubmit(req: Request, error: ValidationError | BusinessRuleError): RefusedSubmit {
  if (!req.actor) throw new LoginRequiredError(req.originalUrl);
  const params = req.params as Record<string, string | undefined>;
  return {
    actor: req.actor,
    get id() {
      const id = parseId(params.id);
      if (id === null) throw new NotFoundError();
      return id;
    },
    body: req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {},
    query: req.query as Record<string, unknown>,
    error,
  };
}

/** The locals every form view understands: `values`, `errors` and `errorSummary`. */
export function formLocals(body: unknown, errors: FieldErrors = {}, formError: string | null = null) {
  return {
    values: safeValues(body),
    errors,
    formError,
    errorSummary: Object.entries(errors).map(([field, message]) => ({ field, message })),
  };
}

/** The submitted values minus anything password-like and the CSRF token. */
export function safeValues(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object') return {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (/password/i.test(key) || key === '_csrf') continue;
    out[key] = value;
  }
  return out;
}

/** Reads one text field of an urlencoded form: trimmed, `''` when missing or not a string. */
export function text(body: unknown, field: string): string {
  const value = body && typeof body === 'object' ? (body as Record<string, unknown>)[field] : undefined;
  return typeof value === 'string' ? value.trim() : '';
}

/** Reads a query-string parameter (search boxes, filters, cursors): trimmed, at most 200 characters. */
export function queryText(value: unknown): string {
  return typeof value === 'string' ? value.trim().slice(0, 200) : '';
}

/** Reads a field without trimming (passwords may begin or end with spaces). */
export function raw(body: unknown, field: string): string {
  const value = body && typeof body === 'object' ? (body as Record<string, unknown>)[field] : undefined;
  return typeof value === 'string' ? value : '';
}

/** Reads a checkbox or multi-select field as a list of strings. */
export function list(body: unknown, field: string): string[] {
  const value = body && typeof body === 'object' ? (body as Record<string, unknown>)[field] : undefined;
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' && value !== '' ? [value] : [];
}

/** Reads a positive integer id from a path or form value; `null` when it is not one. */
export function parseId(value: unknown): number | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const s = String(value).trim();
  if (!/^[1-9][0-9]{0,9}$/.test(s)) return null;
  const n = Number(s);
  return n <= 2147483647 ? n : null;
}

/** A local path to come back to after login; anything else (other hosts, `//x`) becomes `/`. */
export function safeReturnPath(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/';
  if (/[\r\n]/.test(value) || value.startsWith('/login') || value.startsWith('/logout')) return '/';
  return value;
}
