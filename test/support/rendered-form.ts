import type { Agent } from './http';
import { decodeEntities, textOf } from './html';

/**
 * Reading a rendered page the way a browser (JavaScript off) does: follow a link by its text,
 * and submit a form with what it holds — hidden fields, typed values, checked boxes, selected
 * options and the pressed button's `formaction` — changing only what a person picks, found by
 * its visible label.
 */

interface Control {
  tag: 'input' | 'select' | 'textarea' | 'button';
  attrs: Record<string, string>;
  /** select: its options; textarea: its text. */
  options?: { value: string; text: string; selected: boolean }[];
  text?: string;
}

export interface RenderedForm {
  action: string;
  method: string;
  controls: Control[];
  /** `<label for>` text → control id, within the page. */
  labels: Map<string, string>;
}

function attributes(tag: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  const inside = tag.replace(/^<[a-zA-Z]+/, '').replace(/\/?>$/, '');
  for (const m of inside.matchAll(/([a-zA-Z_:-]+)(?:="([^"]*)")?/g)) attrs[m[1].toLowerCase()] = m[2] === undefined ? '' : decodeEntities(m[2]);
  return attrs;
}

function labelsOf(html: string): Map<string, string> {
  const labels = new Map<string, string>();
  for (const m of html.matchAll(/<label\b[^>]*\bfor="([^"]+)"[^>]*>([\s\S]*?)<\/label>/g)) labels.set(textOf(m[2]), decodeEntities(m[1]));
  return labels;
}

/** The `<form>` whose `id` is `id`, or which holds a button with this visible text. */
export function readForm(html: string, which: { id?: string; button?: string }): RenderedForm {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)];
  const found = forms.find((m) => {
    const attrs = attributes(`<form ${m[1]}>`);
    if (which.id !== undefined) return attrs.id === which.id;
    return [...m[2].matchAll(/<button\b[^>]*>([\s\S]*?)<\/button>/g)].some((b) => textOf(b[1]) === which.button);
  });
  if (!found) throw new Error(`No form ${JSON.stringify(which)} in the page:\n${html.slice(0, 1500)}`);
  const formAttrs = attributes(`<form ${found[1]}>`);
  const body = found[2];
  const controls: Control[] = [];
  for (const m of body.matchAll(/<(input)\b[^>]*>|<(select)\b([^>]*)>([\s\S]*?)<\/select>|<(textarea)\b([^>]*)>([\s\S]*?)<\/textarea>|<(button)\b([^>]*)>([\s\S]*?)<\/button>/g)) {
    if (m[1]) controls.push({ tag: 'input', attrs: attributes(m[0]) });
    else if (m[2]) {
      const options = [...m[4].matchAll(/<option\b([^>]*)>([\s\S]*?)<\/option>/g)].map((o) => {
        const a = attributes(`<option ${o[1]}>`);
        return { value: a.value ?? textOf(o[2]), text: textOf(o[2]), selected: 'selected' in a };
      });
      controls.push({ tag: 'select', attrs: attributes(`<select ${m[3]}>`), options });
    } else if (m[5]) controls.push({ tag: 'textarea', attrs: attributes(`<textarea ${m[6]}>`), text: decodeEntities(m[7]) });
    else controls.push({ tag: 'button', attrs: attributes(`<button ${m[9]}>`), text: textOf(m[10]) });
  }
  return { action: formAttrs.action ?? '', method: (formAttrs.method ?? 'get').toLowerCase(), controls, labels: labelsOf(html) };
}

/** What a person does to a form before pressing its button; controls are found by their visible label. */
export interface FormChanges {
  /** Label → typed text. */
  type?: Record<string, string>;
  /** Label → visible text of the option to select. */
  select?: Record<string, string>;
  /** Labels of checkboxes / radios to tick. */
  check?: string[];
  /** Labels of checkboxes to untick. */
  uncheck?: string[];
}

