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
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { benchOrgAdmin, login, machine, printTable, root, run, seedDemo, sleep, sql, startApp, startDatabase, freePort, ADMIN_PASSWORD, option } from './lib.mjs';
import { load, measure, ms, rate, verdict } from './load.mjs';

const require = createRequire(import.meta.url);

if (process.argv[2] === '--bare-server') await bareServer();
else await main();

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
        const b = await startBare(work, p.bytes, p.rows);
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
              const cpu0 = cpu(build.app.pid, work);
              const r = await measure(build.app.base + s.path, { runs, seconds, connections: c, cookies: p.cookies });
              const cpu1 = cpu(build.app.pid, work);
              // CPU per request (all requests of the warm-up and the runs), which queueing on a
              // busy machine does not inflate the way it does latencies.
              const served = r.served;
              const nodeMs = (cpu1.node - cpu0.node) / served;
              const pgMs = cpu0.pg === null ? NaN : (cpu1.pg - cpu0.pg) / served;
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
                'req/s': rate(r.rps),
                p50: ms(r.p50),
                p95: ms(r.p95),
                p99: ms(r.p99),
                'runs req/s': r.runs,
                'node CPU ms/req': ms(nodeMs),
                'pg CPU ms/req': ms(pgMs),
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

/**
 * CPU time (ms) used so far by the app process and by every process of the embedded PostgreSQL
 * cluster (its backends are the app's pooled connections, which live through a measurement).
 * `pg` is null with TEST_DATABASE_URL's server.
 */
function cpu(pid, work) {
  const tick = 10; // ms per clock tick (USER_HZ = 100 on Linux)
  const of = (p) => {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      // utime + stime, and for the postmaster cutime + cstime: the CPU of exited children
      // (autovacuum workers, closed connections), so that the sum never goes backwards.
      return { ppid: Number(f[1]), ms: (Number(f[11]) + Number(f[12])) * tick, children: (Number(f[13]) + Number(f[14])) * tick };
    } catch {
      return null;
    }
  };
  const pidFile = join(work, 'pg', 'cluster', 'postmaster.pid');
  let pg = null;
  if (existsSync(pidFile)) {
    const postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    const main = of(postmaster);
    pg = main ? main.ms + main.children : 0;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const st = of(entry);
      if (st && st.ppid === postmaster) pg += st.ms;
    }
  }
  return { node: of(pid)?.ms ?? NaN, pg };
}

/** The text after `--name` on the command line, or `fallback`. */
function stringOption(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

/** Starts this script as a bare Express + hbs server that renders `rows` rows in about `bytes` bytes. */
async function startBare(work, bytes, rows) {
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, 'bench', 'users-list.mjs'), '--bare-server', String(port), String(bytes), String(rows), join(work, `bare-${port}`)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error('The bare server exited');
    try {
      const res = await fetch(`${base}/`);
      if (res.status === 200) {
        const size = Buffer.byteLength(await res.text());
        return {
          base,
          bytes: size,
          async stop() {
            if (child.exitCode === null) child.kill('SIGTERM');
            await exited;
          },
        };
      }
    } catch {
      // not listening yet
    }
    if (i > 200) throw new Error('The bare server did not start');
    await sleep(50);
  }
}

/**
 * The bare server: Express + hbs with a layout, a page with a table of `rows` rows of ten cells
 * (like the users list), padded so the page has `bytes` bytes, rendered on every request from
 * fresh row objects. The view cache is on (what NODE_ENV=production gives an Express app).
 */
async function bareServer() {
  const [port, bytes, rows, dir] = process.argv.slice(3);
  const express = require('express');
  const hbs = require('hbs');
  mkdirSync(join(dir, 'layouts'), { recursive: true });
  writeFileSync(
    join(dir, 'layouts', 'main.hbs'),
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{{title}}</title><link rel="stylesheet" href="/x.css"></head>\n<body><main>{{{body}}}</main></body></html>\n`,
  );
  writeFileSync(
    join(dir, 'page.hbs'),
    `<h1>{{title}}</h1>\n<table><thead><tr><th>Select</th><th>Username</th><th>Full name</th><th>E-mail</th><th>Organizations</th><th>Roles</th><th>Licence</th><th>Status</th><th>Last login</th><th>Filler</th></tr></thead>\n<tbody>\n` +
      `{{#each users}}<tr>\n<td><input type="checkbox" name="ids" value="{{id}}"></td><td><a href="/users/{{id}}">{{username}}</a></td><td>{{fullName}}</td><td>{{email}}</td>` +
      `<td>{{#each organizations}}{{this}}{{#unless @last}}, {{/unless}}{{/each}}</td><td>{{#each roles}}{{this}}{{#unless @last}}, {{/unless}}{{/each}}</td><td>{{licence}}</td>` +
      `<td>{{#if enabled}}Enabled{{else}}Disabled{{/if}}</td><td>{{lastLogin}}</td><td>{{filler}}</td>\n</tr>\n{{/each}}</tbody></table>\n`,
  );
  const app = express();
  app.set('views', dir);
  app.set('view engine', 'hbs');
  app.set('view options', { layout: 'layouts/main' });
  app.set('view cache', true);
  app.disable('x-powered-by');
  let filler = 0;
  const data = () => ({
    title: 'Users',
    users: Array.from({ length: Number(rows) }, (_, i) => ({
      id: 1000 + i,
      username: `user${1000 + i}`,
      fullName: `Anna Müller ${i}`,
      email: `user${1000 + i}@demo.example`,
      organizations: ['Region 12', 'Team 345'],
      roles: ['Member'],
      licence: 'Standard',
      enabled: true,
      lastLogin: '1 Dec 2026, 10:00',
      filler: 'x'.repeat(filler),
    })),
  });
  // Pad the rows so the whole page has the requested size.
  const render = (locals) => new Promise((resolve, reject) => app.render('page', locals, (e, html) => (e ? reject(e) : resolve(html))));
  const empty = Buffer.byteLength(await render(data()));
  filler = Math.max(0, Math.round((Number(bytes) - empty) / Math.max(1, Number(rows))));
  app.get('/', (_req, res) => res.render('page', data()));
  app.listen(Number(port), '127.0.0.1');
  process.once('SIGTERM', () => process.exit(0));
}
