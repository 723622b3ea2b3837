import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { OrgRow } from '../support/factories';
import { formIn, formOf } from '../support/forms';
import { currentInTree, linkHref, textOf, treeLinks, usernamesIn } from '../support/html';
import { Agent, login } from '../support/http';
import { loginTo } from '../support/sessions';
import { buildWorld } from '../support/world';

/**
 * The organization tree panel beside the users list (issue "every flow works as a person drives
 * it", 15): nested links, no script. Choosing an organization filters the list and sets the
 * organization of Create User; organization administrators see only their subtree; a large
 * tree shows only the chosen branch.
 */
jest.setTimeout(120_000);

const PASSWORD = 'Secret-pass-1';

describe('users list: organization tree panel', () => {
  let t: TestApp;
  let admin: Agent;
  let root: OrgRow, A: OrgRow, A1: OrgRow, A11: OrgRow, B: OrgRow;

  beforeAll(async () => {
    t = await createTestApp();
    ({ global: root, A, A1, A11, B } = (
      await buildWorld(t, {
        names: { A: 'Alpha', A1: 'Alpha One', A11: 'Alpha One One', B: 'Beta' },
        users: {
          tree_a: { memberships: ['A'] },
          tree_a1: { memberships: ['A1'] },
          tree_a11: { memberships: ['A11'] },
          tree_b: { memberships: ['B'] },
          tree_manager: { roles: ['user_manager'], memberships: [{ org: 'A', isAdmin: true }] },
        },
      })
    ).org);
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
  });
  afterAll(async () => {
    await t.close();
  });

  it('shows the whole tree as nested links beside the list; choosing one filters the list and sets the organization of Create User', async () => {
    const list = await admin.get('/users?q=tree_');
    expect(list.status).toBe(200);
    expect(treeLinks(list.text)).toEqual(['0:All organizations', `0:${root.name}`, '1:Alpha', '2:Alpha One', '3:Alpha One One', '1:Beta']);
    // The tree replaces the organization pull-down.
    // (A pull-down always sends its choice: nothing named org is sent.)
    expect(Object.keys(formIn(list.text, 'Search').values())).not.toContain('org');

    const chosenPath = linkHref(list.text, 'Alpha One');
    const chosen = await admin.get(chosenPath);
    expect(chosen.status).toBe(200);
    expect(usernamesIn(chosen.text)).toEqual(['tree_a1']); // the search is kept
    expect(currentInTree(chosen.text)).toBe('Alpha One');

    // Ticking "with sub-organizations" and searching keeps the organization chosen in the tree.
    const withSubs = await formOf(admin, chosen.text, 'Search', chosenPath).check('with sub-organizations').submit('Search');
    expect(usernamesIn(withSubs.text)).toEqual(['tree_a1', 'tree_a11']);
    expect(currentInTree(withSubs.text)).toBe('Alpha One');

    // Create User opens for the chosen organization.
    const create = await admin.get(linkHref(chosen.text, 'Create User'));
    expect(create.status).toBe(200);
    // The organization chosen in the tree is the preselected choice of Create User's Organization field.
    expect(textOf(create.text)).toMatch(/The new user and their contact belong to Alpha One ?unless you choose another organization here\./);
    expect(formIn(create.text, 'Create User').values().organizationId).toBe(String(A1.id));

    // "All organizations" clears the choice again.
    const all = await admin.get(linkHref(chosen.text, 'All organizations'));
    expect(usernamesIn(all.text)).toEqual(['tree_a', 'tree_a1', 'tree_a11', 'tree_b', 'tree_manager']);
    expect(currentInTree(all.text)).toBe('All organizations');
  });

  it('shows an organization administrator only their subtree', async () => {
    const manager = await loginTo(t, 'tree_manager', PASSWORD, A);
    const list = await manager.get('/users');
    expect(treeLinks(list.text)).toEqual(['0:All of Alpha', '0:Alpha', '1:Alpha One', '2:Alpha One One']);
    const chosen = await manager.get(linkHref(list.text, 'Alpha One One'));
    expect(usernamesIn(chosen.text)).toEqual(['tree_a11']);
    expect(linkHref(chosen.text, 'Create User')).toBe(`/users/new?org=${A11.id}`);
  });

  it('shows what another instance changed: the filter choices and the tree are kept only while list_choices_version stands', async () => {
    const before = await admin.get('/users');
    expect(before.text).not.toContain('Auditor of the list');
    // Written straight into the database, as another instance would (its triggers raise the version).
    await t.sql(`insert into roles (name) values ('Auditor of the list')`);
    await t.sql(`insert into licence_types (name) values ('Seasonal')`);
    await t.sql(`update organizations set name = 'Beta renamed' where id = $1`, [B.id]);
    const after = await admin.get('/users');
    expect(formIn(after.text, 'Search').optionsOf('Role')).toContain('Auditor of the list');
    expect(formIn(after.text, 'Search').optionsOf('Licence')).toContain('Seasonal');
    expect(treeLinks(after.text)).toContain('1:Beta renamed');
    await t.sql(`update organizations set name = 'Beta' where id = $1`, [B.id]);
    expect(treeLinks((await admin.get('/users')).text)).toContain('1:Beta');
  });

  it('with more than 150 organizations shows only the chosen branch: ancestors, their children, the chosen one’s children', async () => {
    // 20 parents with 10 children each (and one grandchild under P3-4): 221 more organizations.
    await t.sql(`insert into organizations (name, parent_id) select 'P' || g, $1::int from generate_series(1, 20) g`, [B.id]);
    await t.sql(`insert into organizations (name, parent_id) select p.name || '-' || g, p.id from organizations p cross join generate_series(1, 10) g where p.parent_id = $1`, [B.id]);
    const [p34] = await t.sql<{ id: number }>(`select id from organizations where name = 'P3-4'`);
    await t.sql(`insert into organizations (name, parent_id) values ('Deep', $1)`, [p34.id]);

    const top = await admin.get('/users');
    // Nothing chosen: the root and its children; folded branches are marked.
    expect(treeLinks(top.text)).toEqual(['0:All organizations', `0:${root.name}`, '1:Alpha', '1:Beta']);
    expect(textOf(top.text)).toContain('226 organizations: the tree shows the branch of the one you chose.');

    const beta = await admin.get(linkHref(top.text, 'Beta'));
    const betaLinks = treeLinks(beta.text);
    expect(betaLinks.slice(0, 4)).toEqual(['0:All organizations', `0:${root.name}`, '1:Alpha', '1:Beta']);
    expect(betaLinks.filter((l) => l.startsWith('2:'))).toHaveLength(20); // P1…P20, by name
    expect(betaLinks[4]).toBe('2:P1');

    const p3 = await admin.get(linkHref(beta.text, 'P3'));
    const p34link = await admin.get(linkHref(p3.text, 'P3-4'));
    const links = treeLinks(p34link.text);
    expect(currentInTree(p34link.text)).toBe('P3-4');
    // Root, its 2 children, Beta's 20, P3's 10, P3-4's one child; no other branch unfolded.
    expect(links).toHaveLength(1 + 1 + 2 + 20 + 10 + 1);
    expect(links).toContain('4:Deep');
    expect(links).not.toContain('3:P1-1');
    expect(links.indexOf('3:P3-4')).toBeGreaterThan(links.indexOf('2:P3'));
  });
});
