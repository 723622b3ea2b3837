import { decodeEntities } from './html';

export type FormFields = Record<string, string | string[]>;

/**
 * The fields a browser would submit for the form whose `action` is `action` in a rendered page:
 * inputs with their values (checkboxes and radios only when checked), the selected option of each
 * select, textareas; disabled controls are left out, as browsers do. Tests change what a user
 * would type and submit the rest as rendered.
 */
export function renderedForm(html: string, action: string): FormFields {
  const form = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].find((m) => decodeEntities(attr(m[1], 'action') ?? '') === action);
  if (!form) throw new Error(`No form with action ${action} in the page:\n${html.slice(0, 500)}`);
  const body = form[2];
  const fields: FormFields = {};
  const add = (name: string, value: string) => {
    const current = fields[name];
    fields[name] = current === undefined ? value : Array.isArray(current) ? [...current, value] : [current, value];
  };
  for (const m of body.matchAll(/<input\b([^>]*)>/g)) {
    const name = attr(m[1], 'name');
    if (!name || hasFlag(m[1], 'disabled')) continue;
    const type = (attr(m[1], 'type') ?? 'text').toLowerCase();
    if (type === 'submit' || type === 'button' || type === 'file') continue;
    if ((type === 'checkbox' || type === 'radio') && !hasFlag(m[1], 'checked')) continue;
    add(name, decodeEntities(attr(m[1], 'value') ?? (type === 'checkbox' ? 'on' : '')));
  }
  for (const m of body.matchAll(/<select\b([^>]*)>([\s\S]*?)<\/select>/g)) {
    const name = attr(m[1], 'name');
    if (!name || hasFlag(m[1], 'disabled')) continue;
    const options = [...m[2].matchAll(/<option\b([^>]*)>([\s\S]*?)<\/option>/g)];
    const chosen = options.find((o) => hasFlag(o[1], 'selected')) ?? options[0];
    if (chosen) add(name, decodeEntities(attr(chosen[1], 'value') ?? chosen[2].trim()));
  }
  for (const m of body.matchAll(/<textarea\b([^>]*)>([\s\S]*?)<\/textarea>/g)) {
    const name = attr(m[1], 'name');
    if (name && !hasFlag(m[1], 'disabled')) add(name, decodeEntities(m[2]).replace(/^\n/, ''));
  }
  return fields;
}

function attr(attributes: string, name: string): string | undefined {
  return new RegExp(`(?:^|\\s)${name}="([^"]*)"`).exec(attributes)?.[1];
}

function hasFlag(attributes: string, name: string): boolean {
  return new RegExp(`(?:^|\\s)${name}(?:\\s|=|$)`).test(attributes);
}
