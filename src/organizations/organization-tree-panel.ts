import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { VersionedCache } from '../common/versioned-cache';
import { treePanelRows } from './organizations.queries';

/**
 * Up to this many organizations in scope the tree panel shows them all; beyond, only the branch
 * of the selected organization (a full tree of 1,000 links is ~150 KB on every page and no
 * longer something to scan by eye).
 */
export const TREE_FULL_MAX = 150;

export interface OrganizationNode {
  id: number;
  name: string;
  selected: boolean;
  /** The selected organization or one of its ancestors. */
  onPath: boolean;
  hasChildren: boolean;
  /** Empty when it has none, or (collapsed tree) when they are not shown. */
  children: OrganizationNode[];
}

export interface OrganizationTree {
  roots: OrganizationNode[];
  /** Organizations in scope. */
  total: number;
  /** Only the selected branch is shown. */
  collapsed: boolean;
  selected: OrganizationNode | null;
}

/**
 * The organization tree panel beside a list (users, contacts): a session's subtree, in one
 * query. Up to `TREE_FULL_MAX` organizations the whole tree; beyond, only the branch of the
 * selected organization: the scope's root, each ancestor's children and the selected
 * organization's children (a few dozen links at 1,000 organizations instead of 1,000, on every
 * list page). Siblings by name. An organization outside the scope selects nothing here (the list
 * itself answers 404 for it). The callers check that the session may see their list.
 */
@Injectable()
export class OrganizationTreePanel {
  /** The trees, under `list_choices_version` (see `VersionedCache`): one scope's tree is the same for every list. */
  private readonly trees = new VersionedCache<OrganizationTree>();

  constructor(private readonly em: EntityManager) {}

  /**
   * The tree below `rootId` (`null`: the whole tree, for an Administrator) with `selectedId`
   * chosen; with the `list_choices_version` the session read brought along (`choicesVersion`),
   * kept in memory until it changes, otherwise read.
   */
  tree(rootId: number | null, selectedId: number | undefined, choicesVersion?: number | null): Promise<OrganizationTree> {
    return this.trees.get(choicesVersion, `tree:${rootId}:${selectedId}`, () => this.read(rootId, selectedId));
  }

  private async read(rootId: number | null, selectedId: number | undefined): Promise<OrganizationTree> {
    const rows = await treePanelRows(this.em, rootId, selectedId, TREE_FULL_MAX);
    const total = rows[0]?.total ?? 0;
    const collapsed = total > TREE_FULL_MAX;
    const byId = new Map<number, OrganizationNode>();
    for (const r of rows) byId.set(r.id, { id: r.id, name: r.name, selected: r.id === selectedId, onPath: r.on_path, hasChildren: r.has_children, children: [] });
    const roots: OrganizationNode[] = [];
    for (const r of rows) {
      const parent = r.parent_id === null ? undefined : byId.get(r.parent_id);
      (parent ? parent.children : roots).push(byId.get(r.id)!);
    }
    const byName = (a: OrganizationNode, b: OrganizationNode) => a.name.localeCompare(b.name, 'en', { sensitivity: 'base' }) || a.id - b.id;
    for (const node of byId.values()) node.children.sort(byName);
    roots.sort(byName);
    return { roots, total, collapsed, selected: selectedId === undefined ? null : (byId.get(selectedId) ?? null) };
  }
}

export interface LinkedOrganizationNode extends OrganizationNode {
  href: string;
  /** Has sub-organizations the (collapsed) tree does not show. */
  folded: boolean;
  children: LinkedOrganizationNode[];
}

/** The tree as the `org_tree` partial shows it: each organization a link, and "All" (`anyHref`). */
export interface OrganizationTreeLinks {
  roots: LinkedOrganizationNode[];
  total: number;
  collapsed: boolean;
  selected: OrganizationNode | null;
  anyHref: string;
}

/**
 * The tree's links on the list at `path` whose query string is `query`: each filters by its
 * organization (`org`), keeping the other filters and starting at page 1 (no paging cursor).
 */
export function organizationTreeLinks(tree: OrganizationTree, path: string, query: Record<string, unknown>): OrganizationTreeLinks {
  const href = (id: number | null) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (typeof v === 'string' && v !== '' && !['org', 'after', 'before'].includes(k)) params.set(k, v);
    if (id !== null) params.set('org', String(id));
    return `${path}${params.size > 0 ? `?${params.toString()}` : ''}`;
  };
  const withLinks = (nodes: OrganizationNode[]): LinkedOrganizationNode[] =>
    nodes.map((n) => ({ ...n, href: href(n.id), folded: n.hasChildren && n.children.length === 0, children: withLinks(n.children) }));
  return { roots: withLinks(tree.roots), total: tree.total, collapsed: tree.collapsed, selected: tree.selected, anyHref: href(null) };
}
