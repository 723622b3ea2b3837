// A CPU profile of Tessera serving one users-list page under load: the app runs with
// `node --cpu-prof`, autocannon requests the page from `--connections` signed-in sessions for
// `--seconds`, then the app stops and the profile is summarised: the main thread's time by
// package (self time), the heaviest functions (self and inclusive), and Tessera's own functions
// by inclusive time. The .cpuprofile file is kept (open it in Chrome's DevTools).
//
//   npm run build && node bench/profile-users-list.mjs [--persona admin|orgadmin] [--path /users]
//       [--connections 4] [--seconds 15] [--users 100000] [--orgs 1000] [--data DIR] [--main dist/src/main.js]
//       [--out profile.cpuprofile]
//
// --data DIR keeps the embedded PostgreSQL (and its demo data) in DIR between runs, so that a
// second profile does not seed again. Without it everything lives in a temporary folder.
import { mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ADMIN_PASSWORD, benchOrgAdmin, dist, login, machine, option, root, run, seedDemo, sleep, sql, startApp, startDatabase } from './lib.mjs';
import { load, loadRun } from './load.mjs';
import { summarise } from './cpu-profile.mjs';

const text = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const persona = text('persona', 'admin');
const path = text('path', '/users');
const connections = option('connections', 4);
const seconds = option('seconds', 15);
const users = option('users', 100_000);
const orgs = option('orgs', 1000);
const data = text('data', '');
const main = resolve(text('main', join(root, 'dist', 'src', 'main.js')));
const out = resolve(text('out', `users-list-${persona}.cpuprofile`));

console.log(`Profile of ${path} for ${persona}, ${connections} connections, ${seconds} s; ${machine()}; load average ${load()}`);

const body = async (work) => {
  const db = await startDatabase(work);
  let app;
  try {
    const [{ n }] = await sql(db.url, 'select count(*)::int as n from users');
    if (n < users) {
      const seeded = await seedDemo(db.url, { users, orgs, depth: 6 });
      console.log(`Demo data: ${seeded.users} users in ${seeded.seconds.toFixed(1)} s`);
    }
    const profDir = join(work, `prof-${Date.now()}`);
    mkdirSync(profDir, { recursive: true });
    app = await startApp(db.url, work, {}, { main, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
    let who = { username: 'admin', password: ADMIN_PASSWORD, org: undefined };
    if (persona === 'orgadmin') {
      const a = await benchOrgAdmin(db.url);
      const { DEMO_PASSWORD } = dist('database/demo-data.js');
      who = { username: a.username, password: DEMO_PASSWORD, org: a.memberships > 1 ? a.org_id : undefined };
    }
    const cookies = [];
    for (let i = 0; i < connections; i++) cookies.push((await login(app.base, who.username, who.password, who.org)).cookie());
    await loadRun(app.base + path, { cookies, connections, seconds: 2 });
    // Statements (each its own transaction) per page, from PostgreSQL's statistics, which a
    // backend reports when it goes idle, at most once a second.
    const statements = async () => (await sql(db.url, 'select xact_commit::int as n from pg_stat_database where datname = current_database()'))[0].n;
    await sleep(1500);
    const s0 = await statements();
    const t0 = performance.now();
    const r = await loadRun(app.base + path, { cookies, connections, seconds });
    const t1 = performance.now();
    if (r.wrongStatus) throw new Error(`unexpected statuses ${JSON.stringify(r.wrongStatus)}`);
    await sleep(1500);
    const s1 = await statements();
    console.log(`${r.requests} pages in ${seconds} s (${(r.requests / seconds).toFixed(0)}/s), p95 ${r.p95.toFixed(1)} ms; ${((s1 - s0 - 1) / r.requests).toFixed(2)} statements a page; load average ${load()}`);
    await app.stop();
    const stopped = performance.now();
    app = undefined;
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('No profile was written');
    renameSync(join(profDir, file), out);
    // Only the measured run: the profile ends when the app exits, `stopped - t1` after the run.
    const profile = JSON.parse(readFileSync(out, 'utf8'));
    const windowEnd = profile.endTime - (stopped - t1) * 1000;
    summarise(profile, windowEnd - (t1 - t0) * 1000, windowEnd, r.requests);
    console.log(`\nProfile: ${out}`);
  } finally {
    await app?.stop();
    await db.stop();
  }
};

if (data) {
  mkdirSync(data, { recursive: true });
  await body(resolve(data));
} else await run('profile-users-list', body);
