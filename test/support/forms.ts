import { HTMLElement, Node, NodeType, parse } from 'node-html-parser';
import type { Response } from 'supertest';
import type { Agent } from './http';

/**
 * Reads a form a page rendered and submits it the way a browser does, so that an e2e test sends
 * what a person would send: every hidden field, the options the page selected, the boxes it
 * ticked, the pressed button's name, value and `formaction`. A test changes only what a person
 * types or picks, and picks it by the text on the screen (label, option, button), so a field
 * whose label or options do not render cannot be used by the test either.
 *
 * ```ts
 * const form = await openForm(agent, `/users/${id}/edit`, { button: 'Save user' });
 * const res = await form.fill('E-mail', 'ann@example.org').select('Gender', 'Female').submit('Save user');
 * ```
 */

/** Which form of the page: by the visible text of one of its submit buttons, its action, or a label inside it. */
export type FormLocator = string | { button?: string; action?: string; label?: string };

export interface FileUpload {
  content: Buffer;
  filename: string;
  contentType?: string;
}

type Control =
  | { kind: 'text'; el: HTMLElement; name: string; value: string }
  | { kind: 'hidden'; el: HTMLElement; name: string; value: string }
  | { kind: 'checkable'; el: HTMLElement; name: string; type: 'checkbox' | 'radio'; value: string; checked: boolean }
  | { kind: 'select'; el: HTMLElement; name: string; multiple: boolean; options: SelectOption[] }
  | { kind: 'textarea'; el: HTMLElement; name: string; value: string }
  | { kind: 'file'; el: HTMLElement; name: string; files: FileUpload[] }
  | { kind: 'button'; el: HTMLElement; name: string; value: string };

interface SelectOption {
  el: HTMLElement;
  value: string;
  text: string;
  selected: boolean;
  disabled: boolean;
}

/** A submit button of the form, as a person sees it. */
export interface SubmitButton {
  text: string;
  name: string | null;
  value: string;
  disabled: boolean;
  formaction: string | null;
  formmethod: string | null;
}

