import { decodeEntities, textOf } from './html';
import type { Agent } from './http';

/**
 * Submits a form the way a browser without JavaScript does: the form is found in the rendered
 * page by the accessible name of its submit button, its hidden fields (CSRF token included),
 * typed values, selected options and checked boxes are sent as rendered, the button's own
 * name/value and `formaction` count, and a test changes only what a person types or picks, by
 * the field's visible label.
 */

export interface PersonInput {
  /** Text typed into the field with this label. */
  fill?: Record<string, string>;
  /** The option with this visible text picked in the pull-down with this label. */
  select?: Record<string, string>;
  /** Boxes (by their label) to tick or untick. */
  check?: string[];
  uncheck?: string[];
}

interface Control {
  tag: 'input' | 'select' | 'textarea';
  attrs: Record<string, string>;
  /** For selects: every option's value, text and selected flag. */
  options?: { value: string; text: string; selected: boolean }[];
  text?: string;
}

function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([a-zA-Z][\w:-]*)(?:\s*=\s*"([^"]*)")?/g)) out[m[1].toLowerCase()] = decodeEntities(m[2] ?? '');
  return out;
}

/** The accessible name of a button: its text, visually hidden parts included. */
function accessibleName(inner: string): string {
  return decodeEntities(inner.replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim();
}

/** The form (and the button in it) whose submit button is named `button`; fails when none or several are. */
export function findForm(html: string, button: string): { form: string; attrs: Record<string, string>; button: Record<string, string> } {
  const found: { form: string; attrs: Record<string, string>; button: Record<string, string> }[] = [];
  for (const f of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    for (const b of f[2].matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/g)) {
      const attrs = attributes(b[1]);
      if ((attrs.type ?? 'submit') === 'submit' && accessibleName(b[2]) === button) found.push({ form: f[2], attrs: attributes(f[1]), button: attrs });
    }
  }
  if (found.length !== 1) {
    const names = [...html.matchAll(/<button\b[^>]*>([\s\S]*?)<\/button>/g)].map((b) => accessibleName(b[1]));
    throw new Error(`${found.length} forms with a button named "${button}" in the page (buttons: ${names.join(' | ')})`);
  }
  return found[0];
}

function controls(form: string): Control[] {
  const out: Control[] = [];
  for (const m of form.matchAll(/<input\b([^>]*)>|<select\b([^>]*)>([\s\S]*?)<\/select>|<textarea\b([^>]*)>([\s\S]*?)<\/textarea>/g)) {
    if (m[1] !== undefined) out.push({ tag: 'input', attrs: attributes(m[1]) });
    else if (m[2] !== undefined) {
      const options = [...m[3].matchAll(/<option\b([^>]*)>([\s\S]*?)<\/option>/g)].map((o) => {
        const a = attributes(o[1]);
        const text = textOf(o[2]);
        return { value: a.value ?? text, text, selected: 'selected' in a };
      });
      out.push({ tag: 'select', attrs: attributes(m[2]), options });
    } else out.push({ tag: 'textarea', attrs: attributes(m[4]), text: decodeEntities(m[5]).replace(/^\n/, '') });
  }
  return out;
}

/** The control a visible label names (`<label for>` → id). */
function labelled(form: string, all: Control[], label: string): Control {
  for (const m of form.matchAll(/<label\b([^>]*)>([\s\S]*?)<\/label>/g)) {
    const text = textOf(m[2]).replace(/\s*\*$/, '');
    const id = attributes(m[1]).for;
    if (text === label && id) {
      const control = all.find((c) => c.attrs.id === id);
      if (control) return control;
    }
  }
  throw new Error(`No field labelled "${label}" in the form`);
}

/** The fields a browser would send for this form and button, after the person's input. */
export function formFields(html: string, button: string, input: PersonInput = {}): { action: string; fields: [string, string][] } {
  const { form, attrs, button: pressed } = findForm(html, button);
  const all = controls(form);
  for (const [label, value] of Object.entries(input.fill ?? {})) {
    const control = labelled(form, all, label);
    if (control.tag === 'textarea') control.text = value;
    else control.attrs.value = value;
  }
  for (const [label, optionText] of Object.entries(input.select ?? {})) {
    const control = labelled(form, all, label);
    const option = control.options?.find((o) => o.text === optionText);
    if (!option) throw new Error(`No option "${optionText}" in "${label}" (options: ${control.options?.map((o) => o.text).join(' | ')})`);
    for (const o of control.options!) o.selected = 'multiple' in control.attrs ? o.selected || o === option : o === option;
  }
  for (const label of input.check ?? []) labelled(form, all, label).attrs.checked = '';
  for (const label of input.uncheck ?? []) delete labelled(form, all, label).attrs.checked;

  const fields: [string, string][] = [];
  for (const c of all) {
    const name = c.attrs.name;
    if (!name || 'disabled' in c.attrs) continue;
    if (c.tag === 'textarea') fields.push([name, c.text ?? '']);
    else if (c.tag === 'select') {
      const chosen = c.options!.filter((o) => o.selected);
      if (chosen.length === 0 && !('multiple' in c.attrs) && c.options!.length > 0) chosen.push(c.options![0]);
      for (const o of chosen) fields.push([name, o.value]);
    } else {
      const type = (c.attrs.type ?? 'text').toLowerCase();
      if (['submit', 'button', 'reset', 'file', 'image'].includes(type)) continue;
      if ((type === 'checkbox' || type === 'radio') && !('checked' in c.attrs)) continue;
      fields.push([name, c.attrs.value ?? (type === 'checkbox' || type === 'radio' ? 'on' : '')]);
    }
  }
  if (pressed.name) fields.push([pressed.name, pressed.value ?? '']);
  return { action: decodeEntities(pressed.formaction ?? attrs.action ?? ''), fields };
}

/** Presses the button named `button` in the rendered page `html` and returns the response. */
export async function submitForm(agent: Agent, html: string, button: string, input: PersonInput = {}) {
  const { action, fields } = formFields(html, button, input);
  const body = fields.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  return agent.post(action).type('form').send(body);
}
