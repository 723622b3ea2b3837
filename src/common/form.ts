import { CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { Observable, catchError, throwError } from 'rxjs';
import { BusinessRuleError, FieldErrors, ValidationError } from './errors';

const FORM_VIEW = 'tessera:form-view';

export interface FormViewOptions {
  view: string;
  locals?: Record<string, unknown>;
  /** The view is a page with buttons (not a form of fields): the message goes at its top. */
  page?: boolean;
}

/**
 * Marks a POST handler as the submit of a form: when it throws a `ValidationError`, the filter
 * re-renders `view` with status 422, the field errors, an error summary and the typed values
 * (fields whose name mentions a password are never sent back). A business refusal (a
 * `BusinessRuleError`, e.g. a full licence) re-renders the form the same way with its message
 * and its status (409). The handler puts what the view needs into `res.locals` before rethrowing
 * (see `isRefusal`).
 */
export const FormView = (view: string, locals: Record<string, unknown> = {}) => SetMetadata(FORM_VIEW, { view, locals } satisfies FormViewOptions);

/**
 * Marks a POST handler that a button of a page submits (Enable, Remove from an organization,
 * Delete): when it is refused, the filter shows `view` again (the page the person was on) with
 * the refusal's message at its top and its status (409 for a business rule, 422 for bad input),
 * never a bare error page. The handler fills `res.locals` with the page's data before rethrowing.
 */
export const RefusalView = (view: string, locals: Record<string, unknown> = {}) => SetMetadata(FORM_VIEW, { view, locals, page: true } satisfies FormViewOptions);

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
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const options = this.reflector.get<FormViewOptions | undefined>(FORM_VIEW, context.getHandler());
    if (!options) return next.handle();
    const req = context.switchToHttp().getRequest<Request>();
    return next.handle().pipe(
      catchError((error: unknown) => {
        if (!isRefusal(error)) return throwError(() => error);
        const locals = options.page
          ? { ...options.locals }
          : error instanceof ValidationError
            ? { ...options.locals, ...formLocals(req.body, error.fieldErrors, error.formError) }
            : { ...options.locals, ...formLocals(req.body, {}, error.message) };
        return throwError(() => new FormRejection(error, options.view, locals, options.page === true));
      }),
    );
  }
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
