import { createTestApp, TestApp } from '../support/app';

/**
 * The probe every test app carries (`TestApp.transactions()`, checked again by `close()`): it must
 * see a statement that leaves its transaction's connection, and only such statements — otherwise
 * the guard of every e2e test file would pass without looking.
 */
describe('the transaction probe of the test apps', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
    await t.transactions();
  });
  afterAll(async () => {
    await t.close();
  });

  it("reports a statement sent to the pool inside a transaction, with both backends, and nothing that ran on the transaction's connection", async () => {
    const pids = await t.em().transactional(async (tx) => {
      const [inside]: { pid: number; txid: string }[] = await tx.execute('select pg_backend_pid() as pid, txid_current()::text as txid');
      const [outside]: { pid: number; txid: string }[] = await tx.getConnection().execute('select pg_backend_pid() as pid, txid_current()::text as txid');
      return { inside, outside };
    });
    // What the probe stands for: the second statement ran on another backend, in another transaction.
    expect(pids.outside.pid).not.toBe(pids.inside.pid);
    expect(pids.outside.txid).not.toBe(pids.inside.txid);

    const report = await t.transactions();
    expect(report.transactions).toBe(1);
    expect(report.strays).toEqual([
      { sql: 'select pg_backend_pid() as pid, txid_current()::text as txid', transactionBackend: pids.inside.pid, ranOnBackend: pids.outside.pid },
    ]);
  });

  it('follows the entity manager a helper is handed, and nested transactions (savepoints)', async () => {
    const outer = t.em();
    await outer.transactional(async (tx) => {
      await tx.execute('select 1 as ok');
      await tx.transactional(async (nested) => {
        await nested.execute('select 2 as ok');
        await outer.getConnection().execute('select 3 as ok');
      });
      await tx.execute('select 4 as ok');
    });
    const report = await t.transactions();
    expect(report.strays.map((s) => s.sql)).toEqual(['select 3 as ok']);
  });

  it('ignores statements outside transactions, also while a transaction of someone else is open', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const open = t.em().transactional(async (tx) => {
      await tx.execute('select 1 as ok');
      await held;
    });
    // Another caller's own statements on the pool, while that transaction holds a connection.
    await t.em().execute('select 2 as ok');
    await t.em().getConnection().execute('select 3 as ok');
    release();
    await open;
    expect((await t.transactions()).strays).toEqual([]);
  });
});
