// Shared plumbing of the benchmark scripts: a PostgreSQL for the run (TEST_DATABASE_URL's server
// or an embedded cluster in a temporary folder), demo data, Tessera itself started as a child
// process from the compiled build (`npm run build` first), HTTP sign-in as a browser does it,
// peak memory of a process, percentiles and printed tables. Every script cleans up after itself.
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
export const root = join(import.meta.dirname, '..');
/** A module of the compiled app, e.g. `dist('database/demo-data.js')`. */
export const dist = (path) => {
  const file = join(root, 'dist', 'src', path);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first.`);
  return require(file);
};
export const { Client } = require('pg');

export const ADMIN_PASSWORD = 'Bench-pass-2026';

/** A temporary folder for the run, traversable by the `postgres` user the cluster runs as under root. */
export function workDir(name) {
  const dir = mkdtempSync(join(tmpdir(), `tessera-bench-${name}-`));
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * A fresh database `name`, migrated with the first-start data (admin password ADMIN_PASSWORD).
 * Returns { url, stop() }; stop() drops it (external server) or stops the embedded cluster.
 */
export async function startDatabase(work, name = 'tessera_bench') {
  const { prepareDatabase } = dist('database/prepare.js');
  const external = process.env.TEST_DATABASE_URL;
  let url;
  let stop;
  if (external) {
    const admin = new Client({ connectionString: external });
    await admin.connect();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.query(`create database ${name}`);
    await admin.end();
    const u = new URL(external);
    u.pathname = `/${name}`;
    url = u.toString();
    stop = async () => {
      const c = new Client({ connectionString: external });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    };
  } else {
    const { startEmbeddedPostgres, ensureDatabase } = dist('database/embedded-postgres.js');
    const embedded = await startEmbeddedPostgres(join(work, 'pg'));
    url = await ensureDatabase(embedded, name);
    stop = () => embedded.stop();
  }
  await prepareDatabase(url, ADMIN_PASSWORD);
  return { url, stop };
}

/** Demo data (`npm run seed:demo`'s), every demo user with the password DEMO_PASSWORD. */
export async function seedDemo(url, options) {
  const { seedDemoData, DEMO_PASSWORD } = dist('database/demo-data.js');
  const result = await seedDemoData(url, options);
  return { ...result, password: DEMO_PASSWORD };
}

/** One SQL query on a short-lived connection. */
export async function sql(url, text, params = []) {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows;
  } finally {
    await c.end();
  }
}

/**
 * The organization administrator the users-list benchmarks sign in as: one of a depth-2
 * organization who may manage users, with the largest subtree among them (a mid-level subtree:
 * about an eighth of the demo tree). { username, org_id, name, path, memberships, subtree }.
 */
export async function benchOrgAdmin(url) {
  const [orgAdmin] = await sql(
    url,
    `select u.username, o.id as org_id, o.name, o.path,
            (select count(*)::int from memberships x where x.user_id = u.id) as memberships,
            (select count(*)::int from organizations s where s.path like o.path || '%') as subtree
       from memberships m join users u on u.id = m.user_id join organizations o on o.id = m.organization_id
      where m.is_admin and o.depth = 2
        and exists (select 1 from user_roles ur join roles r on r.id = ur.role_id
                     where ur.user_id = u.id and 'manage_users' = any(r.permissions))
      order by subtree desc, o.id limit 1`,
  );
  if (!orgAdmin) throw new Error('The demo data has no organization administrator at depth 2 with manage_users');
  return orgAdmin;
}

/** A free TCP port on the loopback interface. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts the compiled app (`main`, default dist/src/main.js) on a free port against `url` and
 * waits for GET /login to answer 200. `nodeArgs` go before the script (e.g. `--cpu-prof`).
 * Returns { base, pid, startMs (spawn to first 200), output(), peakRssMiB(), stop() }.
 */
export async function startApp(url, work, env = {}, { main = join(root, 'dist', 'src', 'main.js'), nodeArgs = [] } = {}) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, main], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: url,
      PORT: String(port),
      PUBLIC_URL: base,
      DATA_DIR: join(work, `data-${port}`),
      SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
      SCHEDULER: 'off',
      IMPORT_POLL_SECONDS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Tessera exited during start-up:\n${output}`);
    try {
      const res = await fetch(`${base}/login`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() - t0 > 60_000) {
      child.kill('SIGKILL');
      throw new Error(`Tessera did not answer GET /login within 60 s:\n${output}`);
    }
    await sleep(50);
  }
  const startMs = performance.now() - t0;
  return {
    base,
    pid: child.pid,
    startMs,
    output: () => output,
    peakRssMiB: () => peakRssMiB(child.pid),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** CPU time (user + system, every thread) process `pid` has used so far, in ms (USER_HZ = 100). */
export function processCpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** The peak resident set size of process `pid` (VmHWM), in MiB. */
export function peakRssMiB(pid = process.pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The number after `--name` on the command line, or `fallback`. */
export function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** The text after `--name` on the command line, or `fallback`. */
export function stringOption(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function cookieOf(res, jar) {
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const [name, value] = pair.split('=');
    jar.set(name, value);
  }
}

/** A cookie-keeping HTTP client for one browser session; redirects are not followed. */
export function session(base) {
  const jar = new Map();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const request = async (path, init = {}) => {
    const res = await fetch(base + path, { ...init, redirect: 'manual', headers: { ...(init.headers ?? {}), cookie: cookie() } });
    cookieOf(res, jar);
    return res;
  };
  return {
    cookie,
    request,
    async get(path) {
      const res = await request(path);
      return { status: res.status, location: res.headers.get('location'), text: await res.text() };
    },
    async post(path, fields) {
      const res = await request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      });
      return { status: res.status, location: res.headers.get('location'), text: await res.text() };
    },
  };
}

