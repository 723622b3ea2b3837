import { AccessService } from '../../src/access/access.service';
import type { Actor } from '../../src/access/actor';
import { AuditService } from '../../src/audit/audit.service';
import { BusinessRuleError, NotFoundError, ValidationError } from '../../src/common/errors';
import { LicenceFullError } from '../../src/licences/licence-seats';
import { ProvisionSpec, UserProvisioningService } from '../../src/provisioning/provisioning.service';
import { createTestApp, TestApp } from '../support/app';
import { createUser, OrgRow } from '../support/factories';
import { databaseFingerprint } from '../support/fingerprint';
import { buildWorld } from '../support/world';

/** The one place users are created (Enable Access, Create User): defaults, uniqueness under races, seats. */
describe('UserProvisioningService', () => {
  let t: TestApp;
  let global: OrgRow, A: OrgRow, A1: OrgRow, B: OrgRow;
  let admin: Actor, orgAdmin: Actor;

  beforeAll(async () => {
    t = await createTestApp();
    const world = await buildWorld(t, { orgs: ['A', 'A1', 'B'], admins: { A: { username: 'manager', roles: ['user_manager'] } } });
    ({ global, A, A1, B } = world.org);
    const manager = world.admin.A;
    admin = await actorFor((await t.sql<{ id: number }>(`select id from users where username = 'admin'`))[0].id, global.id);
    orgAdmin = await actorFor(manager.id, A.id);
  });
  afterAll(async () => {
    await t.close();
  });

  async function actorFor(userId: number, orgId: number): Promise<Actor> {
    const [{ session_version }] = await t.sql<{ session_version: number }>('select session_version from users where id = $1', [userId]);
    const r = await new AccessService(t.em()).resolve({ userId, sessionVersion: session_version, currentOrganizationId: orgId, ip: '127.0.0.1' });
    if (r.kind !== 'actor') throw new Error(r.kind);
    return r.actor;
  }

  async function contact(org: OrgRow, fields: { first?: string; last?: string; full: string; email?: string; kind?: 'person' | 'organization' }): Promise<number> {
    const [row] = await t.sql<{ id: number }>(
      `insert into contacts (kind, first_name, last_name, full_name, email, organization_id) values ($1, $2, $3, $4, $5, $6) returning id`,
      [fields.kind ?? 'person', fields.first ?? null, fields.last ?? null, fields.full, fields.email ?? null, org.id],
    );
    return row.id;
  }

  function provision(actor: Actor, spec: ProvisionSpec) {
    const service = new UserProvisioningService(new AuditService(t.em()));
    const em = t.em();
    return em.transactional((tx) => service.provision(actor, spec, tx));
  }

  const failure = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e);

  it('applies the username format and the default role, profile, licence and membership', async () => {
    const contactId = await contact(A1, { first: 'Zoë', last: 'Ångström', full: 'Zoë Ångström', email: 'zoe@example.org' });
    const user = await provision(orgAdmin, { contactId, organizationId: A1.id });
    expect(user.username).toBe('zangstrom');
    const [row] = await t.sql<Record<string, unknown>>(
      `select u.password_hash, u.enabled, u.email, p.built_in_key as profile, l.built_in_key as licence,
              array(select r.built_in_key from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = u.id) as roles,
              array(select m.organization_id from memberships m where m.user_id = u.id) as orgs
         from users u left join user_profiles p on p.id = u.profile_id left join licence_types l on l.id = u.licence_id where u.id = $1`,
      [user.id],
    );
    expect(row).toEqual({ password_hash: null, enabled: true, email: 'zoe@example.org', profile: 'self_service', licence: 'standard', roles: ['member'], orgs: [A1.id] });
    const [audit] = await t.sql<{ action: string; changes: Record<string, { to: unknown }> }>(
      `select action, changes from audit_events where object_type = 'user' and object_id = $1`,
      [String(user.id)],
    );
    expect(audit.action).toBe('user.created');
    expect(audit.changes.username.to).toBe('zangstrom');
    expect(audit.changes.organization.to).toBe('A1');
  });

  it('gives two simultaneous requests for the same generated name two distinct usernames', async () => {
    const c1 = await contact(A, { first: 'John', last: 'Smith', full: 'John Smith' });
    const c2 = await contact(A, { first: 'Jane', last: 'Smith', full: 'Jane Smith' });
    const c3 = await contact(A, { first: 'Jim', last: 'Smith', full: 'Jim Smith' });
    const users = await Promise.all([c1, c2, c3].map((contactId) => provision(admin, { contactId, organizationId: A.id })));
    expect(users.map((u) => u.username).sort()).toEqual(['jsmith', 'jsmith2', 'jsmith3']);
  });

  it('refuses a second user for the same contact, also when both requests race', async () => {
    const contactId = await contact(A, { first: 'Solo', last: 'Person', full: 'Solo Person' });
    const results = await Promise.allSettled([provision(admin, { contactId, organizationId: A.id }), provision(admin, { contactId, organizationId: A.id })]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(BusinessRuleError);
    expect(rejected.reason.message).toBe('Solo Person already has a user account (sperson).');
  });

  it('refuses an e-mail address another user already has, case-insensitively', async () => {
    await createUser(t, { username: 'taken-mail', email: 'Shared@Example.org' });
    const contactId = await contact(A, { first: 'Other', last: 'One', full: 'Other One', email: 'shared@example.ORG' });
    const error = await failure(provision(admin, { contactId, organizationId: A.id }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).fieldErrors).toEqual({ email: 'The e-mail address shared@example.ORG is already used by the user taken-mail.' });
  });

  it('refuses a typed username that is taken in another case', async () => {
    const contactId = await contact(A, { first: 'Typed', last: 'Name', full: 'Typed Name' });
    const error = await failure(provision(admin, { contactId, organizationId: A.id, username: 'JSMITH' }));
    expect((error as ValidationError).fieldErrors).toEqual({ username: 'The username JSMITH is already taken.' });
  });

  it('refuses when the default licence has no free seat, and creates nothing', async () => {
    const [licence] = await t.sql<{ id: number }>(`insert into licence_types (name, seats) values ('Two seats', 0) returning id`);
    const contactId = await contact(A, { first: 'No', last: 'Seat', full: 'No Seat' });
    const before = await databaseFingerprint(t, { includeAudit: true });
    const error = await failure(provision(admin, { contactId, organizationId: A.id, licenceId: licence.id }));
    expect(error).toBeInstanceOf(LicenceFullError);
    expect((error as Error).message).toBe('Licence "Two seats" is full: 0 of 0 seats used.');
    expect(await databaseFingerprint(t, { includeAudit: true })).toEqual(before);
  });

  it('lets concurrent requests take the last seat only once', async () => {
    const [licence] = await t.sql<{ id: number }>(`insert into licence_types (name, seats) values ('One seat', 1) returning id`);
    const contacts = [await contact(A, { first: 'Race', last: 'One', full: 'Race One' }), await contact(A, { first: 'Race', last: 'Two', full: 'Race Two' })];
    const results = await Promise.allSettled(contacts.map((contactId) => provision(admin, { contactId, organizationId: A.id, licenceId: licence.id })));
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((await t.sql('select 1 from users where licence_id = $1', [licence.id])).length).toBe(1);
  });

  it('lets only an Administrator grant the Administrator role', async () => {
    const [role] = await t.sql<{ id: number }>(`select id from roles where built_in_key = 'administrator'`);
    const contactId = await contact(A, { first: 'Would', last: 'Be', full: 'Would Be' });
    const error = await failure(provision(orgAdmin, { contactId, organizationId: A.id, roleIds: [role.id] }));
    expect((error as BusinessRuleError).code).toBe('administrator_role');
    await expect(provision(admin, { contactId, organizationId: A.id, roleIds: [role.id] })).resolves.toMatchObject({ username: 'wbe' });
  });

  it('treats an organization outside the session’s subtree as not found', async () => {
    const contactId = await contact(B, { first: 'Out', last: 'Side', full: 'Out Side' });
    expect(await failure(provision(orgAdmin, { contactId, organizationId: B.id }))).toBeInstanceOf(NotFoundError);
  });

  it('makes an organization contact’s username from its name, and explains when nothing usable is left', async () => {
    const supplier = await contact(A, { kind: 'organization', full: 'Müller & Söhne' });
    await expect(provision(admin, { contactId: supplier, organizationId: A.id })).resolves.toMatchObject({ username: 'mullersohne' });
    const unnamed = await contact(A, { full: '李小龍' });
    const error = await failure(provision(admin, { contactId: unnamed, organizationId: A.id }));
    expect((error as BusinessRuleError).code).toBe('username_empty');
  });

  // The shape every identity source uses: a provider user with its external id, property values,
  // and the source named in the one audit entry of the creation.
  it('creates a provider user with its external id, property values and source in one audit entry', async () => {
    const [property] = await t.sql<{ id: number }>(`insert into custom_properties (name, allowed_values, multi_valued) values ('Source skills', '{}', true) returning id`);
    const contactId = await contact(A, { first: 'Sso', last: 'Person', full: 'Sso Person', email: 'sso@example.org' });
    const user = await provision(admin, {
      contactId,
      organizationId: A.id,
      provider: 'okta',
      externalId: 'okta-123',
      propertyValues: new Map([[property.id, ['Rust', 'Go']]]),
      source: 'Created at first sign-in through okta.',
    });
    const [row] = await t.sql<Record<string, unknown>>(
      `select u.provider, u.external_id, u.password_hash, array(select v.value from user_property_values v where v.user_id = u.id order by v.value) as skills
         from users u where u.id = $1`,
      [user.id],
    );
    expect(row).toEqual({ provider: 'okta', external_id: 'okta-123', password_hash: null, skills: ['Go', 'Rust'] });
    const events = await t.sql<{ detail: string | null; changes: Record<string, { to: unknown }> }>(
      `select detail, changes from audit_events where object_type = 'user' and object_id = $1`,
      [String(user.id)],
    );
    expect(events).toHaveLength(1);
    expect(events[0].detail).toBe('Created at first sign-in through okta.');
    expect(events[0].changes.externalId.to).toBe('okta-123');
    expect(events[0].changes['property: Source skills'].to).toEqual(['Go', 'Rust']);

    const again = await contact(A, { first: 'Sso', last: 'Twin', full: 'Sso Twin' });
    const error = await failure(provision(admin, { contactId: again, organizationId: A.id, provider: 'okta', externalId: 'okta-123' }));
    expect((error as ValidationError).fieldErrors).toEqual({ externalId: `The id okta-123 is already used by the user ${user.username} (okta).` });
  });
});
