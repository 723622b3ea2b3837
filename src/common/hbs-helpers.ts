import type { HelperOptions } from 'handlebars';

type Hbs = { registerHelper(name: string, fn: (...args: any[]) => unknown): void };

/** Handlebars passes its options object as the last argument; strip it. */
function args(all: unknown[]): unknown[] {
  return all.slice(0, -1);
}

function lookup(source: unknown, key: unknown): unknown {
  if (!source || typeof source !== 'object' || typeof key !== 'string') return undefined;
  return (source as Record<string, unknown>)[key];
}

/**
 * The `res.locals` key holding the client time zone (Settings → Mail) of the request; set once
 * per request by the settings module's interceptor. Named so that no view data uses it.
 */
export const DISPLAY_TIME_ZONE = 'displayTimeZone';

const formats = new Map<string, Intl.DateTimeFormat>();

/**
 * "22 Nov 2026, 15:05 Europe/Berlin": a date as people read it, in `timeZone`, the zone named
 * (unless `named` is false: a list names the zone once, above its table).
 */
export function formatDateTime(date: Date, timeZone: string, named = true): string {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone });
    formats.set(timeZone, format);
  }
  return named ? `${format.format(date)} ${timeZone}` : format.format(date);
}

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** The request's client time zone, as the interceptor put it into the view's root data. */
function zoneOf(options: HelperOptions | undefined): string {
  const zone = lookup(options?.data?.root, DISPLAY_TIME_ZONE);
  return typeof zone === 'string' && zone !== '' ? zone : 'UTC';
}

function toDate(value: unknown): Date | null {
  if (!value) return null;
  const date = value instanceof Date ? value : new Date(String(value));
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * Every Handlebars helper of Tessera, registered in one place. All return plain (escaped) text.
 * A helper's name is never the name of a data field: a bare `{{value}}` calls a helper named
 * `value` before it reads the field, so the field silently renders empty
 * (`src/common/hbs-helpers.spec.ts` checks every template for such clashes).
 */
export function registerHelpers(hbs: Hbs): void {
  hbs.registerHelper('eq', (a: unknown, b: unknown) => String(a) === String(b));
  hbs.registerHelper('not', (a: unknown) => !a);
  hbs.registerHelper('and', (...all: unknown[]) => args(all).every(Boolean));
  hbs.registerHelper('or', (...all: unknown[]) => args(all).some(Boolean));
  hbs.registerHelper('gt', (a: unknown, b: unknown) => Number(a) > Number(b));
  /** `{{formValue values "email"}}`: a submitted or stored form value. */
  hbs.registerHelper('formValue', (source: unknown, key: unknown) => {
    const v = lookup(source, key);
    return v === undefined || v === null ? '' : String(v);
  });
  /** `{{lookupError errors "email"}}`: the message for a field, if any. */
  hbs.registerHelper('lookupError', (source: unknown, key: unknown) => lookup(source, key) ?? null);
  /** `{{checkedIf condition}}`: the `checked` attribute of a box or radio button. */
  hbs.registerHelper('checkedIf', (condition: unknown) => (condition ? 'checked' : ''));
  /** `{{selectedIf id @root.values.x}}`: the `selected` attribute of the option whose value is chosen. */
  hbs.registerHelper('selectedIf', (a: unknown, b: unknown) => (String(a) === String(b) ? 'selected' : ''));
  /**
   * `{{formatDateTime lastLoginAt}}`: a date in the request's client time zone with the zone named
   * ("22 Nov 2026, 15:05 Europe/Berlin"); empty for null. Pair it with `<time datetime>`, which
   * keeps UTC. `zone=false` leaves the zone out, for a list that names it once
   * (`{{@root.displayTimeZone}}`).
   */
  hbs.registerHelper('formatDateTime', (value: unknown, options: HelperOptions) => {
    const date = toDate(value);
    return date ? formatDateTime(date, zoneOf(options), options?.hash?.zone !== false) : '';
  });
  /**
   * `{{formatAuditValue value.from json=true}}`: an audited value as text; a timestamp (audited as
   * an ISO string) is shown like every date, in the client time zone. `json=true` writes other
   * values as JSON (the audit log), else as plain text (a user's trail).
   */
  hbs.registerHelper('formatAuditValue', (value: unknown, options: HelperOptions) => {
    if (value instanceof Date || (typeof value === 'string' && ISO_TIMESTAMP.test(value))) {
      const date = toDate(value);
      if (date) return formatDateTime(date, zoneOf(options));
    }
    if (options?.hash?.json) return JSON.stringify(value);
    return value === null || value === undefined ? '' : String(value);
  });
  /** Machine-readable UTC timestamp for `<time datetime="">`. */
  hbs.registerHelper('isoDate', (value: unknown) => toDate(value)?.toISOString() ?? '');
  hbs.registerHelper('number', (value: unknown) => (typeof value === 'number' ? value.toLocaleString('en-GB') : String(value ?? '')));
  hbs.registerHelper('plural', (count: unknown, singular: unknown, plural: unknown) => (Number(count) === 1 ? singular : plural));
  hbs.registerHelper('json', (value: unknown) => JSON.stringify(value));
  /** `{{#each (entries obj)}}{{key}}: {{value}}{{/each}}` */
  hbs.registerHelper('entries', (value: unknown) =>
    value && typeof value === 'object' ? Object.entries(value as Record<string, unknown>).map(([key, v]) => ({ key, value: v })) : [],
  );
  /** `{{#withFieldError errors "email"}}…{{/withFieldError}}` renders the block with the message. */
  hbs.registerHelper('withFieldError', function (this: unknown, source: unknown, key: unknown, options: HelperOptions) {
    const message = lookup(source, key);
    return message ? options.fn(message) : options.inverse(this);
  });
}
