import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../common/project-root';

export interface CredentialMailData {
  product: string;
  fullName: string;
  username: string;
  password: string;
  loginUrl: string;
  mustChange: boolean;
  /** When the initial password stops working, formatted in the client time zone; `null`: never. */
  validUntil: string | null;
  timeZone: string;
  /** The copy goes to the administrator who asked for it ("Email new password to myself"). */
  forAdministrator: boolean;
  requestedBy: string;
  /**
   * An earlier attempt of this job may have been accepted by the mail server without its
   * password being saved (the process died in between): this message says it replaces that one.
   */
  replacesEarlier: boolean;
}

let templates: { text: Handlebars.TemplateDelegate; html: Handlebars.TemplateDelegate } | null = null;

function load() {
  if (!templates) {
    const dir = join(projectRoot(), 'views', 'mail');
    templates = {
      // The text part is not HTML: nothing to escape.
      text: Handlebars.compile(readFileSync(join(dir, 'credentials.text.hbs'), 'utf8'), { noEscape: true, strict: true }),
      html: Handlebars.compile(readFileSync(join(dir, 'credentials.html.hbs'), 'utf8'), { strict: true }),
    };
  }
  return templates;
}

export function credentialSubject(product: string): string {
  return `Your login credentials for ${product}`;
}

/** The text and HTML parts of a credential e-mail (views/mail/credentials.*.hbs). */
export function renderCredentialMail(data: CredentialMailData): { subject: string; text: string; html: string } {
  const t = load();
  const subject = credentialSubject(data.product);
  return { subject, text: t.text({ ...data, subject }), html: t.html({ ...data, subject }) };
}

/** "2026-11-29 14:05" in the given IANA time zone. */
export function formatInZone(value: Date | string, timeZone: string): string {
  const date = value instanceof Date ? value : new Date(value);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/**
 * The instant a `datetime-local` value (`2026-11-29T14:05`) means in `timeZone`, or `null` when
 * the value is not such a date (or names a wall-clock time that does not exist there).
 */
export function zonedLocalToUtc(value: string, timeZone: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v)));
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(wall);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return null;
  const offset = (at: number) => {
    const p = Object.fromEntries(
      new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', hourCycle: 'h23' })
        .formatToParts(new Date(at))
        .map((x) => [x.type, Number(x.value)]),
    );
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - at;
  };
  let guess = wall - offset(wall);
  guess = wall - offset(guess);
  return formatInZone(new Date(guess), timeZone) === `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}` ? new Date(guess) : null;
}

/** Whether `zone` is an IANA time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  return zone === 'UTC' || (Intl.supportedValuesOf('timeZone') as string[]).includes(zone);
}
