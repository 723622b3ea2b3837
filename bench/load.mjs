// Load-generation helpers of the HTTP benchmarks (users-list, organizations, login): autocannon
// runs where every connection carries its own signed-in session cookie, latency percentiles
// from every single response (autocannon's own summary has no p95), medians over several runs,
// the load average, and met / missed verdicts. Builds on lib.mjs, which it does not change.
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { cpu, median, percentile, sleep } from './lib.mjs';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');

/** The 1, 5 and 15 minute load averages, e.g. "2.10 / 1.75 / 1.20". */
export function load() {
  return loadavg()
    .map((v) => v.toFixed(2))
    .join(' / ');
}

/**
 * One autocannon run of `seconds` against `url` with `connections` connections; connection i
 * sends `cookies[i % cookies.length]` (pass as many cookies as connections for distinct
 * sessions). Returns { rps, p50, p95, p99, requests, errors, non200 }, latencies in ms.
 */
export async function loadRun(url, { cookies = [], connections = 20, seconds = 10, expectStatus = 200 } = {}) {
  const latencies = [];
  let next = 0;
  const statuses = new Map();
  const instance = autocannon({
    url,
    connections,
    duration: seconds,
    timeout: 30,
    // setupClient is called once per connection: each one gets its own session.
    setupClient: (client) => {
      if (cookies.length) client.setHeaders({ cookie: cookies[next++ % cookies.length] });
    },
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    if (status === expectStatus) latencies.push(ms);
  });
  const result = await instance;
  latencies.sort((a, b) => a - b);
  const wrong = [...statuses].filter(([s]) => s !== expectStatus).reduce((n, [, c]) => n + c, 0);
  return {
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    requests: latencies.length,
    errors: result.errors + result.timeouts,
    wrongStatus: wrong ? Object.fromEntries([...statuses].filter(([s]) => s !== expectStatus)) : null,
  };
}

/**
 * A short warm-up, then `runs` runs of `seconds`; returns the median of each figure and the
 * individual runs' req/s. Throws when a response had another status than expected.
 */
export async function measure(url, { runs = 3, seconds = 10, warmup = 2, ...options } = {}) {
  const warm = warmup ? await loadRun(url, { ...options, seconds: warmup }) : { requests: 0 };
  const results = [];
  for (let i = 0; i < runs; i++) {
    const r = await loadRun(url, { ...options, seconds });
    if (r.wrongStatus) throw new Error(`${url}: unexpected statuses ${JSON.stringify(r.wrongStatus)}`);
    results.push(r);
    await sleep(200);
  }
  return {
    rps: median(results.map((r) => r.rps)),
    p50: median(results.map((r) => r.p50)),
    p95: median(results.map((r) => r.p95)),
    p99: median(results.map((r) => r.p99)),
    errors: results.reduce((n, r) => n + r.errors, 0),
    runs: results.map((r) => Math.round(r.rps)).join(' / '),
    // Every response with the expected status, warm-up included (for CPU per request).
    served: warm.requests + results.reduce((n, r) => n + r.requests, 0),
    load: load(),
  };
}

/**
 * `measure` against a Tessera process (`app` from startApp, its database cluster in `work`), with
 * the CPU time per request of the app and of PostgreSQL over all requests of the warm-up and the
 * runs, which queueing on a busy machine does not inflate the way it does latencies. Returns the
 * measurement with `nodeMs`, `pgMs` and `columns`: the table columns every HTTP script prints.
 */
export async function measureApp(app, work, url, options) {
  const cpu0 = cpu(app.pid, work);
  const r = await measure(url, options);
  const cpu1 = cpu(app.pid, work);
  const nodeMs = (cpu1.node - cpu0.node) / r.served;
  const pgMs = cpu0.pg === null ? NaN : (cpu1.pg - cpu0.pg) / r.served;
  const columns = { 'req/s': rate(r.rps), p50: ms(r.p50), p95: ms(r.p95), p99: ms(r.p99), 'runs req/s': r.runs, 'node CPU ms/req': ms(nodeMs), 'pg CPU ms/req': ms(pgMs) };
  return { ...r, nodeMs, pgMs, columns };
}

/** "met" or "MISSED" for a figure against a target. */
export function verdict(ok) {
  return ok ? 'met' : 'MISSED';
}

export const ms = (v) => (Number.isFinite(v) ? v.toFixed(1) : String(v));
export const rate = (v) => (Number.isFinite(v) ? v.toFixed(0) : String(v));
