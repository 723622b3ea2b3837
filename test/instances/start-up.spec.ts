import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { staleReason } from '../../scripts/build-if-stale.js';
import { createBlankDatabase, TestDatabase } from '../support/database';
import { freePort, sleep, spawnInstance } from './instance';

/**
 * README "Two commands": `npm start` builds only when dist is missing or older than a source
 * (scripts/build-if-stale.js, also used by this project's global setup), and the first start
 * shows the generated admin password last, framed, after the server listens, with Nest's
 * route mapping kept out of the default log level.
 */
describe('start-up', () => {
  describe('the build check of npm start', () => {
    let root: string;
    const at = (path: string, seconds: number) => utimesSync(join(root, path), seconds, seconds);

    beforeEach(() => {
      root = mkdtempSync(join(tmpdir(), 'tessera-build-check-'));
      for (const dir of ['src/users', 'migrations', 'dist/src']) mkdirSync(join(root, dir), { recursive: true });
      writeFileSync(join(root, 'src/users/users.service.ts'), '');
      writeFileSync(join(root, 'migrations/Migration1.ts'), '');
      writeFileSync(join(root, 'package.json'), '{}');
      writeFileSync(join(root, 'dist/src/main.js'), '');
      // Fixed times, so nothing depends on the clock or the file system's resolution.
      for (const path of ['src/users/users.service.ts', 'src/users', 'src', 'migrations/Migration1.ts', 'migrations', 'package.json']) at(path, 1_000);
      at('dist/src/main.js', 2_000);
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    it('builds nothing when dist is newer than every source', () => {
      expect(staleReason(root)).toBeNull();
    });

    it('builds when dist is missing', () => {
      rmSync(join(root, 'dist'), { recursive: true });
      expect(staleReason(root)).toBe('dist/src/main.js is missing');
    });

    it('builds when a source, a migration or package.json changed after the build', () => {
      at('src/users/users.service.ts', 3_000);
      expect(staleReason(root)).toBe('src/users/users.service.ts is newer than dist');
      at('src/users/users.service.ts', 1_000);
      at('migrations/Migration1.ts', 3_000);
      expect(staleReason(root)).toBe('migrations/Migration1.ts is newer than dist');
      at('migrations/Migration1.ts', 1_000);
      at('package.json', 3_000);
      expect(staleReason(root)).toBe('package.json is newer than dist');
    });

    it('builds when a source was deleted (its folder changed)', () => {
      at('src/users', 3_000);
      expect(staleReason(root)).toBe('src/users is newer than dist');
    });

    it('ignores views and public: they are read at run time, not built', () => {
      mkdirSync(join(root, 'views'));
      writeFileSync(join(root, 'views/page.hbs'), '');
      at('views/page.hbs', 3_000);
      expect(staleReason(root)).toBeNull();
    });
  });

  describe('the first start', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createBlankDatabase();
    });
    afterAll(async () => {
      await db?.drop();
    });

    it('prints the generated admin password last, framed, after "listening", without the route mapping', async () => {
      const instance = spawnInstance('first-start', await freePort(), { DATABASE_URL: db.url, SCHEDULER: 'off', IMPORT_POLL_SECONDS: '0' });
      try {
        await instance.ready();
        // The notice follows the "listening" line at once; wait for its closing border.
        for (let i = 0; i < 100 && !/password: \S+[\s\S]*\+-+\+\s*$/.test(instance.output()); i++) await sleep(100);
      } finally {
        const stopped = await instance.stop();
        expect(stopped.killed).toBe(false);
      }
      const output = instance.output();
      const lines = output.split('\n').map((l) => l.trimEnd());
      const listening = lines.findIndex((l) => /listening on port/.test(l));
      const passwordLine = lines.findIndex((l) => /^\| +password: \S+ +\|$/.test(l));
      expect(listening).toBeGreaterThanOrEqual(0);
      expect(passwordLine).toBeGreaterThan(listening);
      // Framed: a border above and below, and only the frame and the shutdown after it.
      const frame = lines.slice(listening + 1).filter((l) => l !== '');
      expect(frame[0]).toMatch(/^\+-+\+$/);
      const end = frame.findIndex((l, i) => i > 0 && /^\+-+\+$/.test(l));
      expect(frame.slice(0, end + 1).every((l) => /^[+|]/.test(l))).toBe(true);
      expect(frame.slice(end + 1).every((l) => /SIGTERM received|stopping|Connection terminated/.test(l))).toBe(true);
      expect(frame.join('\n')).toMatch(/username: admin/);
      // Nest's module and route lines are debug output now.
      expect(output).not.toMatch(/RoutesResolver|RouterExplorer|Mapped \{|InstanceLoader/);
    });
  });
});
