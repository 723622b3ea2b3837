import { VersionedCache } from './versioned-cache';

describe('VersionedCache', () => {
  it('computes a value once per version and key', async () => {
    const cache = new VersionedCache<string>();
    let computed = 0;
    const compute = (v: string) => () => Promise.resolve(`${v}${++computed}`);
    expect(await cache.get(1, 'a', compute('a'))).toBe('a1');
    expect(await cache.get(1, 'a', compute('a'))).toBe('a1');
    expect(await cache.get(1, 'b', compute('b'))).toBe('b2');
    // A newer version drops what was kept.
    expect(await cache.get(2, 'a', compute('a'))).toBe('a3');
    expect(await cache.get(2, 'a', compute('a'))).toBe('a3');
  });

  it('does not keep what a request with an older version, or none, computes', async () => {
    const cache = new VersionedCache<number>();
    await cache.get(5, 'k', () => Promise.resolve(5));
    expect(await cache.get(4, 'k', () => Promise.resolve(4))).toBe(4);
    expect(await cache.get(null, 'k', () => Promise.resolve(0))).toBe(0);
    expect(await cache.get(5, 'k', () => Promise.resolve(-1))).toBe(5);
  });

  it('forgets a failed computation', async () => {
    const cache = new VersionedCache<number>();
    await expect(cache.get(1, 'k', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get(1, 'k', () => Promise.resolve(1))).toBe(1);
  });

  it('holds at most its number of entries', async () => {
    const cache = new VersionedCache<number>(2);
    let computed = 0;
    for (const key of ['a', 'b', 'c', 'a']) await cache.get(1, key, () => Promise.resolve(++computed));
    // 'c' cleared the full cache, so 'a' was computed again.
    expect(computed).toBe(4);
  });
});
