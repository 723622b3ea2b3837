import { EntityMetadata, MikroORM, Options, UnderscoreNamingStrategy } from '@mikro-orm/postgresql';
import { ormOptions } from '../../src/database/orm-options';
import { createTestDatabase, TestDatabase } from '../support/database';

/**
 * The entities and the migrations agree: MikroORM's schema diff between the entity metadata and a
 * database built by the real migrations proposes nothing but what is listed below on purpose.
 * Triggers and functions are invisible to the diff (MikroORM does not read them), so they need no
 * entry; the tables `session`, `login_throttle` and `list_choices_version` are skipped by the ORM options themselves.
 *
 * When this fails, either a migration is missing for an entity change (write it), or the
 * database holds something the entities intentionally do not describe (add it here, with why).
 */

/** PostgreSQL's own names for foreign keys (`<table>_<column>_fkey`), which the migrations use. */
class PostgresNames extends UnderscoreNamingStrategy {
  override indexName(table: string, columns: string[], type: 'primary' | 'foreign' | 'unique' | 'index' | 'sequence' | 'check'): string {
    return type === 'foreign' ? `${table}_${columns.join('_')}_fkey` : super.indexName(table, columns, type);
  }
}

/** Indexes only the migrations declare: expressions, partial indexes, trigram, sort and lookup indexes. */
const HAND_WRITTEN_INDEXES = [
  // lower(name) / lower(username) / lower(email): case-insensitive uniqueness the forms rely on
  'organizations_sibling_name_unique', 'roles_name_unique', 'user_profiles_name_unique', 'licence_types_name_unique',
  'departments_name_unique', 'custom_properties_name_unique', 'users_username_unique', 'users_email_unique',
  // partial (where …) unique indexes
  'organizations_single_root', 'roles_built_in_key_unique', 'user_profiles_built_in_key_unique', 'licence_types_built_in_key_unique',
  'users_provider_external_id_unique', 'users_single_built_in', 'user_property_values_single', 'credential_jobs_one_live_per_user',
  'mail_messages_job_unique',
  // text_pattern_ops on the materialized path (subtree prefix scans)
  'organizations_path_unique',
  // pg_trgm GIN indexes of the searches
  'users_username_trgm_idx', 'users_full_name_trgm_idx', 'users_email_trgm_idx', 'contacts_full_name_trgm_idx', 'contacts_email_trgm_idx',
  // keyset sort orders and partial work queues
  'contacts_email_idx', 'contacts_full_name_idx', 'contacts_email_sort_idx', 'users_last_login_sort_idx', 'users_password_send_idx',
  'users_licence_idx', 'credential_jobs_due_idx', 'credential_jobs_lease_idx', 'import_jobs_pending_idx', 'import_jobs_created_idx',
  'mail_messages_created_idx', 'audit_events_occurred_idx', 'audit_events_object_idx', 'audit_events_actor_idx', 'audit_events_action_idx',
  // plain lookup indexes on foreign keys and filters
  'organizations_parent_idx', 'contacts_organization_idx', 'contacts_employer_idx', 'users_profile_idx', 'user_roles_role_idx',
  'memberships_organization_idx', 'mail_messages_user_idx', 'user_property_values_lookup_idx', 'identity_providers_jit_organization_idx',
];

/** Named check constraints of the migrations (the entities have no way to say them). */
const HAND_WRITTEN_CHECKS: Record<string, string[]> = {
  organizations: ['organizations_name_not_blank', 'organizations_path_format', 'organizations_root_has_depth_zero'],
  roles: ['roles_name_not_blank'],
  user_profiles: ['user_profiles_name_not_blank'],
  licence_types: ['licence_types_name_not_blank', 'licence_types_seats_positive'],
  departments: ['departments_name_not_blank'],
  custom_properties: ['custom_properties_name_not_blank'],
  user_property_values: ['user_property_values_not_blank'],
  contacts: ['contacts_full_name_not_blank'],
  users: ['users_failed_logins_non_negative', 'users_password_send_status_has_date', 'users_provider_not_blank', 'users_sso_has_no_password', 'users_username_valid'],
  client_settings: ['client_settings_lockout_positive', 'client_settings_password_lengths', 'client_settings_single_row', 'client_settings_validity_positive'],
  credential_jobs: ['credential_jobs_attempts_valid'],
  import_jobs: ['import_jobs_counts_non_negative'],
  identity_providers: ['identity_providers_key_valid'],
};

/**
 * Status and kind columns: `text` with an inline `check (… in (…))` in the database (so PostgreSQL
 * names the check `<table>_<column>_check`); the entities type them as short strings.
 */
