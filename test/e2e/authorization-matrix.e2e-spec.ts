import { createTestApp, TestApp } from '../support/app';
import {
  MATRIX_ACTORS,
  MATRIX_CASES,
  MATRIX_PREFIXES,
  MatrixWorld,
  buildMatrixWorld,
  caseName,
  registeredRoutes,
  runCase,
} from '../support/authorization-matrix';

/**
 * SPEC §3 "Every rule is enforced on the server for every request": every route of the
 * organizations, users, settings and audit pages, called by every kind of actor on objects inside
 * and outside their subtree, answers the expected status; every refusal (with a valid CSRF token
 * of the actor's own session) leaves the database exactly as it was; every allowed change really
 * happens. The table lives in test/support/authorization-matrix.ts so later features add rows.
 */
jest.setTimeout(60_000);

describe('authorization matrix (SPEC §3)', () => {
  let t: TestApp;
  let world: MatrixWorld;

  beforeAll(async () => {
    t = await createTestApp();
    world = await buildMatrixWorld(t);
  });
  afterAll(async () => {
    await t.close();
  });

  it(`has a row for every route under ${MATRIX_PREFIXES.join(', ')}`, () => {
    const covered = new Set(MATRIX_CASES.map((c) => `${c.method} ${c.route}`));
    const missing = registeredRoutes(t, MATRIX_PREFIXES).filter((route) => !covered.has(route));
    expect(missing).toEqual([]);
    // And no row names a route the app does not have (a typo would pass as a 404).
    const registered = new Set(registeredRoutes(t, MATRIX_PREFIXES));
    expect([...covered].filter((route) => MATRIX_PREFIXES.some((p) => route.split(' ')[1].startsWith(p)) && !registered.has(route))).toEqual([]);
  });

  for (const actor of MATRIX_ACTORS) {
    describe(actor.label, () => {
      for (const c of MATRIX_CASES) {
        it(caseName(actor, c), async () => {
          await runCase(world, actor.key, c);
        });
      }
    });
  }
});
