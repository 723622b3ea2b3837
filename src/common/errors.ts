/**
 * Business failures are typed errors with a code and a message meant for the user; the
 * `HttpErrorFilter` maps each to a page. Anything else is an unexpected error: logged with its
 * stack, shown to the user as a plain 500 page.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Unknown object, or one outside the session's scope ("not yours" looks like "not found"). */
export class NotFoundError extends AppError {
  constructor(message = 'The page or object you asked for does not exist, or you may not see it.') {
    super('not_found', message, 404);
  }
}

/** The session may see the object but not do this to it. */
export class ForbiddenError extends AppError {
  constructor(message = 'You are not allowed to do this.') {
    super('forbidden', message, 403);
  }
}

/** A rule of the domain refused the change (e.g. a licence without free seats). */
export class BusinessRuleError extends AppError {
  constructor(code: string, message: string, status = 409) {
    super(code, message, status);
  }
}

export type FieldErrors = Record<string, string>;

/**
 * Invalid input: field messages keyed by form field name, plus an optional message for the form
 * as a whole. A form view re-renders with status 422, the messages and the typed values.
 */
export class ValidationError extends AppError {
  constructor(
    readonly fieldErrors: FieldErrors,
    readonly formError: string | null = null,
  ) {
    super('invalid_input', formError ?? Object.values(fieldErrors)[0] ?? 'The form has errors.', 422);
  }

  static single(field: string, message: string): ValidationError {
    return new ValidationError({ [field]: message });
  }

  static form(message: string): ValidationError {
    return new ValidationError({}, message);
  }
}

/** No signed-in session (or it ended): the filter redirects to the login page. */
export class LoginRequiredError extends AppError {
  constructor(
    readonly returnTo: string | null,
    readonly reason: string | null = null,
  ) {
    super('login_required', 'Please sign in.', 401);
  }
}

/** The session must go somewhere else first (choose an organization, change its password). */
export class RedirectRequiredError extends AppError {
  constructor(readonly location: string) {
    super('redirect', 'Redirecting', 303);
  }
}

/**
 * Maps a PostgreSQL unique violation on a known constraint to a field message, so that a race
 * the service's own check lost still ends as a clear form error instead of a 500.
 */
export function uniqueViolation(error: unknown, constraints: Record<string, [field: string, message: string]>): ValidationError | null {
  const e = error as { code?: string; constraint?: string };
  if (e && e.code === '23505' && e.constraint && constraints[e.constraint]) {
    const [field, message] = constraints[e.constraint];
    return ValidationError.single(field, message);
  }
  return null;
}
