// Users list under load: 100,000 users in 1,000 organizations (depth 6, `npm run seed:demo`'s
// data), 20 concurrent connections, each with its own signed-in session. Scenarios: the default
// /users page, a search (?q=) and an organization filter (?org=&sub=1), each for the
// Administrator and for an organization administrator (a User manager) of a mid-level subtree.
// In the same run a bare Express + hbs server renders a page of the same size with the same
// number of table rows under the same load, so the ratio Tessera / bare is printed.
//
//   npm run build && node bench/users-list.mjs [--runs 3] [--seconds 10] [--users 100000] [--orgs 1000]
//       [--connections 20] [--single 1] [--scenarios default,search,org] [--before ../other/dist/src/main.js]
//
// Targets: Tessera >= 30 % of the bare page's throughput at 20 connections (organization
// administrator >= 25 %); p95 <= 20 ms (organization administrator 25 ms) at 1 connection.
//
// --single 0 leaves out the 1-connection runs, --connections 0 the 20-connection runs.
// --before starts a second build of Tessera (e.g. main's, from a worktree of its own) on the same
// database, with the same sessions, and measures it beside this one, scenario by scenario, so
// that before and after come from one run under the same load.
//
// The million-user run (`npm run bench:users-list-1m`): --users 1000000 --orgs 10000 --connections 0
// --scenarios default,search, target p95 <= 50 ms at 1 connection. The embedded cluster lives in
// a temporary folder (TMPDIR; about 3 GiB) and is removed at the end.
//
// Results, the machine they were measured on and what bounds them: BENCHMARKS.md.
//
// Uses TEST_DATABASE_URL's server when set (a superuser URL; a database `tessera_bench` is
// created and dropped), otherwise an embedded PostgreSQL in a temporary folder.
import { benchOrgAdmin, login, machine, printTable, run, seedDemo, sql, startApp, startBare, startDatabase, stringOption, ADMIN_PASSWORD, option } from './lib.mjs';
import { load, measure, measureApp, ms, rate, verdict } from './load.mjs';

await main();

