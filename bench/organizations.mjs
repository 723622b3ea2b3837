// Organization pages under load, signed in as the Administrator (20 connections, 20 sessions):
// the tree page /organizations with 1,000 organizations (depth 6, `npm run seed:demo`'s data),
// and the page of one organization (/organizations/:id: details, sub-organizations, first page
// of members) that has 10,000 members, also with a member search (?q=).
//
//   npm run build && node bench/organizations.mjs [--runs 3] [--seconds 10] [--users 20000]
//
// Target (the users list's): p95 <= 50 ms. Uses TEST_DATABASE_URL's server when set (a
// superuser URL; a database `tessera_bench` is created and dropped), otherwise an embedded
// PostgreSQL in a temporary folder.
//
// Results, the machine they were measured on and what bounds them: BENCHMARKS.md.
import { login, machine, printTable, run, seedDemo, sql, startApp, startDatabase, ADMIN_PASSWORD, option } from './lib.mjs';
import { load, measure, ms, rate, verdict } from './load.mjs';

const runs = option('runs', 3);
const seconds = option('seconds', 10);
const users = option('users', 20_000);
const members = 10_000;
const connections = 20;
const target = { p95: 50 };

console.log(`Organization pages: 1,000 organizations (depth 6), ${users.toLocaleString('en-GB')} users, one organization with ${members.toLocaleString('en-GB')} members; ${connections} connections, ${runs} × ${seconds} s per scenario (median)`);
console.log(`Machine: ${machine()}; load average at start ${load()}`);

await run('organizations', async (work) => {
  const db = await startDatabase(work);
  let app;
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
    await sql(db.url, 'analyze memberships');
    const [{ n }] = await sql(db.url, 'select count(*)::int as n from memberships where organization_id = $1', [big.id]);
    console.log(`${big.name} (id ${big.id}) has ${n.toLocaleString('en-GB')} members`);

    app = await startApp(db.url, work);
    const cookies = [];
    for (let i = 0; i < connections; i++) cookies.push((await login(app.base, 'admin', ADMIN_PASSWORD)).cookie());

    const scenarios = [
      { label: 'tree /organizations (1,000 organizations)', path: '/organizations' },
      { label: `organization page, ${n.toLocaleString('en-GB')} members`, path: `/organizations/${big.id}` },
      { label: 'organization page, member search q=user12', path: `/organizations/${big.id}?q=user12` },
    ];
    const rows = [];
    for (const s of scenarios) {
      const res = await fetch(app.base + s.path, { headers: { cookie: cookies[0] } });
      const html = await res.text();
      if (res.status !== 200) throw new Error(`${s.path} answered ${res.status}`);
      const r = await measure(app.base + s.path, { runs, seconds, connections, cookies });
      console.log(`  ${s.label}: ${rate(r.rps)} req/s, p95 ${ms(r.p95)} ms (load ${r.load})`);
      rows.push({
        scenario: s.label,
        bytes: Buffer.byteLength(html),
        'req/s': rate(r.rps),
        p50: ms(r.p50),
        p95: ms(r.p95),
        p99: ms(r.p99),
        'runs req/s': r.runs,
        'p95 target': verdict(r.p95 <= target.p95),
        errors: r.errors,
        load: r.load,
      });
    }
    printTable(`Organization pages as the Administrator, ${connections} connections, median of ${runs} × ${seconds} s (latencies in ms; target p95 <= ${target.p95} ms)`, rows);
    console.log(`\nTessera peak RSS ${app.peakRssMiB().toFixed(0)} MiB; load average at the end ${load()} (1 / 5 / 15 min)`);
  } finally {
    await app?.stop();
    await db.stop();
  }
});
