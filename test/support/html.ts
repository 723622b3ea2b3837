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

/** Visible text of an HTML fragment: tags and visually-hidden spans dropped, entities decoded, spaces collapsed. */
export function textOf(fragment: string): string {
  const withoutHidden = fragment.replace(/<span class="visually-hidden">[\s\S]*?<\/span>/g, '');
  return decodeEntities(withoutHidden.replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim();
}

export interface HtmlTable {
  headers: string[];
  /** Body rows whose cells line up with the headers (a "No users." row spanning them is left out). */
  rows: string[][];
  /** The raw HTML of each kept row, in the same order. */
  rawRows: string[];
}

/** The first `<table class="data">` of a page (the list tables of Tessera). */
export function dataTable(html: string): HtmlTable {
  const table = /<table class="data"[^>]*>([\s\S]*?)<\/table>/.exec(html);
  if (!table) throw new Error(`No data table in the page:\n${html.slice(0, 800)}`);
  const headers = [...table[1].matchAll(/<th\b[^>]*>([\s\S]*?)<\/th>/g)].map((m) => textOf(m[1]));
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table[1])?.[1] ?? '';
  const rows: string[][] = [];
  const rawRows: string[] = [];
  for (const tr of body.matchAll(/<tr\b[^>]*>([\s\S]*?)<\/tr>/g)) {
    const cells = [...tr[1].matchAll(/<td\b[^>]*>([\s\S]*?)<\/td>/g)].map((m) => m[1]);
    if (cells.length !== headers.length) continue;
    rows.push(cells.map(textOf));
    rawRows.push(tr[0]);
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

/** The href of the page's "Next page" link, if any. */
export function nextPageLink(html: string): string | null {
  const m = /<a href="([^"]+)" rel="next">/.exec(html);
  return m ? decodeEntities(m[1]) : null;
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
