import Handlebars from 'handlebars';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DISPLAY_TIME_ZONE, formatDateTime, registerHelpers } from './hbs-helpers';
import { projectRoot } from './project-root';

type AstNode = hbs.AST.Node & Record<string, unknown>;

const viewsDir = join(projectRoot(), 'views');
const BUILT_IN_HELPERS = new Set(['if', 'unless', 'each', 'with', 'lookup', 'log']);

function helperNames(): string[] {
  const names: string[] = [];
  registerHelpers({ registerHelper: (name: string) => void names.push(name) });
  return names;
}

function templates(dir = viewsDir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? templates(join(dir, e.name)) : e.name.endsWith('.hbs') ? [join(dir, e.name)] : []));
}

/** A path's first name as a template writes it (`this.value` → `value`, `../user.id` → `user`); null for `this`, `@data`. */
function head(path: hbs.AST.PathExpression): string | null {
  if (path.data) return null;
  return path.parts[0] ?? null;
}

/**
 * Every place where a template and a helper could mean different things by one name:
 *  - `{{name}}` with no arguments where `name` is a helper: Handlebars calls the helper and the
 *    field of that name never shows (an `<option value="{{value}}">` renders empty);
 *  - a field read (`{{#if selected}}`, `(eq value x)`, `this.checked`) whose name is a helper's:
 *    correct today, but the same name written bare elsewhere is a helper call;
 *  - a call of a helper that does not exist (Handlebars would fail only when the line renders).
 */
function clashes(source: string, where: string, helpers: Set<string>): string[] {
  const found: string[] = [];
  const line = (node: hbs.AST.Node) => `${where}:${node.loc?.start.line ?? '?'}`;
  const readField = (node: hbs.AST.Expression) => {
    if (node.type === 'PathExpression') {
      const name = head(node as hbs.AST.PathExpression);
      if (name && helpers.has(name)) found.push(`${line(node)}: the field "${(node as hbs.AST.PathExpression).original}" has the name of the helper "${name}"`);
    } else if (node.type === 'SubExpression') {
      call(node as hbs.AST.SubExpression, true);
    }
  };
  const call = (node: hbs.AST.MustacheStatement | hbs.AST.BlockStatement | hbs.AST.SubExpression, hasArgs: boolean) => {
    const path = node.path as hbs.AST.PathExpression;
    const name = path.type === 'PathExpression' && path.parts.length === 1 && !path.data && !/^(this|\.)/.test(path.original) ? path.parts[0] : null;
    if (name && helpers.has(name)) {
      if (!hasArgs) found.push(`${line(node)}: {{${name}}} calls the helper "${name}" instead of reading the field`);
    } else if (name && hasArgs && !BUILT_IN_HELPERS.has(name)) {
      found.push(`${line(node)}: "${name}" is called with arguments but is no helper`);
    } else if (path.type === 'PathExpression') {
      readField(path);
    }
    for (const p of node.params) readField(p);
    for (const pair of node.hash?.pairs ?? []) readField(pair.value);
  };
  const walk = (node: AstNode | null | undefined): void => {
    if (!node) return;
    switch (node.type) {
      case 'Program':
        for (const s of (node as unknown as hbs.AST.Program).body) walk(s as AstNode);
        break;
      case 'MustacheStatement': {
        const m = node as unknown as hbs.AST.MustacheStatement;
        call(m, m.params.length > 0 || (m.hash?.pairs.length ?? 0) > 0);
        break;
      }
      case 'BlockStatement': {
        const b = node as unknown as hbs.AST.BlockStatement;
        call(b, true);
        walk(b.program as unknown as AstNode);
        walk(b.inverse as unknown as AstNode);
        break;
      }
      case 'PartialStatement':
      case 'PartialBlockStatement': {
        const p = node as unknown as hbs.AST.PartialStatement;
        for (const param of p.params) readField(param);
        for (const pair of p.hash?.pairs ?? []) readField(pair.value);
        if (node.type === 'PartialBlockStatement') walk((node as unknown as hbs.AST.PartialBlockStatement).program as unknown as AstNode);
        break;
      }
      default:
        break;
    }
  };
  walk(Handlebars.parse(source) as unknown as AstNode);
  return found;
}

