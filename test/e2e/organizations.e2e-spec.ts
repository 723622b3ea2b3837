import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { createOrganization, createUser, globalOrganization, OrgRow } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { dataTable } from '../support/html';
import { Agent, login, postForm } from '../support/http';
import { loginTo } from '../support/sessions';

/** Organization tree pages: create, rename, move, delete, members (SPEC §4 "Organizations"). */
describe('organizations', () => {
  let t: TestApp;
  let admin: Agent;
  let global: OrgRow;

  beforeAll(async () => {
    t = await createTestApp();
    admin = await login(t.http, 'admin', ADMIN_PASSWORD);
    global = await globalOrganization(t);
  });
  afterAll(async () => {
    await t.close();
  });

  it('shows the tree as nested lists', async () => {
    const a = await createOrganization(t, 'Tree A');
    await createOrganization(t, 'Tree A1', a);
    const res = await admin.get('/organizations');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/<a href="\/organizations\/\d+">Global<\/a>[\s\S]*<ul>[\s\S]*Tree A<\/a>[\s\S]*<ul>[\s\S]*Tree A1<\/a>/);
  });

  it('creates a sub-organization and records it in the audit log', async () => {
    const res = await postForm(admin, '/organizations', { parentId: String(global.id), name: 'Finance', description: 'Money' }, `/organizations/new?parent=${global.id}`);
    expect(res.status).toBe(303);
    const [org] = await t.sql<{ id: number; path: string; parent_id: number }>(`select id, path, parent_id from organizations where name = 'Finance'`);
    expect(org.parent_id).toBe(global.id);
    expect(res.headers.location).toBe(`/organizations/${org.id}`);
    const page = await admin.get(res.headers.location);
    expect(page.text).toContain('Organization Finance created.');
    expect(await t.sql(`select 1 from audit_events where action = 'organization.created' and object_id = $1`, [String(org.id)])).toHaveLength(1);
  });

  it('refuses a blank or duplicate sibling name with 422, keeping the typed values', async () => {
    await createOrganization(t, 'Legal');
    const before = await databaseFingerprint(t);
    const blank = await postForm(admin, '/organizations', { parentId: String(global.id), name: '  ', description: 'kept text' }, `/organizations/new?parent=${global.id}`);
    expect(blank.status).toBe(422);
    expect(blank.text).toContain('Enter a name.');
    expect(blank.text).toContain('kept text');
    const duplicate = await postForm(admin, '/organizations', { parentId: String(global.id), name: 'LEGAL', description: '' }, `/organizations/new?parent=${global.id}`);
    expect(duplicate.status).toBe(422);
    expect(duplicate.text).toContain('Another organization with this name already exists at this level.');
    expect(await databaseFingerprint(t)).toEqual(before);
  });

  it('renames and moves an organization with its subtree; refuses a move into its own subtree', async () => {
    const x = await createOrganization(t, 'X');
    const x1 = await createOrganization(t, 'X1', x);
    const y = await createOrganization(t, 'Y');
    const moved = await postForm(admin, `/organizations/${x.id}`, { name: 'X renamed', description: '', parentId: String(y.id) }, `/organizations/${x.id}/edit`);
    expect(moved.status).toBe(303);
    const [row] = await t.sql<{ path: string }>('select path from organizations where id = $1', [x1.id]);
    expect(row.path).toBe(`${y.path}${x.id}/${x1.id}/`);
    const audit = await t.sql<{ changes: Record<string, unknown> }>(`select changes from audit_events where action = 'organization.moved' and object_id = $1`, [String(x.id)]);
    expect(audit[0].changes).toEqual({ name: { from: 'X', to: 'X renamed' }, parent: { from: global.id, to: y.id } });

    const before = await databaseFingerprint(t);
    const cycle = await postForm(admin, `/organizations/${y.id}`, { name: 'Y', description: '', parentId: String(x1.id) }, `/organizations/${y.id}/edit`);
    expect(cycle.status).toBe(422);
    expect(cycle.text).toContain('cannot be moved into itself or one of its sub-organizations');
    expect(await databaseFingerprint(t)).toEqual(before);
  });

  it('deletes only empty organizations and says what is still inside', async () => {
    const full = await createOrganization(t, 'Full');
    await createOrganization(t, 'Full child', full);
    await createUser(t, { username: 'inside1', memberships: [{ org: full }] });
    const confirm = await admin.get(`/organizations/${full.id}/delete`);
    expect(confirm.text).toContain('1 sub-organization');
    expect(confirm.text).toContain('1 member');
    expect(confirm.text).toContain('1 contact');
    const before = await databaseFingerprint(t);
    const refused = await postForm(admin, `/organizations/${full.id}/delete`, {}, `/organizations/${full.id}`);
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('Full cannot be deleted: it still contains 1 sub-organization, 1 member and 1 contact');
    expect(await databaseFingerprint(t)).toEqual(before);

    const empty = await createOrganization(t, 'Empty');
    const deleted = await postForm(admin, `/organizations/${empty.id}/delete`, {}, `/organizations/${empty.id}/delete`);
    expect(deleted.status).toBe(303);
    expect(await t.sql('select 1 from organizations where id = $1', [empty.id])).toHaveLength(0);
  });

  it('never deletes or moves Global', async () => {
    const before = await databaseFingerprint(t);
    const res = await postForm(admin, `/organizations/${global.id}/delete`, {}, `/organizations/${global.id}`);
    expect(res.status).toBe(403);
    expect(await databaseFingerprint(t)).toEqual(before);
  });

  it('adds members through the picker, flags an organization administrator, removes a member', async () => {
    const team = await createOrganization(t, 'Team');
    const u = await createUser(t, { username: 'picked', fullName: 'Picked Person' });
    const picker = await admin.get(`/organizations/${team.id}/members/add?q=picked`);
    expect(picker.status).toBe(200);
    expect(picker.text).toContain('Picked Person');
    const added = await postForm(admin, `/organizations/${team.id}/members`, { userIds: [String(u.id)] }, `/organizations/${team.id}/members/add`);
    expect(added.status).toBe(303);
    expect((await admin.get(`/organizations/${team.id}`)).text).toContain('Added 1 member: picked.');

    const flagged = await postForm(admin, `/organizations/${team.id}/members/${u.id}/admin`, { isAdmin: 'true' }, `/organizations/${team.id}`);
    expect(flagged.status).toBe(303);
    expect(await t.sql('select is_admin from memberships where user_id = $1 and organization_id = $2', [u.id, team.id])).toEqual([{ is_admin: true }]);

    const removed = await postForm(admin, `/organizations/${team.id}/members/${u.id}/delete`, {}, `/organizations/${team.id}`);
    expect(removed.status).toBe(303);
    expect(await t.sql('select 1 from memberships where user_id = $1 and organization_id = $2', [u.id, team.id])).toHaveLength(0);
  });

  it("refuses to remove a user's last membership", async () => {
    const solo = await createOrganization(t, 'Solo');
    const u = await createUser(t, { username: 'onlyhere', memberships: [{ org: solo }] });
    const before = await databaseFingerprint(t);
    const res = await postForm(admin, `/organizations/${solo.id}/members/${u.id}/delete`, {}, `/organizations/${solo.id}`);
    expect(res.status).toBe(409);
    expect(res.text).toContain('onlyhere belongs to no other organization');
    expect(await databaseFingerprint(t)).toEqual(before);
  });

  it("offers an organization administrator no buttons for their own or an Administrator's membership", async () => {
    const unit = await createOrganization(t, 'Unit');
    await createUser(t, { username: 'unitadmin', roles: ['user_manager'], memberships: [{ org: unit, isAdmin: true }] });
    await createUser(t, { username: 'unitboss', roles: ['administrator'], memberships: [{ org: unit }] });
    await createUser(t, { username: 'unitmember', memberships: [{ org: unit }] });
    const agent = await loginTo(t, 'unitadmin', 'Secret-pass-1', unit);
    const page = await agent.get(`/organizations/${unit.id}`);
    expect(page.status).toBe(200);
    const rowOf = (username: string) => new RegExp(`<tr>\\s*<td>(?:<a [^>]*>)?${username}(?:</a>)?</td>[\\s\\S]*?</tr>`).exec(page.text)?.[0] ?? '';
    expect(rowOf('unitadmin')).not.toContain('<form');
    expect(rowOf('unitadmin')).toContain('you');
    expect(rowOf('unitboss')).not.toContain('<form');
    expect(rowOf('unitmember')).toContain('members/');
  });

  it('links every member to their user page, for an Administrator and for an organization administrator', async () => {
    const crew = await createOrganization(t, 'Crew');
    const deck = await createOrganization(t, 'Deck', crew);
    const sailor = await createUser(t, { username: 'sailor', fullName: 'Sam Sailor', memberships: [{ org: deck }] });
    await createUser(t, { username: 'bosun', roles: ['user_manager'], memberships: [{ org: crew, isAdmin: true }] });
    const bosun = await loginTo(t, 'bosun', 'Secret-pass-1', crew);
    for (const agent of [admin, bosun]) {
      const page = await agent.get(`/organizations/${deck.id}`);
      expect(page.status).toBe(200);
      const members = dataTable(/<section aria-labelledby="members">([\s\S]*?)<\/section>/.exec(page.text)![1]);
      const row = members.rawRows.find((r) => r.includes('sailor'))!;
      const href = /<td><a href="([^"]+)">sailor<\/a><\/td>/.exec(row)?.[1];
      expect(href).toBe(`/users/${sailor.id}`);
      const userPage = await agent.get(href!);
      expect(userPage.status).toBe(200);
      expect(userPage.text).toContain('Sam Sailor');
    }
  });

  it('shows in the users list only the organizations inside the session scope', async () => {
    const home = await createOrganization(t, 'Home');
    const away = await createOrganization(t, 'Away');
    await createUser(t, { username: 'homeadmin', roles: ['user_manager'], memberships: [{ org: home, isAdmin: true }] });
    await createUser(t, { username: 'commuter', memberships: [{ org: home }, { org: away }] });
    const agent = await loginTo(t, 'homeadmin', 'Secret-pass-1', home);
    const list = await agent.get('/users?q=commuter');
    expect(list.status).toBe(200);
    expect(list.text).toContain('commuter');
    expect(list.text).not.toContain('Away');
    expect(list.text).toContain('+1 outside your organization');
  });

  it('answers 404 for unknown or malformed ids', async () => {
    expect((await admin.get('/organizations/999999')).status).toBe(404);
    expect((await admin.get('/organizations/abc')).status).toBe(404);
    expect((await admin.get('/organizations/999999/members/add')).status).toBe(404);
  });
});
