#!/usr/bin/env node
// Project rules that the type checker cannot see. Exits 1 and names every violation.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const problems = [];

function walk(dir, ext) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(path).isDirectory()) out.push(...walk(path, ext));
    else if (path.endsWith(ext)) out.push(path);
  }
  return out;
}

function check(files, test, message) {
  for (const file of files) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (test(line, file)) problems.push(`${relative(root, file)}:${i + 1}: ${message}`);
      });
  }
}

// Templates escape all data: `{{{ }}}` is only for the layout's body.
check(walk(join(root, 'views'), '.hbs'), (line) => /\{\{\{(?!\s*body\s*\}\}\})/.test(line), 'unescaped {{{ }}} output');

// No focused or skipped tests.
const tests = [...walk(join(root, 'test'), '.ts'), ...walk(join(root, 'src'), '.spec.ts')];
check(tests, (line) => /\b(it|describe|test)\.(only|skip)\(|\bx(it|describe)\(|\bf(it|describe)\(/.test(line), 'focused or skipped test');

// Configuration is read once: only src/config, src/main.ts and src/cli read process.env.
const allowedEnv = (file) => /src\/(config\/|main\.ts$|cli\/)/.test(file);
check(
  walk(join(root, 'src'), '.ts').filter((f) => !allowedEnv(f) && !f.endsWith('.spec.ts')),
  (line) => /process\.env\b/.test(line),
  'process.env read outside src/config (use AppConfig)',
);

// Raw SQL goes through an entity manager (`tx.execute`, `this.em.execute`), which joins the
// transaction the call runs in. A connection's `execute` takes a pool connection of its own: inside
// a transaction it runs outside it (no atomicity, no locks) and waits for a second connection while
// holding the first, which freezes a full pool. Allowed only where every statement is meant to
// commit on its own.
const ownConnectionAllowed = new Map([
  // Claims, lease renewals and releases of credential jobs commit at once so that other
  // instances see them; none of them runs inside a transaction.
  ['src/jobs/job-runner.ts', 'single-statement job claims and leases'],
  // Read-only statements of pages outside transactions; inside one it runs through `em.execute`.
  ['src/database/plain-query.ts', 'plainRows: reads outside transactions on a pooled connection'],
]);
check(
  walk(join(root, 'src'), '.ts').filter((f) => !f.endsWith('.spec.ts') && !ownConnectionAllowed.has(relative(root, f))),
  (line) => /\.getConnection\s*\(/.test(line),
  'getConnection(): run raw SQL with tx.execute(sql, params) or this.em.execute(sql, params)',
);

if (problems.length > 0) {
  console.error(`lint: ${problems.length} problem(s)\n${problems.join('\n')}`);
  process.exit(1);
}
console.log('lint: no problems');
