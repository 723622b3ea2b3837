/**
 * Values kept in memory under a version number that lives in the database (e.g.
 * `list_choices_version`, raised by every change of what the values are made of) and is read
 * with each request. A newer version drops everything kept; a request that read an older version
 * than the one kept (it started before a change) computes its value without keeping it. So an
 * instance never serves a value older than the version its request read, however many instances
 * change the data. A value is computed after its version was read, so it is at least that new.
 * Values are shared between requests: callers must not change them.
 */
export class VersionedCache<T> {
  private version = -Infinity;
  private readonly values = new Map<string, Promise<T>>();

  constructor(private readonly maxEntries = 1000) {}

  get(version: number | null | undefined, key: string, compute: () => Promise<T>): Promise<T> {
    if (version === null || version === undefined || version < this.version) return compute();
    if (version > this.version) {
      this.version = version;
      this.values.clear();
    }
    const kept = this.values.get(key);
    if (kept) return kept;
    if (this.values.size >= this.maxEntries) this.values.clear();
    const value = compute();
    this.values.set(key, value);
    // A failed computation is not kept.
    value.catch(() => {
      if (this.values.get(key) === value) this.values.delete(key);
    });
    return value;
  }
}