describe('Handlebars helpers and template fields', () => {
  const helpers = new Set(helperNames());

  it('finds the templates and the helpers', () => {
    expect(templates().length).toBeGreaterThan(40);
    expect(helpers.size).toBeGreaterThan(10);
  });

  it('no helper shares a name with a field a template reads, and every helper a template calls exists', () => {
    expect(templates().flatMap((f) => clashes(readFileSync(f, 'utf8'), relative(viewsDir, f), helpers))).toEqual([]);
  });

  it('the check sees a swallowed field, a field named like a helper, and an unknown helper', () => {
    const parsed = (source: string) => clashes(source, 'probe.hbs', helpers);
    expect(parsed('<option value="{{eq}}">')).toEqual(['probe.hbs:1: {{eq}} calls the helper "eq" instead of reading the field']);
    expect(parsed('{{#if not}}x{{/if}}')).toEqual(['probe.hbs:1: the field "not" has the name of the helper "not"']);
    expect(parsed('{{frobnicate a}}')).toEqual(['probe.hbs:1: "frobnicate" is called with arguments but is no helper']);
    expect(parsed('{{#each options}}<option value="{{this.id}}">{{name}}</option>{{/each}}')).toEqual([]);
  });
});


describe('date helpers', () => {
  const hbs = Handlebars.create();
  registerHelpers(hbs);
  const render = (template: string, data: Record<string, unknown>) => hbs.compile(template)(data);

  it('formats in the given zone with the zone named, across daylight saving time', () => {
    expect(formatDateTime(new Date('2026-07-01T10:00:00Z'), 'Europe/Berlin')).toBe('01 Jul 2026, 12:00 Europe/Berlin');
    expect(formatDateTime(new Date('2026-01-15T08:30:00Z'), 'Europe/Berlin')).toBe('15 Jan 2026, 09:30 Europe/Berlin');
    expect(formatDateTime(new Date('2026-01-15T23:30:00Z'), 'America/New_York')).toBe('15 Jan 2026, 18:30 America/New_York');
    expect(formatDateTime(new Date('2026-01-15T23:30:00Z'), 'UTC')).toBe('15 Jan 2026, 23:30 UTC');
  });

  it('reads the zone of the request from the root data, also inside blocks, and keeps <time datetime> in UTC', () => {
    const data = { [DISPLAY_TIME_ZONE]: 'Asia/Tokyo', rows: [{ at: new Date('2026-03-01T15:00:00Z') }] };
    expect(render('{{#each rows}}<time datetime="{{isoDate at}}">{{formatDateTime at}}</time>{{/each}}', data)).toBe(
      '<time datetime="2026-03-01T15:00:00.000Z">02 Mar 2026, 00:00 Asia/Tokyo</time>',
    );
    expect(render('{{formatDateTime at}}', { at: '2026-03-01T15:00:00Z' })).toBe('01 Mar 2026, 15:00 UTC');
    expect(render('[{{formatDateTime at}}]', { at: null })).toBe('[]');
  });

  it('shows audited timestamps like every date, other values as before', () => {
    const data = { [DISPLAY_TIME_ZONE]: 'Europe/Berlin', to: '2026-07-01T10:00:00.000Z', from: null, name: 'Ann' };
    expect(render('{{formatAuditValue from json=true}} → {{formatAuditValue to json=true}}', data)).toBe('null → 01 Jul 2026, 12:00 Europe/Berlin');
    expect(render('{{formatAuditValue name json=true}}|{{formatAuditValue name}}', data)).toBe('&quot;Ann&quot;|Ann');
  });
});
