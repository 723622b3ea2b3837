// Organization, contacts and audit pages under load, signed in as the Administrator (20
// connections, 20 sessions), each beside a bare Express + hbs page of the same size with the same
// number of items, measured in the same run (bench/lib.mjs's startBare, as bench/users-list.mjs):
//   - the tree /organizations with 1,000 organizations (depth 6, `npm run seed:demo`'s data);
//   - the page of one organization (/organizations/:id: details, sub-organizations, first page
//     of members) that has 10,000 members, and the same with a member search (?q=);
//   - the contacts list /contacts (the users' contacts), default and a search (?q=rossi);
//   - the audit log /audit over 100,000 entries (first page).
//
//   npm run build && node bench/organizations.mjs [--runs 3] [--seconds 10] [--users 20000]
//       [--audit 100000] [--connections 20] [--scenarios tree,org,org-search,contacts,contacts-search,audit]
//       [--before ../other/dist/src/main.js]
//
// Target (issue #15): each page >= 30 % of its bare page's throughput at 20 connections. The
// script also prints the CPU time per request of the app and of the PostgreSQL cluster.
// --before starts a second build of Tessera (e.g. main's, from a copy of its own) on the same
// database with the same sessions and measures it scenario by scenario right before this one.
//
// Uses TEST_DATABASE_URL's server when set (a superuser URL; a database `tessera_bench` is
// created and dropped), otherwise an embedded PostgreSQL in a temporary folder.
//
// Results, the machine they were measured on and what bounds them: BENCHMARKS.md.
import { login, machine, printTable, run, seedDemo, sql, startApp, startBare, startDatabase, stringOption, ADMIN_PASSWORD, option } from './lib.mjs';
import { load, measure, measureApp, ms, rate, verdict } from './load.mjs';

const runs = option('runs', 3);
const seconds = option('seconds', 10);
const users = option('users', 20_000);
const auditEntries = option('audit', 100_000);
const connections = option('connections', 20);
const only = stringOption('scenarios', 'tree,org,org-search,contacts,contacts-search,audit').split(',');
const beforeMain = stringOption('before', '');
const members = 10_000;
const target = 0.3;

console.log(
  `Organization, contacts and audit pages: 1,000 organizations (depth 6), ${users.toLocaleString('en-GB')} users, one organization with ${members.toLocaleString('en-GB')} members, ${auditEntries.toLocaleString('en-GB')} audit entries; ${connections} connections, ${runs} × ${seconds} s per scenario (median)`,
);
console.log(`Machine: ${machine()}; load average at start ${load()}`);

/** Items of a page as the bare page copies them: tree nodes, or the rows of the (first) data table. */
function itemsOf(html, shape) {
  if (shape === 'tree') return (html.split('<ul class="tree">')[1] ?? '').match(/<li[ >]/g)?.length ?? 0;
  return (html.split('<tbody>')[1]?.split('</tbody>')[0].match(/<tr[ >]/g) ?? []).length;
}