const VALUE_LIST_COLUMNS: Record<string, Record<string, string>> = {
  credential_jobs: { recipient_kind: 'varchar(10)', status: 'varchar(20)' },
  import_jobs: { file_kind: 'varchar(10)', status: 'varchar(20)' },
  mail_messages: { status: 'varchar(20)' },
  contacts: { kind: 'varchar(20)' },
  user_profiles: { start_page: 'varchar(20)' },
  users: { password_send_status: 'varchar(20)' },
  identity_providers: { kind: 'varchar(10)', jit_organization_mode: 'varchar(10)' },
};

/** References the entities keep as plain ids (so an entry outlives what it points at in the ORM's eyes); the database still enforces them. */
const PLAIN_ID_REFERENCES: Record<string, string[]> = {
  credential_jobs: ['credential_jobs_user_id_fkey', 'credential_jobs_recipient_user_id_fkey', 'credential_jobs_requested_by_fkey'],
  import_jobs: ['import_jobs_created_by_id_fkey'],
  mail_messages: ['mail_messages_user_id_fkey', 'mail_messages_job_id_fkey'],
};

/**
 * Foreign keys whose rules the entities cannot say, by their definition in the database. A
 * ManyToMany gives both keys of its pivot table one delete rule (cascade); the database deletes a
 * user's role links with the user but refuses to delete a role someone still holds (the roles
 * page refuses first, with a message; the key is the backstop against a race).
 */
const FOREIGN_KEYS_AS_IN_DATABASE: Record<string, string> = {
  'user_roles.user_roles_role_id_fkey': 'FOREIGN KEY (role_id) REFERENCES roles(id) ON DELETE RESTRICT',
};

/** Everything else the database holds on purpose beyond the entities. */
const OTHER_INTENTIONAL = [
  // Row errors of an import are written and read by raw SQL only (set-based, up to 100k rows).
  'drop table import_errors',
  // The uploaded file is read and written by raw SQL only, so loading a job never loads its bytes.
  'import_jobs: drop column file_data',
  // Copies of the contact's e-mail and full name kept by triggers for the users list's search and sort.
  'users: drop column email',
  'users: drop column full_name',
  // Generated column (`not multi_valued`) behind the one-value-per-property partial unique index.
  'user_property_values: drop column single',
  // text[] with default '{}' in the database; the entities always write the whole array.
  'custom_properties: alter column allowed_values drop default',
  'custom_properties: alter column allowed_values type text[]',
  'roles: alter column permissions drop default',
  'roles: alter column permissions type text[]',
  // smallint with default 0, set by the path trigger; the entity reads it as a number.
  'organizations: alter column depth drop default',
  'organizations: alter column depth type int',
  // The provider key's uniqueness is a named constraint, which the form's message maps.
  'identity_providers: drop constraint identity_providers_key_unique',
  // jsonb with default '{}' / '[]' in the database; the entity always writes the whole document.
  'identity_providers: alter column settings drop default',
  'identity_providers: alter column settings type jsonb',
  'identity_providers: alter column jit_organization_rules drop default',
  'identity_providers: alter column jit_organization_rules type jsonb',
  // What SAML keeps between request and answer (request ids bound to a browser, accepted assertion
  // ids until they expire): short-lived rows written and read by raw SQL only.
  'drop table saml_requests',
  'drop table saml_assertions',
  // The member counts the membership triggers append to, read and folded by raw SQL only.
  'drop table organization_member_counts',
];

/** Tables whose id is `integer|bigint generated by default as identity` in the migrations; the entities say autoincrement, which MikroORM renders as serial. */
const IDENTITY_TABLES = [
  'organizations', 'contacts', 'users', 'roles', 'user_profiles', 'licence_types', 'memberships', 'audit_events', 'departments',
  'custom_properties', 'credential_jobs', 'mail_messages', 'import_jobs', 'identity_providers',
];

function allowList(): Set<string> {
  const allowed = new Set<string>(OTHER_INTENTIONAL);
  for (const name of HAND_WRITTEN_INDEXES) allowed.add(`drop index ${name}`);
  for (const [table, names] of Object.entries(HAND_WRITTEN_CHECKS)) for (const name of names) allowed.add(`${table}: drop constraint ${name}`);
  for (const [table, columns] of Object.entries(VALUE_LIST_COLUMNS)) {
    for (const [column, type] of Object.entries(columns)) {
      allowed.add(`${table}: drop constraint ${table}_${column}_check`);
      allowed.add(`${table}: alter column ${column} type ${type}`);
    }
  }
  for (const [table, names] of Object.entries(PLAIN_ID_REFERENCES)) for (const name of names) allowed.add(`${table}: drop constraint ${name}`);
  for (const table of IDENTITY_TABLES) {
    allowed.add(`${table}: drop column id`);
    allowed.add(`${table}: add column id ${table === 'audit_events' ? 'bigserial' : 'serial'} primary key`);
  }
  return allowed;
}

