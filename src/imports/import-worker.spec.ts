import { availableParallelism } from 'node:os';
import * as hasher from '../accounts/password-hasher';
import type { AppConfig } from '../config/config';
import type { ImportUser } from './import-rules';
import { hashPasswords, ImportWorker } from './import-worker';

/** Passwords of an import: argon2id, a bounded number at a time, never for SSO users. */

const user = (i: number, password: string | null): ImportUser => ({
  rowNumber: i + 2,
  username: `u${i}`,
  firstName: null,
  lastName: null,
  fullName: `u${i}`,
  email: `u${i}@example.org`,
  mobile: null,
  password,
  provider: password === null ? 'azure' : 'local',
  externalId: password === null ? `x${i}` : null,
  roleIds: [],
  enabled: true,
  department: null,
  organizationIds: [1],
  licenceId: null,
  profileId: null,
  properties: [],
});

describe('hashPasswords', () => {
  let inFlight = 0;
  let mostInFlight = 0;
  let spy: jest.SpyInstance;

  beforeEach(() => {
    inFlight = 0;
    mostInFlight = 0;
    const real = hasher.hashPassword;
    spy = jest.spyOn(hasher, 'hashPassword').mockImplementation(async (password: string) => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      try {
        return await real(password);
      } finally {
        inFlight--;
      }
    });
  });
  afterEach(() => spy.mockRestore());

  it('hashes with argon2id (m=19456, t=2, p=1), never more than `concurrency` at a time, and skips SSO users', async () => {
    const users = Array.from({ length: 14 }, (_, i) => user(i, i % 5 === 4 ? null : `Passw0rd-${i}`));
    const progress: number[] = [];
    const hashes = await hashPasswords(users, 3, async (done) => {
      progress.push(done);
    });

    expect(mostInFlight).toBe(3);
    expect(spy).toHaveBeenCalledTimes(12);
    expect(progress.sort((a, b) => a - b)).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
    for (const [i, u] of users.entries()) {
      if (u.password === null) {
        expect(hashes[i]).toBeNull();
        continue;
      }
      expect(hashes[i]).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(await hasher.verifyPassword(hashes[i], u.password)).toBe(true);
      expect(await hasher.verifyPassword(hashes[i], `${u.password}x`)).toBe(false);
    }
  });

  it('hashes one at a time with a concurrency of 1 (or less)', async () => {
    await hashPasswords([user(1, 'Passw0rd-1'), user(2, 'Passw0rd-2'), user(3, 'Passw0rd-3')], 0, async () => undefined);
    expect(spy).toHaveBeenCalledTimes(3);
    expect(mostInFlight).toBe(1);
  });

  it('the worker hashes with one lane per core (never more, which would queue sign-ins behind it)', () => {
    const worker = new ImportWorker(null as never, null as never, { imports: { pollSeconds: 0 } } as AppConfig);
    expect(worker.hashConcurrency).toBe(Math.max(1, availableParallelism()));
  });
});
