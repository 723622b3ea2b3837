import type { Response } from 'supertest';
import { decodeEntities, textOf } from './html';
import type { Agent } from './http';

/**
 * A form as the page rendered it, submitted the way a browser does: hidden fields, the values
 * and options the page filled in, checked boxes only, and the clicked button's `name=value` and
 * `formaction`. Tests change only what a person types or picks, found by its visible label (or,
 * for a pull-down, the option's text).
 */
export interface Control {
  tag: 'input' | 'select' | 'textarea';
  type: string;
  name: string;
  id: string | null;
  label: string | null;
  /** Current value; for a select, the value of the selected option(s). */
  values: string[];
  checked: boolean;
  disabled: boolean;
  /** For a checkbox or radio: the value it submits when checked. */
  onValue: string;
  options: { value: string; text: string; selected: boolean }[];
}

export interface Button {
  text: string;
  name: string | null;
  value: string;
  formaction: string | null;
  disabled: boolean;
}

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  const inside = tag.replace(/^<\w+/, '').replace(/\/?>$/, '');
  for (const m of inside.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)) {
    out[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

export class RenderedForm {
  readonly action: string;
  readonly method: string;
  readonly controls: Control[] = [];
  readonly buttons: Button[] = [];

  constructor(readonly html: string) {
    const open = /^<form\b[^>]*>/.exec(html)![0];
    const a = attrs(open);
    this.action = a.action ?? '';
    this.method = (a.method ?? 'get').toLowerCase();
    const labels = new Map<string, string>();
    for (const m of html.matchAll(/<label\b([^>]*)>([\s\S]*?)<\/label>/g)) {
      const forId = attrs(`<label ${m[1]}>`).for;
      if (forId) labels.set(forId, textOf(m[2]));
    }
    const tokens = /<input\b[^>]*>|<select\b[^>]*>[\s\S]*?<\/select>|<textarea\b[^>]*>[\s\S]*?<\/textarea>|<button\b[^>]*>[\s\S]*?<\/button>/g;
    for (const m of html.matchAll(tokens)) {
      const token = m[0];
      const tag = /^<(\w+)/.exec(token)![1].toLowerCase();
      const a = attrs(/^<[^>]*>/.exec(token)![0]);
      if (tag === 'button') {
        this.buttons.push({
          text: textOf(token),
          name: a.name ?? null,
          value: a.value ?? '',
          formaction: a.formaction ?? null,
          disabled: 'disabled' in a,
        });
        continue;
      }
      const type = tag === 'input' ? (a.type ?? 'text').toLowerCase() : tag;
      if (tag === 'input' && (type === 'submit' || type === 'button' || type === 'reset')) continue;
      const options =
        tag === 'select'
          ? [...token.matchAll(/<option\b([^>]*)>([\s\S]*?)<\/option>/g)].map((o) => {
              const oa = attrs(`<option ${o[1]}>`);
              return { value: oa.value ?? textOf(o[2]), text: textOf(o[2]), selected: 'selected' in oa };
            })
          : [];
      let values: string[];
      if (tag === 'select') {
        const chosen = options.filter((o) => o.selected).map((o) => o.value);
        values = chosen.length > 0 || 'multiple' in a ? chosen : options.slice(0, 1).map((o) => o.value);
      } else if (tag === 'textarea') {
        values = [decodeEntities(token.replace(/^<textarea\b[^>]*>/, '').replace(/<\/textarea>$/, '').replace(/^\n/, ''))];
      } else {
        values = [a.value ?? ''];
      }
      this.controls.push({
        tag: tag as Control['tag'],
        type,
        name: a.name ?? '',
        id: a.id ?? null,
        label: a.id ? (labels.get(a.id) ?? null) : null,
        values,
        checked: 'checked' in a,
        disabled: 'disabled' in a,
        onValue: a.value ?? 'on',
        options,
      });
    }
  }

  /** The control a person finds by its label text (exact, or a unique label containing it). */
  control(label: string): Control {
    const exact = this.controls.filter((c) => c.label === label);
    const found = exact.length > 0 ? exact : this.controls.filter((c) => c.label?.includes(label));
    if (found.length !== 1) {
      throw new Error(`${found.length} controls labelled "${label}" in the form ${this.action} (labels: ${this.controls.map((c) => c.label).filter(Boolean).join(' | ')})`);
    }
    return found[0];
  }

  /** Types into a text-like field (text, date, datetime-local, …) found by its label. */
  fill(label: string, value: string): this {
    const c = this.control(label);
    if (c.tag === 'select' || c.type === 'checkbox' || c.type === 'radio' || c.type === 'hidden') throw new Error(`"${label}" is a ${c.type}, not a field to type into`);
    c.values = [value];
    return this;
  }

  /** Picks the option with this visible text in the pull-down found by its label. */
  choose(label: string, optionText: string): this {
    const c = this.control(label);
    const option = c.options.find((o) => o.text === optionText);
    if (!option) throw new Error(`No option "${optionText}" in "${label}" (options: ${c.options.map((o) => o.text).join(' | ')})`);
    c.values = [option.value];
    return this;
  }

  /** Ticks (or unticks) the checkbox or radio found by its label. */
  check(label: string, checked = true): this {
    const c = this.control(label);
    if (c.type !== 'checkbox' && c.type !== 'radio') throw new Error(`"${label}" is not a checkbox or radio`);
    if (c.type === 'radio' && checked) for (const other of this.controls) if (other.name === c.name && other.type === 'radio') other.checked = false;
    c.checked = checked;
    return this;
  }

  /** The fields a browser submits when `button` is clicked. */
  fields(button?: Button): [string, string][] {
    const out: [string, string][] = [];
    for (const c of this.controls) {
      if (!c.name || c.disabled) continue;
      if (c.type === 'checkbox' || c.type === 'radio') {
        if (c.checked) out.push([c.name, c.onValue]);
      } else {
        for (const v of c.values) out.push([c.name, v]);
      }
    }
    if (button?.name) out.push([button.name, button.value]);
    return out;
  }

  button(text: string): Button {
    const found = this.buttons.filter((b) => b.text === text);
    if (found.length !== 1) throw new Error(`${found.length} buttons "${text}" in the form ${this.action} (buttons: ${this.buttons.map((b) => b.text).join(' | ')})`);
    if (found[0].disabled) throw new Error(`The button "${text}" is disabled`);
    return found[0];
  }

  /** Clicks the button with this visible text (its `formaction`, `name` and `value` apply). */
  submit(agent: Agent, buttonText: string): Promise<Response> {
    const button = this.button(buttonText);
    const action = button.formaction ?? this.action;
    const body = new URLSearchParams(this.fields(button)).toString();
    if (this.method === 'get') return agent.get(body ? `${action}${action.includes('?') ? '&' : '?'}${body}` : action);
    return agent.post(action).type('form').send(body);
  }
}

/**
 * The form of a page that has a button with this text (or whose action is `action`): the form a
 * person would use. Fails when there is none or more than one.
 */
export function formWith(html: string, match: { button?: string; action?: string }): RenderedForm {
  const forms = [...html.matchAll(/<form\b[^>]*>[\s\S]*?<\/form>/g)].map((m) => new RenderedForm(m[0]));
  const found = forms.filter((f) => (match.action === undefined || f.action === match.action) && (match.button === undefined || f.buttons.some((b) => b.text === match.button)));
  if (found.length !== 1) {
    throw new Error(`${found.length} forms match ${JSON.stringify(match)} (forms: ${forms.map((f) => `${f.action} [${f.buttons.map((b) => b.text).join(', ')}]`).join('; ')})`);
  }
  return found[0];
}

/** GETs `path` (which must answer 200) and returns its form that matches. */
export async function openForm(agent: Agent, path: string, match: { button?: string; action?: string }): Promise<RenderedForm> {
  const page = await agent.get(path);
  if (page.status !== 200) throw new Error(`GET ${path} answered ${page.status} (location ${page.headers.location ?? '-'})`);
  return formWith(page.text, match);
}
