import { TestApp } from '../support/app';
import { createOrganization, createUser } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { dataTable } from '../support/html';
import { openForm, RenderedForm } from '../support/forms';
import { Agent } from '../support/http';
import { appWithAdmin, loginTo } from '../support/sessions';
import { createProperty, setPropertyValues } from '../support/users-factories';

/** `/custom-properties` (SPEC §2 "Custom properties"): list, create, edit, delete, with their guards. */
describe('custom properties', () => {
  let t: TestApp;
  let admin: Agent;

  beforeAll(async () => ({ t, admin } = await appWithAdmin()));
  afterAll(() => t.close());

  const MODES = { single: 'One value (single-valued)', multi: 'Several values (multi-valued)' };

  /** Fills in the property form by its labels (only the fields given) and presses its button. */
  async function submit(form: RenderedForm, typed: { name?: string; description?: string; allowedValues?: string; valueMode?: keyof typeof MODES }) {
    if (typed.name !== undefined) form.fill('Name', typed.name);
    if (typed.description !== undefined) form.fill('Description', typed.description);
    if (typed.allowedValues !== undefined) form.fill('Allowed values', typed.allowedValues);
    if (typed.valueMode) form.check(MODES[typed.valueMode]);
    const button = form.submitButtons()[0].text;
    return form.submit(button);
  }
  const newForm = () => openForm(admin, '/custom-properties/new', 'Create custom property');
  const editForm = (id: number) => openForm(admin, `/custom-properties/${id}/edit`, 'Save custom property');

  it('creates a property with trimmed, de-duplicated allowed values, lists it and audits it', async () => {
    const res = await submit(await newForm(), { name: 'Shirt size', description: 'For the team shirt', allowedValues: ' S \nM\n\nM\r\nL ', valueMode: 'single' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/custom-properties');
    const [row] = await t.sql<{ id: number; allowed_values: string[]; multi_valued: boolean }>(`select id, allowed_values, multi_valued from custom_properties where name = 'Shirt size'`);
    expect(row.allowed_values).toEqual(['S', 'M', 'L']);
    expect(row.multi_valued).toBe(false);
    const page = await admin.get('/custom-properties');
    expect(page.text).toContain('Custom property Shirt size created.');
    const table = dataTable(page.text);
    expect(table.rows.find((r) => r[0] === 'Shirt size')).toEqual(['Shirt size', 'For the team shirt', 'S, M, L', 'One', '0', 'Edit Delete']);
    expect(await t.sql(`select 1 from audit_events where action = 'custom_property.created' and object_id = $1`, [String(row.id)])).toHaveLength(1);
    expect(page.text).toContain('<a href="/custom-properties">Custom properties</a>');
  });

  it('refuses a blank name, a duplicate name in another case, a too long value and a missing mode, keeping the typed values', async () => {
    await createProperty(t, 'Badge');
    const before = await databaseFingerprint(t, { includeAudit: true });
    const blank = await submit(await newForm(), { name: ' ', description: 'kept description', allowedValues: 'x', valueMode: 'single' });
    expect(blank.status).toBe(422);
    expect(blank.text).toContain('Enter a name.');
    expect(blank.text).toContain('kept description');
    const duplicate = await submit(await newForm(), { name: 'BADGE', description: '', allowedValues: '', valueMode: 'multi' });
    expect(duplicate.status).toBe(422);
    expect(duplicate.text).toContain('Another custom property already has this name.');
    const long = await submit(await newForm(), { name: 'Long', description: '', allowedValues: `ok\n${'v'.repeat(501)}`, valueMode: 'single' });
    expect(long.status).toBe(422);
    expect(long.text).toContain('Each allowed value has at most 500 characters');
    // Once a radio button is chosen a browser always sends one: no choice at all is forged.
    const mode = await submit((await newForm()).forge('valueMode', null), { name: 'Mode', description: '', allowedValues: '' });
    expect(mode.status).toBe(422);
    expect(mode.text).toContain('Choose single or multiple values.');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('edits a property; refuses allowed values that existing values break, with the count', async () => {
    const id = await createProperty(t, 'Site', { allowedValues: ['Berlin', 'Paris', 'Rome'] });
    const u1 = await createUser(t, { username: 'site_u1' });
    const u2 = await createUser(t, { username: 'site_u2' });
    await setPropertyValues(t, u1.id, id, ['Paris']);
    await setPropertyValues(t, u2.id, id, ['Rome']);
    const before = await databaseFingerprint(t, { includeAudit: true });
    const refused = await submit(await editForm(id), { allowedValues: 'Berlin\nLondon' });
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('2 users have a value that is not in the new list (for example “Paris”).');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);

    const form = await editForm(id);
    expect(form.valueOf('Allowed values')).toBe('Berlin\nParis\nRome');
    expect(form.valueOf(MODES.single)).toBe('on');
    const ok = await submit(form, { name: 'Office site', description: 'Where they work', allowedValues: 'Berlin\nParis\nRome\nLondon' });
    expect(ok.status).toBe(303);
    const [row] = await t.sql<{ name: string; allowed_values: string[] }>('select name, allowed_values from custom_properties where id = $1', [id]);
    expect(row).toEqual({ name: 'Office site', allowed_values: ['Berlin', 'Paris', 'Rome', 'London'] });
    const [audit] = await t.sql<{ changes: Record<string, unknown> }>(`select changes from audit_events where action = 'custom_property.updated' and object_id = $1`, [String(id)]);
    expect(Object.keys(audit.changes).sort()).toEqual(['allowedValues', 'description', 'name']);

    // Free text again: always fine.
    const free = await submit(await editForm(id), { description: '', allowedValues: '' });
    expect(free.status).toBe(303);
  });

  it('refuses to make a property single-valued while a user holds several values', async () => {
    const id = await createProperty(t, 'Languages', { multiValued: true });
    const u = await createUser(t, { username: 'lang_u' });
    await setPropertyValues(t, u.id, id, ['de', 'en']);
    const refused = await submit(await editForm(id), { valueMode: 'single' });
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('Cannot make Languages single-valued: 1 user holds several values. Leave one value per user first.');
    expect((await t.sql<{ multi_valued: boolean }>('select multi_valued from custom_properties where id = $1', [id]))[0].multi_valued).toBe(true);
  });

  it('deletes a property after a confirmation that says how many users carry it, removing their values', async () => {
    const id = await createProperty(t, 'Locker');
    const u1 = await createUser(t, { username: 'lock_u1' });
    const u2 = await createUser(t, { username: 'lock_u2' });
    await setPropertyValues(t, u1.id, id, ['12']);
    await setPropertyValues(t, u2.id, id, ['14']);
    const confirm = await admin.get(`/custom-properties/${id}/delete`);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('2 users have a value for Locker.');
    const res = await (await openForm(admin, `/custom-properties/${id}/delete`, 'Delete custom property Locker')).submit('Delete custom property Locker');
    expect(res.status).toBe(303);
    expect(await t.sql('select 1 from custom_properties where id = $1', [id])).toHaveLength(0);
    expect(await t.sql('select 1 from user_property_values where property_id = $1', [id])).toHaveLength(0);
    expect((await admin.get('/custom-properties')).text).toContain('Custom property Locker deleted with the values of 2 users.');
    expect(await t.sql(`select 1 from audit_events where action = 'custom_property.deleted' and object_id = $1`, [String(id)])).toHaveLength(1);
  });

  it('answers 404 for unknown properties and 403 to sessions without manage settings', async () => {
    expect((await admin.get('/custom-properties/999999/edit')).status).toBe(404);
    expect((await admin.get('/custom-properties/abc/delete')).status).toBe(404);
    const a = await createOrganization(t, 'CP-A');
    await createUser(t, { username: 'cp_manager', roles: ['user_manager'], memberships: [{ org: a, isAdmin: true }] });
    const manager = await loginTo(t, 'cp_manager', 'Secret-pass-1', a);
    expect((await manager.get('/custom-properties')).status).toBe(403);
    expect((await manager.get('/account')).text).not.toContain('href="/custom-properties"');
  });
});