/** Whitespace collapsed and trimmed, as text reads on the screen. */
function squash(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** The text of an element without the parts marked `aria-hidden="true"` (e.g. the required `*`). */
function textWithoutHidden(el: Node): string {
  if (el.nodeType === NodeType.TEXT_NODE) return el.text;
  if (!(el instanceof HTMLElement)) return '';
  if (el.getAttribute('aria-hidden') === 'true') return '';
  return el.childNodes.map(textWithoutHidden).join('');
}

/** The texts a label may be picked by: all of it, without aria-hidden parts, and its own text (not nested elements). */
function labelTexts(label: HTMLElement): string[] {
  const own = label.childNodes.filter((n) => n.nodeType === NodeType.TEXT_NODE).map((n) => n.text).join(' ');
  return [...new Set([squash(label.text), squash(textWithoutHidden(label)), squash(own)])].filter((s) => s !== '');
}

/** Descendant elements in document order. */
function descendants(root: HTMLElement): HTMLElement[] {
  const out: HTMLElement[] = [];
  const walk = (el: HTMLElement) => {
    for (const child of el.childNodes) {
      if (child instanceof HTMLElement) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return out;
}

function tag(el: HTMLElement): string {
  return (el.tagName ?? '').toLowerCase();
}

/** Disabled itself, or inside a disabled fieldset (except in that fieldset's first legend). */
function isDisabled(el: HTMLElement): boolean {
  if (el.hasAttribute('disabled')) return true;
  for (let child: HTMLElement = el, p = el.parentNode; p; child = p, p = p.parentNode) {
    if (tag(p) === 'fieldset' && p.hasAttribute('disabled')) {
      const firstLegend = p.childNodes.find((n): n is HTMLElement => n instanceof HTMLElement && tag(n) === 'legend');
      if (child !== firstLegend) return true;
    }
  }
  return false;
}

function isSubmitButton(el: HTMLElement): boolean {
  if (tag(el) === 'button') return (el.getAttribute('type') ?? 'submit').toLowerCase() === 'submit';
  return tag(el) === 'input' && ['submit', 'image'].includes((el.getAttribute('type') ?? '').toLowerCase());
}

function buttonText(el: HTMLElement): string {
  return tag(el) === 'input' ? squash(el.getAttribute('value') ?? 'Submit') : squash(el.text);
}

function optionValue(el: HTMLElement): string {
  return el.getAttribute('value') ?? squash(el.text);
}

/** Browsers submit line breaks of text as CRLF. */
function normalizeNewlines(s: string): string {
  return s.replace(/\r\n|\r|\n/g, '\r\n');
}

function quoteList(items: string[]): string {
  return items.length ? items.map((s) => `"${s}"`).join(', ') : '(none)';
}

export class RenderedForm {
  private readonly controls: Control[] = [];
  private readonly buttons: HTMLElement[] = [];
  private readonly forged = new Map<string, string[]>();

  constructor(
    private readonly agent: Agent | null,
    private readonly root: HTMLElement,
    private readonly form: HTMLElement,
    /** The page's own path: a form without `action` posts to it. */
    private readonly pageUrl: string,
  ) {
    const id = form.getAttribute('id');
    const owned = id ? root.querySelectorAll(`[form="${id}"]`) : [];
    const elements = descendants(root).filter((el) => el.closest('form') === form || owned.includes(el));
    for (const el of elements) {
      if (isSubmitButton(el)) this.buttons.push(el);
      const control = this.readControl(el);
      if (control) this.controls.push(control);
    }
  }

  private readControl(el: HTMLElement): Control | null {
    const name = el.getAttribute('name') ?? '';
    switch (tag(el)) {
      case 'input': {
        const type = (el.getAttribute('type') ?? 'text').toLowerCase();
        if (type === 'checkbox' || type === 'radio') {
          return { kind: 'checkable', el, name, type, value: el.getAttribute('value') ?? 'on', checked: el.hasAttribute('checked') };
        }
        if (type === 'hidden') return { kind: 'hidden', el, name, value: el.getAttribute('value') ?? '' };
        if (type === 'file') return { kind: 'file', el, name, files: [] };
        if (['submit', 'image', 'reset', 'button'].includes(type)) return type === 'submit' ? { kind: 'button', el, name, value: el.getAttribute('value') ?? '' } : null;
        return { kind: 'text', el, name, value: el.getAttribute('value') ?? '' };
      }
      case 'select': {
        const multiple = el.hasAttribute('multiple');
        const options = el.querySelectorAll('option').map((o) => ({
          el: o,
          value: optionValue(o),
          text: squash(o.text),
          selected: o.hasAttribute('selected'),
          disabled: o.hasAttribute('disabled') || o.closest('optgroup')?.hasAttribute('disabled') === true,
        }));
        // A single select (drop-down) with nothing selected shows, and sends, its first enabled option.
        const size = Number(el.getAttribute('size') ?? '1');
        if (!multiple && size <= 1 && !options.some((o) => o.selected)) {
          const first = options.find((o) => !o.disabled);
          if (first) first.selected = true;
        }
        // A single select keeps only the last option marked selected.
        if (!multiple) {
          const last = [...options].reverse().find((o) => o.selected);
          for (const o of options) o.selected = o === last;
        }
        return { kind: 'select', el, name, multiple, options };
      }
      case 'textarea':
        // The HTML parser drops one line break right after <textarea>.
        return { kind: 'textarea', el, name, value: el.text.replace(/^\r?\n/, '') };
      case 'button':
        return isSubmitButton(el) ? { kind: 'button', el, name, value: el.getAttribute('value') ?? '' } : null;
      default:
        return null;
    }
  }

  /** The form's `action`, resolved against the page (what a browser posts to without `formaction`). */
  get action(): string {
    return this.resolve(this.form.getAttribute('action') ?? '');
  }

  get method(): 'GET' | 'POST' {
    return (this.form.getAttribute('method') ?? 'get').toLowerCase() === 'post' ? 'POST' : 'GET';
  }

  get enctype(): string {
    return (this.form.getAttribute('enctype') ?? 'application/x-www-form-urlencoded').toLowerCase();
  }

  /** The form element's HTML, for assertions on what it shows. */
  get html(): string {
    return this.form.outerHTML;
  }

  /** The form's visible text (labels, hints, errors). */
  get text(): string {
    return squash(this.form.text);
  }

  private resolve(url: string): string {
    const resolved = new URL(url, new URL(this.pageUrl, 'http://tessera.test'));
    return resolved.pathname + resolved.search;
  }

  /** Every label of the form's controls, with the controls it names. */
  private labelled(): { texts: string[]; control: Control }[] {
    const out: { texts: string[]; control: Control }[] = [];
    for (const control of this.controls) {
      if (control.kind === 'hidden' || control.kind === 'button') continue;
      const texts: string[] = [];
      const id = control.el.getAttribute('id');
      if (id) for (const label of this.root.querySelectorAll('label')) if (label.getAttribute('for') === id) texts.push(...labelTexts(label));
      const wrapping = control.el.closest('label');
      if (wrapping) texts.push(...labelTexts(wrapping));
      const aria = control.el.getAttribute('aria-label');
      if (aria) texts.push(squash(aria));
      out.push({ texts: [...new Set(texts)], control });
    }
    return out;
  }

  /** The control a person finds by this label text; fails listing the labels there are. */
  private byLabel(label: string, kinds: Control['kind'][], what: string): Control {
    const all = this.labelled();
    const matches = all.filter((l) => l.texts.includes(squash(label)));
    if (matches.length === 0) {
      throw new Error(`No field labelled "${label}" in the form (${this.describe()}). Labels: ${quoteList(all.map((l) => l.texts[0] ?? `(unlabelled ${l.control.name})`))}`);
    }
    const fitting = matches.filter((m) => kinds.includes(m.control.kind));
    if (fitting.length === 0) throw new Error(`The field labelled "${label}" is a ${matches[0].control.kind} field, which cannot be used to ${what}`);
    if (fitting.length > 1) throw new Error(`${fitting.length} fields are labelled "${label}" (names ${fitting.map((m) => m.control.name).join(', ')})`);
    const control = fitting[0].control;
    if (isDisabled(control.el)) throw new Error(`The field labelled "${label}" is disabled: a person cannot ${what} it`);
    return control;
  }

  private describe(): string {
    return `${this.method} ${this.action}`;
  }

  /** Types `value` into the text field or text area labelled `label` (replacing what it holds). */
  fill(label: string, value: string): this {
    const control = this.byLabel(label, ['text', 'textarea'], 'type into');
    if (control.kind !== 'text' && control.kind !== 'textarea') throw new Error('unreachable');
    if (control.el.hasAttribute('readonly')) throw new Error(`The field labelled "${label}" is read-only`);
    control.value = value;
    return this;
  }

  /**
   * Picks options of the select labelled `label` by their text. A single select takes one text;
   * a multiple select takes the full list of what is to be selected afterwards (possibly empty).
   */
  select(label: string, optionText: string | string[]): this {
    const control = this.byLabel(label, ['select'], 'pick from');
    if (control.kind !== 'select') throw new Error('unreachable');
    const wanted = Array.isArray(optionText) ? optionText : [optionText];
    if (!control.multiple && wanted.length !== 1) throw new Error(`"${label}" is a single select: pick exactly one option`);
    const picked = wanted.map((text) => {
      const option = control.options.find((o) => o.text === squash(text));
      if (!option) throw new Error(`No option "${text}" in "${label}". Options: ${quoteList(control.options.map((o) => o.text))}`);
      if (option.disabled) throw new Error(`Option "${text}" of "${label}" is disabled`);
      return option;
    });
    for (const o of control.options) o.selected = picked.includes(o);
    return this;
  }

  /** Ticks the checkbox, or chooses the radio button, labelled `label`. */
  check(label: string): this {
    const control = this.byLabel(label, ['checkable'], 'tick');
    if (control.kind !== 'checkable') throw new Error('unreachable');
    if (control.type === 'radio') {
      for (const other of this.controls) if (other.kind === 'checkable' && other.type === 'radio' && other.name === control.name) other.checked = false;
    }
    control.checked = true;
    return this;
  }

  /** Clears the checkbox labelled `label`. */
  uncheck(label: string): this {
    const control = this.byLabel(label, ['checkable'], 'untick');
    if (control.kind !== 'checkable') throw new Error('unreachable');
    if (control.type === 'radio') throw new Error(`"${label}" is a radio button: choose another one instead`);
    control.checked = false;
    return this;
  }

  /** Chooses a file for the file field labelled `label`. */
  attach(label: string, content: Buffer | string, filename: string, contentType?: string): this {
    const control = this.byLabel(label, ['file'], 'choose a file for');
    if (control.kind !== 'file') throw new Error('unreachable');
    control.files = [{ content: Buffer.isBuffer(content) ? content : Buffer.from(content), filename, contentType }];
    return this;
  }

  /**
   * Replaces what the form sends under `name` with made-up values (none: the field is left out),
   * the way a forged request would: only for tests of what a browser cannot send (an option the
   * page does not offer, a disabled box, another organization's id in a hidden field).
   */
  forge(name: string, values: string | string[] | null): this {
    this.forged.set(name, values === null ? [] : Array.isArray(values) ? values : [values]);
    return this;
  }

  /** What the field labelled `label` holds now (selected option texts for a select, "on"/"" for a box). */
  valueOf(label: string): string | string[] {
    const control = this.byLabel(label, ['text', 'textarea', 'select', 'checkable'], 'read');
    switch (control.kind) {
      case 'select':
        return control.multiple ? control.options.filter((o) => o.selected).map((o) => o.text) : (control.options.find((o) => o.selected)?.text ?? '');
      case 'checkable':
        return control.checked ? 'on' : '';
      case 'text':
      case 'textarea':
        return control.value;
      default:
        throw new Error('unreachable');
    }
  }

  /** The option texts of the select labelled `label`, in order. */
  optionsOf(label: string): string[] {
    const control = this.labelled().find((l) => l.texts.includes(squash(label)))?.control;
    if (!control || control.kind !== 'select') throw new Error(`No select labelled "${label}". Labels: ${quoteList(this.labelled().map((l) => l.texts[0] ?? l.control.name))}`);
    return control.options.map((o) => o.text);
  }

  /** Whether a field of the form is labelled `label`. */
  hasLabel(label: string): boolean {
    return this.labelled().some((l) => l.texts.includes(squash(label)));
  }

  /** The visible labels of the form's fields, in order. */
  labels(): string[] {
    return this.labelled().map((l) => l.texts[0] ?? `(unlabelled ${l.control.name})`);
  }

  /** The form's submit buttons as a person sees them. */
  submitButtons(): SubmitButton[] {
    return this.buttons.map((el) => ({
      text: buttonText(el),
      name: el.getAttribute('name') ?? null,
      value: el.getAttribute('value') ?? '',
      disabled: isDisabled(el),
      formaction: el.getAttribute('formaction') ?? null,
      formmethod: el.getAttribute('formmethod') ?? null,
    }));
  }

  private button(text: string | undefined): HTMLElement {
    if (this.buttons.length === 0) throw new Error(`The form ${this.describe()} has no submit button`);
    const el = text === undefined ? this.buttons[0] : this.buttons.find((b) => buttonText(b) === squash(text));
    if (!el) throw new Error(`No button "${text}" in the form ${this.describe()}. Buttons: ${quoteList(this.buttons.map(buttonText))}`);
    if (isDisabled(el)) throw new Error(`The button "${buttonText(el)}" is disabled: a person cannot press it`);
    return el;
  }

  /**
   * The entries a browser sends when `buttonText` is pressed (the first submit button when left
   * out, as pressing Enter does), in document order. Files are left out; see `files()`.
   */
  entries(buttonText?: string): [string, string][] {
    return this.dataSet(buttonText).flatMap((e): [string, string][] => (typeof e.value === 'string' ? [[e.name, e.value]] : []));
  }

  /** The chosen files, by field name. */
  files(): [string, FileUpload][] {
    const out: [string, FileUpload][] = [];
    for (const c of this.controls) if (c.kind === 'file' && c.name && !isDisabled(c.el)) for (const f of c.files) out.push([c.name, f]);
    return out;
  }

  /** What a browser sends, in document order: text entries, and file fields (null: no file chosen). */
  private dataSet(buttonText?: string): { name: string; value: string | FileUpload | null }[] {
    const submitter = this.buttons.length ? this.button(buttonText) : null;
    const out: { name: string; value: string | FileUpload | null }[] = [];
    for (const c of this.controls) {
      if (!c.name || isDisabled(c.el)) continue;
      const add = (value: string | FileUpload | null) => out.push({ name: c.name, value });
      switch (c.kind) {
        case 'text':
        case 'hidden':
          add(c.value);
          break;
        case 'textarea':
          add(normalizeNewlines(c.value));
          break;
        case 'checkable':
          if (c.checked) add(c.value);
          break;
        case 'select':
          for (const o of c.options) if (o.selected && !o.disabled) add(o.value);
          break;
        case 'button':
          if (c.el === submitter) add(c.value);
          break;
        case 'file':
          if (c.files.length === 0) add(null);
          for (const f of c.files) add(f);
          break;
      }
    }
    if (this.forged.size === 0) return out;
    const kept = out.filter((e) => !this.forged.has(e.name));
    for (const [name, values] of this.forged) for (const value of values) kept.push({ name, value });
    return kept;
  }

  /**
   * The multipart body a browser builds, parts in document order; a file field with no file
   * chosen is an empty part with `filename=""`, as browsers send it.
   */
  private multipartBody(buttonText?: string): { body: Buffer; boundary: string } {
    const boundary = '----TesseraFormBoundary7MA4YWxkTrZu0gW';
    // Browsers escape these in names and file names (WHATWG multipart/form-data encoding).
    const escape = (s: string) => s.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22');
    const parts: Buffer[] = [];
    for (const { name, value } of this.dataSet(buttonText)) {
      const disposition = `--${boundary}\r\nContent-Disposition: form-data; name="${escape(name)}"`;
      if (typeof value === 'string') {
        parts.push(Buffer.from(`${disposition}\r\n\r\n${value}\r\n`));
      } else {
        const file = value ?? { content: Buffer.alloc(0), filename: '' };
        parts.push(Buffer.from(`${disposition}; filename="${escape(file.filename)}"\r\nContent-Type: ${file.contentType ?? 'application/octet-stream'}\r\n\r\n`), file.content, Buffer.from('\r\n'));
      }
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    return { body: Buffer.concat(parts), boundary };
  }

  /** The entries as an object (repeated names become arrays), for assertions. */
  values(buttonText?: string): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of this.entries(buttonText)) {
      const prev = out[name];
      out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
    }
    return out;
  }

  /**
   * Presses the submit button with this visible text (the first one when left out) and returns
   * the response. The request leaves at once, as a browser's does when the button is pressed,
   * not when the answer is awaited: a test may hold it pending while something else happens.
   */
  submit(buttonText?: string): Promise<Response> {
    // supertest only sends when its request is then-ed; `.then` here starts it now.
    return new Promise((resolve, reject) => {
      this.send(buttonText).then(resolve, reject);
    });
  }

  private send(buttonText?: string): PromiseLike<Response> {
    if (!this.agent) throw new Error('This form was read without an agent: it cannot be submitted');
    const submitter = this.button(buttonText);
    const entries = this.entries(buttonText);
    const formaction = submitter.getAttribute('formaction');
    const formmethod = submitter.getAttribute('formmethod');
    const method = formmethod ? (formmethod.toLowerCase() === 'post' ? 'POST' : 'GET') : this.method;
    const target = formaction !== undefined && formaction !== null && formaction !== '' ? this.resolve(formaction) : this.action;
    if (method === 'GET') {
      const url = new URL(target, 'http://tessera.test');
      url.search = new URLSearchParams(entries).toString();
      return this.agent.get(url.pathname + url.search);
    }
    const enctype = (submitter.getAttribute('formenctype') ?? this.enctype).toLowerCase();
    if (enctype === 'multipart/form-data') {
      const { body, boundary } = this.multipartBody(buttonText);
      return this.agent.post(target).set('Content-Type', `multipart/form-data; boundary=${boundary}`).send(body);
    }
    return this.agent.post(target).type('form').send(new URLSearchParams(entries).toString());
  }
}

function formSummary(form: HTMLElement): string {
  const buttons = descendants(form).filter(isSubmitButton).map(buttonText);
  return `${(form.getAttribute('method') ?? 'get').toUpperCase()} ${form.getAttribute('action') ?? '(this page)'} [buttons: ${quoteList(buttons)}]`;
}

/**
 * The form of `html` that `locator` names: a string is the visible text of one of its submit
 * buttons. Fails, listing the page's forms, when none or several match.
 */
export function formIn(html: string, locator: FormLocator, options: { agent?: Agent; url?: string } = {}): RenderedForm {
  const root = parse(html, { comment: false, blockTextElements: { script: true, style: true, textarea: true } });
  const by = typeof locator === 'string' ? { button: locator } : locator;
  const pageUrl = options.url ?? '/';
  const forms = root.querySelectorAll('form');
  const matching = forms.filter((f) => {
    const rendered = new RenderedForm(null, root, f, pageUrl);
    if (by.button !== undefined && !rendered.submitButtons().some((b) => b.text === squash(by.button!))) return false;
    if (by.action !== undefined && rendered.action !== by.action) return false;
    if (by.label !== undefined && !rendered.hasLabel(by.label)) return false;
    return true;
  });
  const wanted = JSON.stringify(by);
  if (matching.length === 0) throw new Error(`No form ${wanted} in the page ${pageUrl}. Forms: ${forms.length ? forms.map(formSummary).join('; ') : '(none)'}`);
  if (matching.length > 1) throw new Error(`${matching.length} forms match ${wanted} in the page ${pageUrl}: ${matching.map(formSummary).join('; ')}`);
  return new RenderedForm(options.agent ?? null, root, matching[0], pageUrl);
}

/** GETs `path` (which must answer 200) and returns its form named by `locator`, ready to submit with `agent`. */
export async function openForm(agent: Agent, path: string, locator: FormLocator): Promise<RenderedForm> {
  const page = await agent.get(path);
  if (page.status !== 200) throw new Error(`GET ${path} answered ${page.status} (location ${page.headers.location ?? '-'}):\n${page.text.slice(0, 500)}`);
  return formIn(page.text, locator, { agent, url: path });
}

/** The form of a response already at hand (e.g. a 422 re-render), ready to submit again. */
export function formOf(agent: Agent, html: string, locator: FormLocator, url: string): RenderedForm {
  return formIn(html, locator, { agent, url });
}
