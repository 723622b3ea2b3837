import { Client } from 'pg';
import { hashPassword } from '../accounts/password-hasher';

export interface DemoOptions {
  users: number;
  orgs: number;
  depth: number;
}

export interface DemoResult {
  organizations: number;
  users: number;
  organizationAdmins: number;
  seconds: number;
}

/** The one password every demo user gets (hashed once: hashing 100,000 passwords would take minutes). */
export const DEMO_PASSWORD = 'Demo-pass-2026';

const LEVEL_NAMES = ['Global', 'Division', 'Region', 'Department', 'Office', 'Team', 'Group', 'Unit', 'Squad'];
const FIRST_NAMES = ['Anna', 'Ben', 'Chloé', 'David', 'Emma', 'Felix', 'Greta', 'Hugo', 'Ines', 'Jonas', 'Klara', 'Liam', 'Mia', 'Noah', 'Olivia', 'Paul', 'Quinn', 'Rosa', 'Sven', 'Tara', 'Uwe', 'Vera', 'Wim', 'Xenia', 'Yusuf', 'Zoë'];
const LAST_NAMES = ['Müller', 'Schmidt', 'Dubois', "O'Neil", 'van der Berg', 'García', 'Rossi', 'Nowak', 'Jensen', 'Smith', 'Ångström', 'Kowalski', 'Novák', 'Silva', 'Bauer', 'Martin', 'Fischer', 'Weber', 'Lopez', 'Meyer'];
const DEPARTMENTS = ['Sales', 'Finance', 'Engineering', 'Support', 'Human resources', 'Marketing', 'Legal', 'Operations'];

/**
 * Fills an empty (migrated) Tessera database with a realistic tree and users using set-based SQL:
 * an organization tree of `orgs` organizations at most `depth` levels below Global, one person
 * contact and user per user (one or two memberships, the Member role, a few User managers who
 * administer an organization), departments, three custom properties with values, and a second,
 * limited licence type. Every user's password is `DEMO_PASSWORD`, hashed once.
 */
