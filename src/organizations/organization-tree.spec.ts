import { treeItems } from './organization-tree';

/** The tree page's markup as views/organizations/index.hbs writes it from the items. */
function markup(items: ReturnType<typeof treeItems>): string {
  return items.map((i) => `<li>${i.name}${i.hasChildren ? '<ul>' : `</li>${'</ul></li>'.repeat(i.closes.length)}`}`).join('');
}

describe('treeItems', () => {
  it('lists the tree depth first, siblings in the rows’ order, each list closed where it ends', () => {
    const row = (id: number, name: string, parentId: number | null) => ({ id, name, parentId, memberCount: id });
    // Rows as the query returns them: parents before children (by depth), siblings by name.
    const rows = [row(1, 'Global', null), row(2, 'A', 1), row(3, 'B', 1), row(4, 'A1', 2), row(5, 'A2', 2), row(6, 'B1', 3), row(7, 'A11', 4)];
    const items = treeItems(rows);
    expect(items.map((i) => i.name)).toEqual(['Global', 'A', 'A1', 'A11', 'A2', 'B', 'B1']);
    expect(markup(items)).toBe('<li>Global<ul><li>A<ul><li>A1<ul><li>A11</li></ul></li><li>A2</li></ul></li><li>B<ul><li>B1</li></ul></li></ul></li>');
    expect(items[0]).toMatchObject({ id: 1, memberCount: 1, hasChildren: true });
  });

  it('starts at the scope root when its parent is not among the rows (an organization administrator’s subtree)', () => {
    const items = treeItems([
      { id: 5, name: 'A1', parentId: 2, memberCount: 3 },
      { id: 9, name: 'A11', parentId: 5, memberCount: 0 },
    ]);
    expect(markup(items)).toBe('<li>A1<ul><li>A11</li></ul></li>');
  });
});
