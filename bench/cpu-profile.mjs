// Summaries of V8 CPU profiles (.cpuprofile, from `node --cpu-prof` or node:inspector): the
// main thread's time by the package its code lives in, by the nearest package on the stack (node's
// and V8's work counted for the package that asked for it), the heaviest functions and inclusive
// times. Used by bench/profile-users-list.mjs and bench/credential-mail.mjs --profile.
import { Session } from 'node:inspector/promises';

/** Where a frame's code lives: a package, node's own code, Tessera, or V8's pseudo-frames. */
function categoryOf(frame) {
  const url = frame.url;
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (url.startsWith('node:')) return 'node core';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.includes('/dist/src/')) return 'Tessera';
  return url;
}

/** Packages grouped by what they do for a page. */
function groupOf(pkg) {
  if (['pg', 'pg-protocol', 'pg-pool', 'pg-types', 'postgres-array', 'postgres-date', 'pg-connection-string', 'tarn', 'knex', 'connect-pg-simple'].includes(pkg)) return `database client: ${pkg}`;
  if (pkg.startsWith('@mikro-orm/')) return `database client: ${pkg}`;
  if (['handlebars', 'hbs'].includes(pkg)) return `rendering: ${pkg}`;
  return pkg;
}

/**
 * Prints the summary of the samples of `profile` taken between `from` and `to` (the profile's
 * clock, µs; the whole profile by default), with the busy time per `unit` for `units` of them.
 */
export function summarise(profile, from = profile.startTime, to = profile.endTime, requests = 1, unit = 'page') {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  let clock = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    clock += profile.timeDeltas[i] ?? 0;
    if (clock < from || clock > to) continue;
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  let total = 0;
  for (const v of self.values()) total += v;
  const pct = (v) => `${((v / total) * 100).toFixed(1)} %`;
  const msOf = (v) => `${(v / 1000).toFixed(0)} ms`;
  const label = (f) => `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\/src\//, 'src/')}:${f.lineNumber + 1}`;

  const categories = new Map();
  const owners = new Map();
  const selfFn = new Map();
  const inclusive = new Map();
  for (const [id, t] of self) {
    const f = byId.get(id).callFrame;
    const c = categoryOf(f);
    categories.set(c, (categories.get(c) ?? 0) + t);
    // The nearest package (or Tessera) on the stack owns node's and V8's work done for it.
    let owner = c.startsWith('(') && c !== '(native)' ? c : null;
    for (let p = id; owner === null && p !== undefined; p = parent.get(p)) {
      const pc = categoryOf(byId.get(p).callFrame);
      if (pc !== 'node core' && pc !== '(native)' && !pc.startsWith('(')) owner = pc;
    }
    owner = groupOf(owner ?? 'node core (no package on the stack)');
    owners.set(owner, (owners.get(owner) ?? 0) + t);
    selfFn.set(label(f), (selfFn.get(label(f)) ?? 0) + t);
    const seen = new Set();
    for (let p = id; p !== undefined; p = parent.get(p)) {
      const l = label(byId.get(p).callFrame);
      if (!seen.has(l)) inclusive.set(l, (inclusive.get(l) ?? 0) + t);
      seen.add(l);
    }
  }
  const top = (m, k, filter = () => true) =>
    [...m]
      .filter(([l]) => filter(l))
      .sort((a, b) => b[1] - a[1])
      .slice(0, k);
  const idle = categories.get('(idle)') ?? 0;
  console.log(`\nMain thread during the run: ${msOf(total)} sampled, ${msOf(total - idle)} busy: ${((total - idle) / 1000 / requests).toFixed(2)} ms a ${unit} (with the profiler's own cost)`);
  console.log('\nSelf time by where the code lives');
  for (const [c, t] of top(categories, 25)) console.log(`  ${pct(t).padStart(7)}  ${msOf(t).padStart(8)}  ${c}`);
  console.log('\nBy the nearest package on the stack (node and V8 work counted for the package that asked for it)');
  for (const [c, t] of top(owners, 25)) console.log(`  ${pct(t).padStart(7)}  ${msOf(t).padStart(8)}  ${((t - 0) / 1000 / requests).toFixed(2).padStart(6)} ms/${unit}  ${c}`);
  console.log('\nHeaviest functions, self time');
  for (const [l, t] of top(selfFn, 30)) console.log(`  ${pct(t).padStart(7)}  ${l}`);
  console.log('\nInclusive time, packages and Tessera (top 60)');
  for (const [l, t] of top(inclusive, 60, (l) => !l.startsWith('(') && !/^\S+ node:/.test(l))) console.log(`  ${pct(t).padStart(7)}  ${l}`);
}

/** Profiles this process's main thread while `work` runs; returns [its result, the profile]. */
export async function profiled(work) {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    const result = await work();
    const { profile } = await session.post('Profiler.stop');
    return [result, profile];
  } finally {
    session.disconnect();
  }
}