export async function seedDemoData(databaseUrl: string, options: DemoOptions, log: (line: string) => void = () => undefined): Promise<DemoResult> {
  const started = Date.now();
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  const db = timed(client, log);
  try {
    const [{ orgs, users }] = (await db.query('select (select count(*)::int from organizations) as orgs, (select count(*)::int from users) as users')).rows;
    if (orgs > 1 || users > 1) throw new Error(`The database already has data (${orgs} organizations, ${users} users): demo data goes into a new database only.`);

    await db.query('begin');
    // The tree, breadth first: the branching factor is the smallest that fits `orgs` into `depth` levels.
    let branching = 1;
    while (levelsCapacity(branching, options.depth) < options.orgs) branching++;
    const [{ id: globalId }] = (await db.query('select id from organizations where parent_id is null')).rows;
    const ids: number[] = [globalId];
    let created = 0;
    for (let level = 1; created < options.orgs; level++) {
      const parents = ids.filter((_, i) => depthOf(i, branching) === level - 1);
      const count = Math.min(options.orgs - created, parents.length * branching);
      const { rows } = await db.query(
        `insert into organizations (parent_id, name, description)
         select ($1::int[])[(g - 1) / $2 + 1], $3 || ' ' || ($4 + g), 'Demo organization'
           from generate_series(1, $5) g order by g
         returning id`,
        [parents, branching, LEVEL_NAMES[level] ?? 'Unit', created, count],
      );
      ids.push(...rows.map((r: { id: number }) => r.id));
      created += count;
    }
    log(`${created} organizations (${branching} per parent, up to ${options.depth} levels below Global)`);

    await db.query(`insert into departments (name) select unnest($1::text[]) on conflict do nothing`, [DEPARTMENTS]);
    await db.query(`insert into licence_types (name, seats) values ('Premium', $1)`, [Math.max(10, Math.floor(options.users / 20))]);
    const props = (
      await db.query(
        `insert into custom_properties (name, allowed_values, multi_valued) values
           ('Cost centre', '{}', false),
           ('Site', '{Berlin,Paris,Madrid,Rome,Vienna}', false),
           ('Skills', '{Go,SQL,Excel,Design,Support}', true)
         returning id`,
      )
    ).rows.map((r: { id: number }) => r.id);

    const hash = await hashPassword(DEMO_PASSWORD);
    // Building an index once over a million rows is several times faster than updating it row by
    // row (above all the trigram indexes), and checking a foreign key once for the whole table
    // (one join) than once per row: the secondary indexes and the foreign keys of the tables the
    // users fill are dropped here and created again, from their own definitions, after the load,
    // in the same transaction. Unique indexes stay, so duplicates fail as they go in.
    const tables = ['contacts', 'users', 'memberships', 'user_roles', 'user_property_values'];
    const { rows: foreignKeys } = await db.query(
      `select conrelid::regclass::text as "table", conname as name, pg_get_constraintdef(oid) as definition
         from pg_constraint where contype = 'f' and conrelid = any($1::regclass[]) order by conrelid, conname`,
      [tables],
    );
    for (const fk of foreignKeys) await db.query(`alter table ${fk.table} drop constraint ${quoteIdent(fk.name)}`);
    const { rows: deferred } = await db.query(
      `select i.indexname as name, i.indexdef as definition from pg_indexes i
         join pg_class c on c.relname = i.indexname and c.relnamespace = (select oid from pg_namespace where nspname = i.schemaname)
         join pg_index x on x.indexrelid = c.oid
        where i.schemaname = current_schema() and i.tablename = any($1) and not x.indisunique and not x.indisprimary`,
      [tables],
    );
    for (const index of deferred) await db.query(`drop index ${quoteIdent(index.name)}`);
    // The per-row triggers of the loaded tables fill a column from another table for each row
    // (users' copy of their contact's name and e-mail, a property value's `single` flag): the
    // inserts below fill those columns themselves, and the triggers are off until then. `alter
    // table` locks the table until commit, and the triggers are enabled again before it.
    const { rows: rowTriggers } = await db.query(
      `select t.tgrelid::regclass::text as "table", t.tgname as name from pg_trigger t
        where t.tgrelid = any($1::regclass[]) and not t.tgisinternal and t.tgenabled <> 'D'
          and t.tgtype & 1 = 1 order by 1, 2`,
      [tables],
    );
    for (const trigger of rowTriggers) await db.query(`alter table ${trigger.table} disable trigger ${quoteIdent(trigger.name)}`);
    // Users: contact i in organization ids[1 + i mod orgs]; usernames and e-mails carry i, so they are unique.
    await db.query(
      `create temporary table demo_people on commit drop as
       select g as n,
              ($1::text[])[1 + g % array_length($1::text[], 1)] as first_name,
              ($2::text[])[1 + (g / 7) % array_length($2::text[], 1)] as last_name,
              ($3::int[])[1 + g % array_length($3::int[], 1)] as org_id
         from generate_series(1, $4) g`,
      [FIRST_NAMES, LAST_NAMES, ids.slice(1).length ? ids.slice(1) : ids, options.users],
    );
    await db.query(
      `insert into contacts (kind, first_name, last_name, full_name, email, mobile, department, job_title, organization_id)
       select 'person', first_name, last_name, first_name || ' ' || last_name,
              'user' || n || '@demo.example', '+49 151 ' || lpad(n::text, 8, '0'),
              ($1::text[])[1 + n % array_length($1::text[], 1)], 'Employee', org_id
         from demo_people order by n`,
      [DEPARTMENTS],
    );
    await db.query(
      `insert into users (contact_id, full_name, email, username, password_hash, profile_id, licence_id, last_login_at)
       select c.id, c.full_name, c.email, 'user' || p.n, $1,
              (select id from user_profiles where built_in_key = 'self_service'),
              case when p.n % 20 = 0 then (select id from licence_types where name = 'Premium')
                   else (select id from licence_types where built_in_key = 'standard') end,
              case when p.n % 3 = 0 then now() - (p.n % 90) * interval '1 day' end
         from demo_people p join contacts c on c.email = 'user' || p.n || '@demo.example'`,
      [hash],
    );
    await db.query(
      `create temporary table demo_users on commit drop as
       select u.id as user_id, p.n, p.org_id from demo_people p join users u on u.username = 'user' || p.n`,
    );
    await db.query(`insert into memberships (user_id, organization_id) select user_id, org_id from demo_users`);
    // One user in ten is also a member of a second organization.
    await db.query(
      `insert into memberships (user_id, organization_id)
       select user_id, ($1::int[])[1 + (n * 7 + 3) % array_length($1::int[], 1)] from demo_users where n % 10 = 0
       on conflict do nothing`,
      [ids.slice(1).length ? ids.slice(1) : ids],
    );
    await db.query(`insert into user_roles (user_id, role_id) select user_id, (select id from roles where built_in_key = 'member') from demo_users`);
    // The first member of each organization in the top three levels administers it, as a User manager.
    const admins = await db.query(
      `with firsts as (
         select distinct on (d.org_id) d.user_id, d.org_id from demo_users d
           join organizations o on o.id = d.org_id where o.depth between 1 and 3 order by d.org_id, d.n)
       update memberships m set is_admin = true from firsts f where m.user_id = f.user_id and m.organization_id = f.org_id
       returning m.user_id`,
    );
    const adminIds = admins.rows.map((r: { user_id: number }) => r.user_id);
    await db.query(`insert into user_roles (user_id, role_id) select unnest($1::int[]), (select id from roles where built_in_key = 'user_manager')`, [adminIds]);
    await db.query(`update users set profile_id = (select id from user_profiles where built_in_key = 'administrator') where id = any($1)`, [adminIds]);

    await db.query(
      `insert into user_property_values (user_id, property_id, value, single)
       select user_id, $1::int, 'CC-' || lpad((n % 400)::text, 4, '0'), true from demo_users
       union all
       select user_id, $2::int, (array['Berlin','Paris','Madrid','Rome','Vienna'])[1 + n % 5], true from demo_users
       union all
       select user_id, $3::int, (array['Go','SQL','Excel','Design','Support'])[1 + n % 5], false from demo_users
       union all
       select user_id, $3::int, (array['Go','SQL','Excel','Design','Support'])[1 + (n + 2) % 5], false from demo_users where n % 4 = 0`,
      props,
    );
    await db.query(`set local maintenance_work_mem = '256MB'`);
    for (const index of deferred) await db.query(index.definition);
    for (const fk of foreignKeys) await db.query(`alter table ${fk.table} add constraint ${quoteIdent(fk.name)} ${fk.definition}`);
    for (const trigger of rowTriggers) await db.query(`alter table ${trigger.table} enable trigger ${quoteIdent(trigger.name)}`);
    log(`${deferred.length} indexes built, ${foreignKeys.length} foreign keys checked and ${rowTriggers.length} row triggers enabled again after the load`);
    await db.query('commit');
    // As autovacuum would soon after a bulk load: statistics, the visibility map (index-only
    // scans) and the trigram indexes' pending entries merged, so that the first searches are not
    // slower than the rest.
    await db.query('vacuum (analyze)');
    log(`${options.users} users, ${adminIds.length} organization administrators`);
    return { organizations: created, users: options.users, organizationAdmins: adminIds.length, seconds: (Date.now() - started) / 1000 };
  } catch (error) {
    await db.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Wraps `query` so that every statement slower than a second is reported with its duration. */
function timed(client: Client, log: (line: string) => void): Pick<Client, 'query'> {
  return {
    query: (async (text: string, params?: unknown[]) => {
      const t0 = Date.now();
      const result = await client.query(text, params);
      const ms = Date.now() - t0;
      if (ms > 1000) log(`  ${(ms / 1000).toFixed(1)} s: ${text.trim().split('\n')[0].slice(0, 70)}`);
      return result;
    }) as Client['query'],
  };
}

function levelsCapacity(branching: number, depth: number): number {
  let total = 0;
  let level = 1;
  for (let d = 1; d <= depth; d++) {
    level *= branching;
    total += level;
  }
  return total;
}

/** Depth of the i-th organization in breadth-first order (0 = Global) for a full `branching`-ary tree. */
function depthOf(index: number, branching: number): number {
  let depth = 0;
  let first = 0;
  let width = 1;
  while (index >= first + width) {
    first += width;
    width *= branching;
    depth++;
  }
  return depth;
}
