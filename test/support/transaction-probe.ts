import { TransactionContext } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/postgresql';

/** A statement that ran on another pool connection than the open transaction it was issued in. */
export interface StrayStatement {
  sql: string;
  /** The backend (`pg_backend_pid()`) holding the transaction. */
  transactionBackend: number;
  /** The backend the statement ran on instead. */
  ranOnBackend: number;
}

export interface ProbeReport {
  /** Transactions begun on the pool since the last report. */
  transactions: number;
  strays: StrayStatement[];
}

interface PgClient {
  processID: number;
  query(config: unknown, ...rest: unknown[]): unknown;
}

/** The knex transaction MikroORM keeps as an entity manager's transaction context. */
interface KnexTransaction {
  isCompleted(): boolean;
  client: { acquireConnection(): Promise<PgClient> };
}

interface Observed {
  sql: string;
  ranOn: PgClient;
  transactionConnection: Promise<PgClient>;
}

let observed: Observed[] = [];
let begun = 0;
const patched = new WeakSet<object>();

/**
 * Watches every statement of the app's connection pool and reports the ones issued inside an
 * `em.transactional(...)` callback that did not run on the connection holding its transaction
 * (`tx.getConnection().execute(...)`, an outer entity manager's connection, a helper handed the
 * wrong `em`…). Such a statement is outside the transaction — neither atomic with it nor under
 * its locks — and waits for a second pool connection while holding the first, which deadlocks
 * a full pool. The transaction a statement belongs to is the one MikroORM's `TransactionContext`
 * (async local storage) holds where the statement was issued, so statements of concurrent
 * requests and background jobs are told apart without timing.
 *
 * Patches the `query` of the pg `Client` class the ORM's pool uses (once per test file: jest
 * gives every file its own module registry).
 */
export function installTransactionProbe(orm: MikroORM): { report(): Promise<ProbeReport> } {
  const driver = (orm.em.getConnection().getKnex().client as unknown as { driver: { Client: { prototype: PgClient } } }).driver;
  const proto = driver.Client.prototype;
  if (!patched.has(proto)) {
    patched.add(proto);
    const original = proto.query;
    proto.query = function (this: PgClient, config: unknown, ...rest: unknown[]) {
      const sql = typeof config === 'string' ? config : ((config as { text?: string } | null)?.text ?? '');
      if (/^\s*begin\b/i.test(sql)) begun += 1;
      const trx = TransactionContext.currentTransactionContext()?.em.getTransactionContext<KnexTransaction>();
      if (trx && typeof trx.isCompleted === 'function' && !trx.isCompleted()) {
        observed.push({ sql, ranOn: this, transactionConnection: trx.client.acquireConnection() });
      }
      return original.call(this, config, ...rest);
    };
  }
  return {
    /** What ran since the last report (or since the probe was installed). */
    async report(): Promise<ProbeReport> {
      const taken = observed;
      const transactions = begun;
      observed = [];
      begun = 0;
      const strays: StrayStatement[] = [];
      for (const o of taken) {
        const holder = await o.transactionConnection;
        if (holder !== o.ranOn) strays.push({ sql: o.sql.replace(/\s+/g, ' ').trim().slice(0, 160), transactionBackend: holder.processID, ranOnBackend: o.ranOn.processID });
      }
      return { transactions, strays };
    },
  };
}

/** The strays as lines for an error message. */
export function describeStrays(strays: StrayStatement[]): string {
  return strays.map((s) => `  backend ${s.ranOnBackend} instead of ${s.transactionBackend}: ${s.sql}`).join('\n');
}