async function main() {
  const runs = option('runs', 3);
  const seconds = option('seconds', 10);
  const users = option('users', 100_000);
  const orgs = option('orgs', 1000);
  const connections = option('connections', 20);
  const single = option('single', 1) > 0;
  const only = stringOption('scenarios', 'default,search,org').split(',');
  const beforeMain = stringOption('before', '');
  const targets = { Administrator: { ratio: 0.3, p95: 20 }, 'Org admin': { ratio: 0.25, p95: 25 } };
  if (users >= 1_000_000) for (const t of Object.values(targets)) t.p95 = 50;

  console.log(`Users list: ${users.toLocaleString('en-GB')} users, ${orgs.toLocaleString('en-GB')} organizations, depth 6; ${connections} connections and 1, ${runs} × ${seconds} s per scenario (median)`);
  console.log(`Machine: ${machine()}; load average at start ${load()}`);

  await run('users-list', async (work) => {
    const db = await startDatabase(work);
    let app;
    let before;
    let bare = [];
    try {
      const seeded = await seedDemo(db.url, { users, orgs, depth: 6 });
      console.log(`Demo data: ${seeded.organizations} organizations, ${seeded.users} users, ${seeded.organizationAdmins} organization administrators in ${seeded.seconds.toFixed(1)} s`);

      const orgAdmin = await benchOrgAdmin(db.url);
      const [{ n: scopeUsers }] = await sql(
        db.url,
        `select count(distinct m.user_id)::int as n from memberships m join organizations o on o.id = m.organization_id where o.path like $1`,
        [`${orgAdmin.path}%`],
      );
      // The organization filter: a depth-3 organization inside that subtree, with its sub-organizations.
      const [filterOrg] = await sql(db.url, `select id, name from organizations where parent_id = $1 order by id limit 1`, [orgAdmin.org_id]);
      // The search: a last name of the demo data (one user in twenty has it).
      const search = 'rossi';
      console.log(
        `Organization administrator: ${orgAdmin.username} of ${orgAdmin.name} (depth 2, ${orgAdmin.subtree} organizations, ${scopeUsers.toLocaleString('en-GB')} users in scope, ${orgAdmin.memberships} membership(s))`,
      );

      app = await startApp(db.url, work);
      // Main's build (or any other) on the same database; the sessions are shared (same table, same secret).
      if (beforeMain) before = await startApp(db.url, work, {}, { main: beforeMain });
      const personas = [
        { name: 'Administrator', username: 'admin', password: ADMIN_PASSWORD, org: undefined },
        { name: 'Org admin', username: orgAdmin.username, password: seeded.password, org: orgAdmin.memberships > 1 ? orgAdmin.org_id : undefined },
      ];
      for (const p of personas) {
        p.cookies = [];
        for (let i = 0; i < Math.max(connections, 1); i++) p.cookies.push((await login(app.base, p.username, p.password, p.org)).cookie());
        // The default page of this persona, its size and rows: the bare page copies them.
        const res = await fetch(`${app.base}/users`, { headers: { cookie: p.cookies[0] } });
        const html = await res.text();
        if (res.status !== 200 || !html.includes('<tbody>')) throw new Error(`${p.name}: GET /users answered ${res.status}`);
        p.bytes = Buffer.byteLength(html);
        p.rows = (html.split('<tbody>')[1].split('</tbody>')[0].match(/<tr>/g) ?? []).length;
      }
      const scenarios = [
        { key: 'default', label: 'default', path: '/users' },
        { key: 'search', label: `search q=${search}`, path: `/users?q=${search}` },
        { key: 'org', label: `org filter (${filterOrg.name} + sub)`, path: `/users?org=${filterOrg.id}&sub=1` },
      ].filter((s) => only.includes(s.key));
      const builds = [...(before ? [{ name: 'before', app: before }] : []), { name: before ? 'after' : 'Tessera', app }];
      const loads = [...(connections > 0 ? [connections] : []), ...(single ? [1] : [])];

      // The bare servers, one per persona's page size, in child processes like Tessera.
      for (const p of personas) {
        const b = await startBare(work, { bytes: p.bytes, rows: p.rows });
        bare.push(b);
        p.bare = b;
      }

      const rows = [];
      for (const p of personas) {
        const target = targets[p.name];
        const bareRps = {};
        for (const c of loads) {
          const b = await measure(`${p.bare.base}/`, { runs, seconds, connections: c });
          bareRps[c] = b.rps;
          rows.push({ persona: p.name, scenario: `bare Express+hbs (${p.rows} rows)`, build: '', conns: c, bytes: p.bare.bytes, rows: p.rows, 'req/s': rate(b.rps), p50: ms(b.p50), p95: ms(b.p95), p99: ms(b.p99), 'runs req/s': b.runs, 'node CPU ms/req': '', 'pg CPU ms/req': '', 'of bare': '', verdict: '', load: b.load });
          console.log(`  ${p.name}, bare page, ${c} conn.: ${rate(b.rps)} req/s, p95 ${ms(b.p95)} ms (load ${b.load})`);
        }
        for (const s of scenarios) {
          for (const c of loads) {
            for (const build of builds) {
              const page = await fetch(build.app.base + s.path, { headers: { cookie: p.cookies[0] } });
              const html = await page.text();
              const rowCount = (html.split('<tbody>')[1]?.split('</tbody>')[0].match(/<tr>/g) ?? []).length;
              const count = /<h1>Users<\/h1>\s*<p>[\s\S]*?(\b(?:About |More than )?[\d,]+\+? users?)/.exec(html)?.[1] ?? '?';
              const r = await measureApp(build.app, work, build.app.base + s.path, { runs, seconds, connections: c, cookies: p.cookies });
              const { nodeMs, pgMs } = r;
              const ratio = r.rps / bareRps[c];
              const ok = c === 1 ? r.p95 <= target.p95 : ratio >= target.ratio;
              console.log(`  ${p.name}, ${s.label}, ${build.name}, ${c} conn.: ${rate(r.rps)} req/s, p95 ${ms(r.p95)} ms, CPU/request node ${ms(nodeMs)} ms + PostgreSQL ${ms(pgMs)} ms, “${count}” (load ${r.load})`);
              rows.push({
                persona: p.name,
                scenario: s.label,
                build: build.name,
                conns: c,
                bytes: Buffer.byteLength(html),
                rows: rowCount,
                ...r.columns,
                'of bare': `${(ratio * 100).toFixed(0)} %`,
                verdict: c === 1 ? `p95 <= ${target.p95} ms ${verdict(ok)}` : `>= ${target.ratio * 100} % ${verdict(ok)}`,
                load: r.load,
              });
            }
          }
        }
      }
      printTable(`Users list, median of ${runs} × ${seconds} s (latencies in ms; targets: ${connections} connections Tessera/bare >= 30 % (Administrator) / 25 % (organization administrator); 1 connection p95 <= ${targets.Administrator.p95} / ${targets['Org admin'].p95} ms)`, rows);
      console.log(`\nTessera peak RSS ${app.peakRssMiB().toFixed(0)} MiB${before ? `, before ${before.peakRssMiB().toFixed(0)} MiB` : ''}; load average at the end ${load()} (1 / 5 / 15 min)`);
    } finally {
      for (const b of bare) await b.stop();
      await before?.stop();
      await app?.stop();
      await db.stop();
    }
  });
}