/** Splits the diff into one line per proposed change: `table: clause`, `drop index name` or `drop table name`, without quotes. */
function proposals(sql: string): string[] {
  const out: string[] = [];
  for (const raw of sql.split(/;\s*\n/)) {
    const statement = raw.replace(/"/g, '').replace(/\s+/g, ' ').trim().replace(/;$/, '');
    if (!statement) continue;
    const alter = /^alter table (\S+) (.*)$/.exec(statement);
    if (!alter) {
      out.push(statement.replace(/^drop table if exists (\S+) cascade$/, 'drop table $1'));
      continue;
    }
    const [, table, rest] = alter;
    for (const clause of rest.split(/, (?=(?:add|drop|alter|rename) )/)) {
      out.push(`${table}: ${clause.replace(/ if exists/, '').replace(/ using \(.*\)$/, '')}`);
    }
  }
  return out;
}

describe('entities and migrations', () => {
  let db: TestDatabase;
  const orms: MikroORM[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    for (const orm of orms) await orm.close(true);
    await db.drop();
  });

  /** The schema changes MikroORM proposes, beyond the allow-list, to make the database match the entities. */
  async function unexpectedDiff(options: Partial<Options> = {}): Promise<string[]> {
    const base = ormOptions({ databaseUrl: db.url, poolMax: 2 });
    const orm = await MikroORM.init({ ...base, ...options, namingStrategy: PostgresNames, discovery: { ...base.discovery, ...options.discovery } });
    orms.push(orm);
    const allowed = allowList();
    const proposed = proposals(await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false }));
    return withoutUpdateRuleOnlyForeignKeys(orm, proposed.filter((p) => !allowed.has(p)));
  }

  /**
   * MikroORM's relations default to `on update cascade`, the migrations to PostgreSQL's `no action`;
   * ids never change, so a re-created foreign key that differs only there is no disagreement.
   * Drops those drop/add pairs from `unexplained`, and reports the re-created keys that differ in
   * anything else (columns, target, delete rule).
   */
  async function withoutUpdateRuleOnlyForeignKeys(orm: MikroORM, unexplained: string[]): Promise<string[]> {
    const added = new Map<string, string>();
    for (const p of unexplained) {
      const m = /^(\S+): add constraint (\S+) (foreign key .*)$/.exec(p);
      if (m) added.set(`${m[1]}.${m[2]}`, m[3]);
    }
    const differing: string[] = [];
    for (const [key, wanted] of added) {
      const [table, name] = key.split('.');
      const [existing] = await orm.em.fork().execute<{ def: string }[]>(
        'select pg_get_constraintdef(c.oid) as def from pg_constraint c join pg_class t on t.oid = c.conrelid where t.relname = ? and c.conname = ?',
        [table, name],
      );
      const normal = (s: string) => s.toLowerCase().replace(/\s+/g, ' ').replace(/ \(/g, '(').replace(/ on update cascade/, '').trim();
      if (existing && FOREIGN_KEYS_AS_IN_DATABASE[key] === existing.def) continue;
      if (!existing || normal(existing.def) !== normal(wanted)) differing.push(`${key}: database has ${existing?.def ?? 'nothing'}, entity wants ${wanted}`);
    }
    const rest = unexplained.filter((p) => {
      const m = /^(\S+): (?:drop|add) constraint (\S+)/.exec(p);
      return !(m && added.has(`${m[1]}.${m[2]}`));
    });
    return rest.concat(differing);
  }

  it('proposes no schema change beyond the intentional, listed ones', async () => {
    expect(await unexpectedDiff()).toEqual([]);
  });

  it('notices an entity column that no migration creates', async () => {
    const onMetadata = (meta: EntityMetadata) => {
      if (meta.tableName === 'departments') meta.addProperty({ name: 'nickname', fieldNames: ['nickname'], columnTypes: ['varchar(40)'], type: 'string', nullable: true });
    };
    expect(await unexpectedDiff({ discovery: { onMetadata } })).toEqual(['departments: add column nickname varchar(40) null']);
  });
});
