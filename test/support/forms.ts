import { decodeEntities } from './html';

export type FormFields = Record<string, string | string[]>;

function attribute(tag: string, name: string): string | null {
  const m = new RegExp(`\\s${name}(?:="([^"]*)")?(?=[\\s>/])`, 'i').exec(tag);
  if (!m) return null;
  return decodeEntities(m[1] ?? '');
}

/**
 * The fields a browser would submit for the page's `<form method="post" action="…">` as
 * rendered: hidden fields (CSRF token included), text inputs with their values, ticked
 * checkboxes and radios, the selected option of each select (or its first one), textareas.
 * Disabled fields are left out, as browsers do.
 */
export function renderedForm(html: string, action: string): FormFields {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)];
  const form = forms.find((f) => attribute(`${f[1]} `, 'action') === action && (attribute(`${f[1]} `, 'method') ?? 'get').toLowerCase() === 'post');
  if (!form) throw new Error(`No post form with action ${action} in the page:\n${html.slice(0, 800)}`);
  const body = form[2];
  const fields: FormFields = {};
  const add = (name: string, value: string) => {
    const current = fields[name];
    fields[name] = current === undefined ? value : Array.isArray(current) ? [...current, value] : [current, value];
  };
  for (const m of body.matchAll(/<input\b[^>]*>/gi)) {
    const tag = m[0];
    const name = attribute(tag, 'name');
    const type = (attribute(tag, 'type') ?? 'text').toLowerCase();
    if (!name || attribute(tag, 'disabled') !== null || ['submit', 'button', 'reset', 'file'].includes(type)) continue;
    if ((type === 'checkbox' || type === 'radio') && attribute(tag, 'checked') === null) continue;
    add(name, attribute(tag, 'value') ?? (type === 'checkbox' ? 'on' : ''));
  }
  for (const m of body.matchAll(/<select\b([^>]*)>([\s\S]*?)<\/select>/gi)) {
    const name = attribute(`${m[1]} `, 'name');
    if (!name || attribute(`${m[1]} `, 'disabled') !== null) continue;
    const options = [...m[2].matchAll(/<option\b([^>]*)>([\s\S]*?)<\/option>/gi)].map((o) => ({
      value: attribute(`${o[1]} `, 'value') ?? decodeEntities(o[2].trim()),
      selected: attribute(`${o[1]} `, 'selected') !== null,
    }));
    const chosen = options.filter((o) => o.selected);
    if (attribute(`${m[1]} `, 'multiple') !== null) chosen.forEach((o) => add(name, o.value));
    else if (chosen.length > 0 || options.length > 0) add(name, (chosen[0] ?? options[0]).value);
  }
  for (const m of body.matchAll(/<textarea\b([^>]*)>([\s\S]*?)<\/textarea>/gi)) {
    const name = attribute(`${m[1]} `, 'name');
    if (name && attribute(`${m[1]} `, 'disabled') === null) add(name, decodeEntities(m[2]).replace(/^\n/, ''));
  }
  return fields;
}
