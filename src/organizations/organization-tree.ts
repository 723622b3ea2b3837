import type { TreeRow } from './organizations.queries';

/**
 * One organization of the tree page, in display order (depth first, siblings by name): the page
 * is one flat loop, each item opening a `<ul>` for its children or closing itself and then
 * `closes` levels of lists (`closes` has one entry per list to close).
 */
export interface TreeItem {
  id: number;
  name: string;
  memberCount: number;
  hasChildren: boolean;
  closes: null[];
}

/** The rows (parents before children) as the tree page's items: depth first, siblings in the rows' order. */
export function treeItems(rows: TreeRow[]): TreeItem[] {
  const children = new Map<number, TreeRow[]>();
  const ids = new Set(rows.map((r) => r.id));
  const roots: TreeRow[] = [];
  for (const row of rows) {
    if (row.parentId !== null && ids.has(row.parentId)) {
      const siblings = children.get(row.parentId);
      if (siblings) siblings.push(row);
      else children.set(row.parentId, [row]);
    } else roots.push(row);
  }
  const items: TreeItem[] = [];
  // `closing`: how many lists (each with the item holding it) end after this item when it is a leaf.
  const walk = (row: TreeRow, closing: number) => {
    const kids = children.get(row.id) ?? [];
    items.push({ id: row.id, name: row.name, memberCount: row.memberCount, hasChildren: kids.length > 0, closes: kids.length ? [] : new Array<null>(closing).fill(null) });
    kids.forEach((kid, i) => walk(kid, i === kids.length - 1 ? closing + 1 : 0));
  };
  for (const root of roots) walk(root, 0);
  return items;
}