export function csrfFrom(html) {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error(`No CSRF token in the page:\n${html.slice(0, 400)}`);
  return m[1];
}

/** Submits the login form once; resolves to the response status (303 when signed in). */
export async function submitLogin(base, username, password) {
  const s = session(base);
  const page = await s.get('/login');
  const res = await s.post('/login', { _csrf: csrfFrom(page.text), username, password });
  return { status: res.status, session: s };
}

/**
 * A signed-in session; with `organizationId`, the organization is chosen as the chooser form
 * does. Returns the session (its `cookie()` for load generators).
 */
export async function login(base, username, password, organizationId) {
  const { status, session: s } = await submitLogin(base, username, password);
  if (status !== 303) throw new Error(`Login of ${username} answered ${status}`);
  if (organizationId !== undefined) {
    const chooser = await s.get('/session/organization');
    const chosen = await s.post('/session/organization', { _csrf: csrfFrom(chooser.text), organizationId: String(organizationId), next: '/' });
    if (chosen.status !== 303) throw new Error(`${username} could not choose organization ${organizationId}: ${chosen.status}`);
  }
  return s;
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * The argon2id hashing floor of `count` hashes on this machine, measured now: the median time of
 * `samples` single-threaded `hashPassword` calls (the app's hash function and parameters), and
 * `count` × that ÷ the number of cores.
 */
export async function hashingFloor(count, samples = 50) {
  const { hashPassword } = dist('accounts/password-hasher.js');
  for (let i = 0; i < 3; i++) await hashPassword(`Warm-up-${i}`);
  const times = [];
  for (let i = 0; i < samples; i++) {
    const h0 = performance.now();
    await hashPassword(`Passw0rd-${i}`);
    times.push(performance.now() - h0);
  }
  const oneHashMs = median(times);
  return { oneHashMs, cores: cpus().length, floorMs: (count * oneHashMs) / cpus().length };
}

/** Prints rows (objects with the same keys) as an aligned text table. */
export function printTable(title, rows) {
  console.log(`\n${title}`);
  if (rows.length === 0) return console.log('(no rows)');
  const keys = Object.keys(rows[0]);
  const cells = [keys, ...rows.map((r) => keys.map((k) => String(r[k])))];
  const widths = keys.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  for (const [i, c] of cells.entries()) {
    console.log(c.map((v, j) => (j === 0 ? v.padEnd(widths[j]) : v.padStart(widths[j]))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

export function machine() {
  return `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}`;
}

/** Runs `main(work)` in a temporary folder that is removed afterwards, whatever happens. */
export async function run(name, main) {
  const work = workDir(name);
  try {
    await main(work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * CPU time (ms) used so far by the app process and by every process of the embedded PostgreSQL
 * cluster in `work` (its backends are the app's pooled connections, which live through a
 * measurement). `pg` is null with TEST_DATABASE_URL's server.
 */
export function cpu(pid, work) {
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

/**
 * Starts a bare Express + hbs server (bench/bare-server.mjs, a child process like Tessera) whose
 * page has `rows` items in about `bytes` bytes: `shape` 'table' is a table of ten cells a row
 * (a list page), 'tree' nested lists of `rows` nodes, three children each, rendered by a
 * recursive partial (the organization tree). Returns { base, bytes (the real size), stop() }.
 */
export async function startBare(work, { bytes, rows, shape = 'table' }) {
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, 'bench', 'bare-server.mjs'), String(port), String(bytes), String(rows), shape, join(work, `bare-${port}`)], {
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
 * The bare server itself (bench/bare-server.mjs calls it): Express + hbs with a layout and one
 * page of `rows` items, padded so the page has `bytes` bytes, rendered on every request from
 * fresh objects. The view cache is on (what NODE_ENV=production gives an Express app).
 */
export async function bareServer([port, bytes, rows, shape, dir]) {
  const express = require('express');
  const hbs = require('hbs');
  mkdirSync(join(dir, 'layouts'), { recursive: true });
  writeFileSync(
    join(dir, 'layouts', 'main.hbs'),
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{{title}}</title><link rel="stylesheet" href="/x.css"></head>\n<body><main>{{{body}}}</main></body></html>\n`,
  );
  const count = Number(rows);
  let filler = 0;
  let data;
  if (shape === 'tree') {
    // Short markup, so that the padding can bring it to the size of any real tree page.
    hbs.registerPartial('node', `<li><a href="/o/{{id}}">{{name}}</a> {{count}}{{filler}}{{#if children.length}}<ul>{{#each children}}{{> node}}{{/each}}</ul>{{/if}}</li>`);
    writeFileSync(join(dir, 'page.hbs'), `<h1>{{title}}</h1>\n<ul class="tree">{{#each roots}}{{> node}}{{/each}}</ul>\n`);
    data = () => {
      const nodes = Array.from({ length: count }, (_, i) => ({ id: 1000 + i, name: `D${i}`, count: i, filler: 'x'.repeat(filler), children: [] }));
      for (let i = 1; i < count; i++) nodes[Math.floor((i - 1) / 3)].children.push(nodes[i]);
      return { title: 'Organizations', roots: nodes.slice(0, 1) };
    };
  } else {
    writeFileSync(
      join(dir, 'page.hbs'),
      `<h1>{{title}}</h1>\n<table><thead><tr><th>Select</th><th>Username</th><th>Full name</th><th>E-mail</th><th>Organizations</th><th>Roles</th><th>Licence</th><th>Status</th><th>Last login</th><th>Filler</th></tr></thead>\n<tbody>\n` +
        `{{#each users}}<tr>\n<td><input type="checkbox" name="ids" value="{{id}}"></td><td><a href="/users/{{id}}">{{username}}</a></td><td>{{fullName}}</td><td>{{email}}</td>` +
        `<td>{{#each organizations}}{{this}}{{#unless @last}}, {{/unless}}{{/each}}</td><td>{{#each roles}}{{this}}{{#unless @last}}, {{/unless}}{{/each}}</td><td>{{licence}}</td>` +
        `<td>{{#if enabled}}Enabled{{else}}Disabled{{/if}}</td><td>{{lastLogin}}</td><td>{{filler}}</td>\n</tr>\n{{/each}}</tbody></table>\n`,
    );
    data = () => ({
      title: 'Users',
      users: Array.from({ length: count }, (_, i) => ({
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
  }
  const app = express();
  app.set('views', dir);
  app.set('view engine', 'hbs');
  app.set('view options', { layout: 'layouts/main' });
  app.set('view cache', true);
  app.disable('x-powered-by');
  // Pad the items so the whole page has the requested size.
  const render = (locals) => new Promise((resolve, reject) => app.render('page', locals, (e, html) => (e ? reject(e) : resolve(html))));
  const empty = Buffer.byteLength(await render(data()));
  filler = Math.max(0, Math.round((Number(bytes) - empty) / Math.max(1, count)));
  app.get('/', (_req, res) => res.render('page', data()));
  app.listen(Number(port), '127.0.0.1');
  process.once('SIGTERM', () => process.exit(0));
}