await run('organizations', async (work) => {
  const db = await startDatabase(work);
  let app;
  let before;
  const bare = new Map();
  try {
    const seeded = await seedDemo(db.url, { users, orgs: 1000, depth: 6 });
    console.log(`Demo data: ${seeded.organizations} organizations, ${seeded.users} users in ${seeded.seconds.toFixed(1)} s`);
    // A depth-3 organization gets the first 10,000 users as members (besides its own).
    const [big] = await sql(db.url, `select id, name from organizations where depth = 3 order by id limit 1`);
    await sql(
      db.url,
      `insert into memberships (user_id, organization_id)
       select id, $1 from users where not built_in order by id limit $2
       on conflict do nothing`,
      [big.id, members],
    );
    // An audit log as months of use leave it: sign-ins, user and membership changes, with changes.
    await sql(
      db.url,
      `insert into audit_events (occurred_at, actor_id, actor_name, ip, action, object_type, object_id, object_label, changes, detail)
       select now() - (g * interval '1 minute'), 1, 'admin', '10.0.0.' || (g % 200),
              (array['auth.login','user.updated','membership.added','user.created','contact.updated','auth.login_failed'])[1 + g % 6],
              case when g % 6 in (0, 5) then null when g % 6 = 4 then 'contact' else 'user' end,
              case when g % 6 in (0, 5) then null else (1000 + g % 20000)::text end,
              case when g % 6 in (0, 5) then null else 'user' || (g % 20000) end,
              case when g % 6 = 1 then jsonb_build_object('email', jsonb_build_object('from', 'old' || g || '@demo.example', 'to', 'new' || g || '@demo.example'),
                                                          'enabled', jsonb_build_object('from', true, 'to', false)) end,
              case when g % 6 = 2 then 'member of Department ' || (g % 300) end
         from generate_series(1, $1) g`,
      [auditEntries],
    );
    await sql(db.url, 'vacuum analyze memberships');
    await sql(db.url, 'vacuum analyze audit_events');
    const [{ n }] = await sql(db.url, 'select count(*)::int as n from memberships where organization_id = $1', [big.id]);
    console.log(`${big.name} (id ${big.id}) has ${n.toLocaleString('en-GB')} members`);

    app = await startApp(db.url, work);
    // Main's build (or any other) on the same database; the sessions are shared (same table, same secret).
    if (beforeMain) before = await startApp(db.url, work, {}, { main: beforeMain });
    const cookies = [];
    for (let i = 0; i < Math.max(connections, 1); i++) cookies.push((await login(app.base, 'admin', ADMIN_PASSWORD)).cookie());

    const scenarios = [
      { key: 'tree', label: 'tree /organizations (1,000 organizations)', path: '/organizations', shape: 'tree' },
      { key: 'org', label: `organization page, ${n.toLocaleString('en-GB')} members`, path: `/organizations/${big.id}` },
      { key: 'org-search', label: 'organization page, member search q=user12', path: `/organizations/${big.id}?q=user12` },
      { key: 'contacts', label: `contacts list (${users.toLocaleString('en-GB')} contacts)`, path: '/contacts' },
      { key: 'contacts-search', label: 'contacts list, search q=rossi', path: '/contacts?q=rossi' },
      { key: 'audit', label: `audit log (${auditEntries.toLocaleString('en-GB')} entries)`, path: '/audit' },
    ].filter((s) => only.includes(s.key));
    const builds = [...(before ? [{ name: 'before', app: before }] : []), { name: before ? 'after' : 'Tessera', app }];

    const rows = [];
    for (const s of scenarios) {
      const shape = s.shape ?? 'table';
      // The bare page copies each build's page: its size and its number of items (a build
      // whose page is within 5 % of another's shares that one's bare page).
      const pages = [];
      for (const build of builds) {
        const res = await fetch(build.app.base + s.path, { headers: { cookie: cookies[0] } });
        const html = await res.text();
        if (res.status !== 200) throw new Error(`${build.name}: ${s.path} answered ${res.status}`);
        pages.push({ build, bytes: Buffer.byteLength(html), items: itemsOf(html, shape) });
      }
      for (const page of pages) {
        const key = [...bare.keys()].find((k) => {
          const [kShape, kItems, kBytes] = k.split(':');
          return kShape === shape && Number(kItems) === page.items && Math.abs(Number(kBytes) - page.bytes) <= 0.05 * page.bytes;
        });
        if (key) {
          page.bare = bare.get(key);
          continue;
        }
        const server = await startBare(work, { bytes: page.bytes, rows: page.items, shape });
        const b = await measure(`${server.base}/`, { runs, seconds, connections });
        page.bare = { server, rps: b.rps };
        bare.set(`${shape}:${page.items}:${page.bytes}`, page.bare);
        console.log(`  bare Express+hbs, ${page.items} ${shape === 'tree' ? 'nodes' : 'rows'}, ${server.bytes} bytes: ${rate(b.rps)} req/s, p95 ${ms(b.p95)} ms (load ${b.load})`);
        rows.push({ scenario: `bare Express+hbs (${page.items} ${shape === 'tree' ? 'nodes' : 'rows'})`, build: '', KB: (server.bytes / 1024).toFixed(0), 'req/s': rate(b.rps), p50: ms(b.p50), p95: ms(b.p95), p99: ms(b.p99), 'runs req/s': b.runs, 'node CPU ms/req': '', 'pg CPU ms/req': '', 'of bare': '', verdict: '', load: b.load });
      }
      for (const page of pages) {
        const r = await measureApp(page.build.app, work, page.build.app.base + s.path, { runs, seconds, connections, cookies });
        const { nodeMs, pgMs } = r;
        const ratio = r.rps / page.bare.rps;
        console.log(`  ${s.label}, ${page.build.name}: ${rate(r.rps)} req/s, p95 ${ms(r.p95)} ms, CPU/request node ${ms(nodeMs)} ms + PostgreSQL ${ms(pgMs)} ms, ${(ratio * 100).toFixed(0)} % of bare (load ${r.load})`);
        rows.push({
          scenario: s.label,
          build: page.build.name,
          KB: (page.bytes / 1024).toFixed(0),
          ...r.columns,
          'of bare': `${(ratio * 100).toFixed(0)} %`,
          verdict: `>= ${target * 100} % ${verdict(ratio >= target)}`,
          load: r.load,
        });
      }
    }
    printTable(`Organization, contacts and audit pages as the Administrator, ${connections} connections, median of ${runs} × ${seconds} s (latencies in ms; target >= ${target * 100} % of the bare page)`, rows);
    console.log(`\nTessera peak RSS ${app.peakRssMiB().toFixed(0)} MiB${before ? `, before ${before.peakRssMiB().toFixed(0)} MiB` : ''}; load average at the end ${load()} (1 / 5 / 15 min)`);
  } finally {
    for (const b of bare.values()) await b.server.stop();
    await before?.stop();
    await app?.stop();
    await db.stop();
  }
});
