import { HTMLElement, Node, NodeType, parse } from 'node-html-parser';
import type { Agent } from './http';

/** Decodes the entities Handlebars writes (and numeric ones). */
export function decodeEntities(s: string): string {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_m, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_m, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#x3D;/gi, '=')
    .replace(/&#x60;/gi, '`')
    .replace(/&amp;/g, '&');
}

/** A page or fragment as a tree; script and style contents stay text of their own element. */
function parsed(html: string): HTMLElement {
  return parse(html, { comment: false, blockTextElements: { script: true, style: true } });
}

/** Collapses whitespace as text reads on the screen. */
function squash(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function isVisuallyHiddenSpan(node: HTMLElement): boolean {
  return node.rawTagName?.toLowerCase() === 'span' && node.getAttribute('class') === 'visually-hidden';
}

/**
 * The text of a parsed node with the visually-hidden spans left out and every element boundary
 * read as a space (a cell's "Anna<br>Zeta" reads "Anna Zeta"); entities are decoded by the parser.
 */
function textWithoutHiddenSpans(node: Node): string {
  if (node.nodeType === NodeType.TEXT_NODE) return node.text;
  if (!(node instanceof HTMLElement) || isVisuallyHiddenSpan(node)) return '';
  return node.childNodes.map(textWithoutHiddenSpans).join(' ');
}

/** Visible text of an HTML fragment: tags and visually-hidden spans dropped, entities decoded, spaces collapsed. */
export function textOf(fragment: string): string {
  return squash(textWithoutHiddenSpans(parsed(fragment)));
}

export interface HtmlTable {
  headers: string[];
  /** Body rows whose cells line up with the headers (a "No users." row spanning them is left out). */
  rows: string[][];
  /** The raw HTML of each kept row, in the same order. */
  rawRows: string[];
}

/** The element children of `el` with this tag name. */
function childrenNamed(el: HTMLElement, tagName: string): HTMLElement[] {
  return el.childNodes.filter((n): n is HTMLElement => n instanceof HTMLElement && n.rawTagName?.toLowerCase() === tagName);
}

/** The first `<table class="data">` of a page (the list tables of Tessera). */
export function dataTable(html: string): HtmlTable {
  const table = parsed(html)
    .querySelectorAll('table')
    .find((el) => el.getAttribute('class') === 'data');
  if (!table) throw new Error(`No data table in the page:\n${html.slice(0, 800)}`);
  const headers = table.querySelectorAll('th').map((th) => squash(textWithoutHiddenSpans(th)));
  const body = table.querySelector('tbody');
  const rows: string[][] = [];
  const rawRows: string[] = [];
  for (const tr of body ? childrenNamed(body, 'tr') : []) {
    const cells = childrenNamed(tr, 'td');
    if (cells.length !== headers.length) continue;
    rows.push(cells.map((td) => squash(textWithoutHiddenSpans(td))));
    rawRows.push(tr.outerHTML);
  }
  return { headers, rows, rawRows };
}

/** The values of one column (by its header text) of the page's data table. */
export function columnValues(html: string, header: string): string[] {
  const table = dataTable(html);
  const index = table.headers.indexOf(header);
  if (index < 0) throw new Error(`No column "${header}" in the table (columns: ${table.headers.join(', ')})`);
  return table.rows.map((row) => row[index]);
}

/** The usernames of a list page (users list, member picker): the "Username" column, markers like "(disabled)" cut off. */
export function usernamesIn(html: string): string[] {
  return columnValues(html, 'Username').map((cell) => cell.split(' ')[0]);
}

/** The href of the page's "Next page" link, if any (entities decoded, as a browser follows it). */
export function nextPageLink(html: string): string | null {
  return parsed(html).querySelector('a[rel="next"][href]')?.getAttribute('href') ?? null;
}

/**
 * Every username a list shows, following its "Next page" links; fails on anything but 200.
 * Returned sorted, so that tests compare sets.
 */
export async function allUsernames(agent: Agent, path: string, maxPages = 50): Promise<string[]> {
  const names: string[] = [];
  let next: string | null = path;
  for (let page = 0; next !== null; page++) {
    if (page >= maxPages) throw new Error(`${path}: more than ${maxPages} pages`);
    const res = await agent.get(next);
    if (res.status !== 200) throw new Error(`GET ${next} answered ${res.status} (location ${res.headers.location ?? '-'})`);
    names.push(...usernamesIn(res.text));
    next = nextPageLink(res.text);
  }
  return names.sort();
}

/** Text a person sees in a parsed node: visually-hidden parts left out, spaces collapsed. */
function visibleText(node: Node): string {
  if (node.nodeType === NodeType.TEXT_NODE) return node.text;
  if (!(node instanceof HTMLElement) || node.classList.contains('visually-hidden')) return '';
  return node.childNodes.map(visibleText).join(' ');
}

/** The href of the first link whose visible text is `text`, as a person follows it. */
export function linkHref(html: string, text: string): string {
  const links = parse(html).querySelectorAll('a[href]');
  const link = links.find((a) => visibleText(a).replace(/\s+/g, ' ').trim() === text);
  if (!link) throw new Error(`No link "${text}" in the page (links: ${links.map((a) => visibleText(a).replace(/\s+/g, ' ').trim()).join(' | ')})`);
  return link.getAttribute('href')!;
}

/** The organization tree panel beside a list (users, contacts): the `<nav class="org-tree">` markup. */
export function treePanel(html: string): string {
  const nav = /<nav class="org-tree"[^>]*>([\s\S]*?)<\/nav>/.exec(html);
  if (!nav) throw new Error('No organization tree panel in the page');
  return nav[1];
}

/** The tree panel's links, as "depth:name" in document order (depth 0 = the roots of the panel). */
export function treeLinks(html: string): string[] {
  const out: string[] = [];
  let depth = -1;
  for (const m of treePanel(html).matchAll(/<ul>|<\/ul>|<a\b[^>]*>([\s\S]*?)<\/a>/g)) {
    if (m[0] === '<ul>') depth++;
    else if (m[0] === '</ul>') depth--;
    else out.push(`${depth}:${textOf(m[1])}`);
  }
  return out;
}

/** The organization the tree panel marks as chosen, or `null`. */
export function currentInTree(html: string): string | null {
  const m = /<a\b[^>]*aria-current="true"[^>]*>([\s\S]*?)<\/a>/.exec(treePanel(html));
  return m ? textOf(m[1]) : null;
}

/** The href of the tree panel's link whose visible text is `text`, as a person follows it. */
export function treeLinkHref(html: string, text: string): string {
  return linkHref(treePanel(html), text);
}
