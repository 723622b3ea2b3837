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

const dateTime = new Intl.DateTimeFormat('en-GB', {
  year: 'numeric',
  month: 'short',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  timeZone: 'UTC',
  timeZoneName: 'short',
});

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
  /** Dates as "22 Nov 2026, 14:05 UTC"; empty for null. */
  hbs.registerHelper('datetime', (value: unknown) => {
    if (!value) return '';
    const date = value instanceof Date ? value : new Date(String(value));
    return Number.isNaN(date.getTime()) ? '' : dateTime.format(date);
  });
  /** Machine-readable timestamp for `<time datetime="">`. */
  hbs.registerHelper('isoDate', (value: unknown) => {
    if (!value) return '';
    const date = value instanceof Date ? value : new Date(String(value));
    return Number.isNaN(date.getTime()) ? '' : date.toISOString();
  });
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