function controlByLabel(form: RenderedForm, label: string): Control {
  const id = form.labels.get(label);
  const control = id === undefined ? undefined : form.controls.find((c) => c.attrs.id === id);
  if (!control) throw new Error(`No control labelled "${label}" in the form (labels: ${[...form.labels.keys()].join(' | ')})`);
  return control;
}

/** The name/value pairs the browser sends when `button` (visible text) is pressed, and where to. */
export function formSubmission(form: RenderedForm, button: string | null, changes: FormChanges = {}): { method: string; action: string; fields: [string, string][] } {
  const typed = new Map<Control, string>();
  const picked = new Map<Control, string>();
  const checked = new Map<Control, boolean>();
  for (const [label, value] of Object.entries(changes.type ?? {})) typed.set(controlByLabel(form, label), value);
  for (const [label, option] of Object.entries(changes.select ?? {})) {
    const control = controlByLabel(form, label);
    const o = control.options?.find((x) => x.text === option);
    if (!o) throw new Error(`No option "${option}" under "${label}" (options: ${control.options?.map((x) => x.text).join(' | ')})`);
    picked.set(control, o.value);
  }
  for (const label of changes.check ?? []) checked.set(controlByLabel(form, label), true);
  for (const label of changes.uncheck ?? []) checked.set(controlByLabel(form, label), false);

  const pressed = button === null ? undefined : form.controls.find((c) => c.tag === 'button' && c.text === button);
  if (button !== null && !pressed) throw new Error(`No button "${button}" in the form (buttons: ${form.controls.filter((c) => c.tag === 'button').map((c) => c.text).join(' | ')})`);
  if (pressed && 'disabled' in pressed.attrs) throw new Error(`The button "${button}" is disabled`);
  const fields: [string, string][] = [];
  for (const c of form.controls) {
    const name = c.attrs.name;
    if (!name || 'disabled' in c.attrs) continue;
    if (c.tag === 'button') {
      if (c === pressed) fields.push([name, c.attrs.value ?? '']);
    } else if (c.tag === 'select') {
      const options = c.options ?? [];
      const value = picked.get(c) ?? (options.find((o) => o.selected) ?? ('multiple' in c.attrs ? undefined : options[0]))?.value;
      if (value !== undefined) fields.push([name, value]);
    } else if (c.tag === 'textarea') fields.push([name, typed.get(c) ?? c.text ?? '']);
    else {
      const type = (c.attrs.type ?? 'text').toLowerCase();
      if (type === 'checkbox' || type === 'radio') {
        if (checked.get(c) ?? 'checked' in c.attrs) fields.push([name, c.attrs.value ?? 'on']);
      } else if (type !== 'submit' && type !== 'reset' && type !== 'image' && type !== 'file') fields.push([name, typed.get(c) ?? c.attrs.value ?? '']);
    }
  }
  const action = pressed?.attrs.formaction ?? form.action;
  return { method: (pressed?.attrs.formmethod ?? form.method).toLowerCase(), action: action === '' ? '' : action, fields };
}

/** Submits the form as a browser would: GET forms as a query string, POST forms urlencoded. */
export async function submitRenderedForm(agent: Agent, html: string, which: { id?: string; button?: string }, button: string | null, changes: FormChanges = {}) {
  const form = readForm(html, which.id !== undefined || which.button !== undefined ? which : { button: button ?? undefined });
  const { method, action, fields } = formSubmission(form, button, changes);
  const encoded = new URLSearchParams(fields).toString();
  if (method === 'get') return agent.get(`${action}${encoded ? `?${encoded}` : ''}`);
  return agent.post(action).type('form').send(encoded);
}

/** The href of the link whose visible text is `text` (the first one). */
export function linkHref(html: string, text: string): string {
  for (const m of html.matchAll(/<a\b([^>]*)>([\s\S]*?)<\/a>/g)) {
    if (textOf(m[2]) === text) {
      const href = attributes(`<a ${m[1]}>`).href;
      if (href !== undefined) return href;
    }
  }
  throw new Error(`No link "${text}" in the page`);
}
