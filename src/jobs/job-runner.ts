import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '@nestjs/common';

/**
 * Background jobs that any number of instances share through one table per kind of job (credential
 * mails, imports; directory sync and scheduled imports next). A kind of job supplies a `JobQueue`:
 * its claim query, lease renewal, release and handler; a `JobRunner` drives it. The clock is not
 * here: `@nestjs/schedule` cron (or a poll interval, or a user's action) calls `kick()`.
 *
 * What a runner guarantees, given a queue whose statements keep to the rules below:
 * - **One holder per job.** `claim` takes due rows with `FOR UPDATE SKIP LOCKED` and sets a lease
 *   in one statement run by `executeAlone`, which commits at once: two instances never claim the
 *   same row, and each sees the other's claims immediately.
 * - **A dead holder's claim is taken over** once its lease ran out: the claim query treats a row
 *   whose lease ended as due again. A long job keeps its lease by renewing it as it goes (the
 *   handler's business); counting claims on the row lets a queue give up on a job that keeps
 *   killing its holder instead of passing it from instance to instance forever.
 * - **A claimed batch is re-checked job by job.** Before a job of a batch starts, `renew` extends
 *   its lease; when it answers `false` (another instance took the job over while earlier jobs of
 *   the batch ran) the job is left to that instance.
 * - **Clean shutdown.** `stop()` starts no new job, lets the jobs in hand finish, hands the claimed
 *   jobs not started back at once (`release`) so that no other instance waits for their lease, and
 *   resolves when this process is idle.
 * - **One pass per process at a time.** A `kick()` during a pass makes the pass run once more after
 *   it, so work that arrived meanwhile is not left to the next tick.
 */
export interface JobQueue<Job, Outcome, Batch = void> {
  /** Names the kind of job in the log. */
  readonly name: string;
  /** Jobs claimed at once (one statement). */
  readonly batchSize: number;
  /** Jobs of a batch run at the same time. */
  readonly concurrency: number;
  /** Claims up to `limit` due jobs and leases them (one statement, committed at once). */
  claim(limit: number): Promise<Job[]>;
  /** Extends the lease of a claimed job about to start; `false`: another instance holds it now. */
  renew?(job: Job): Promise<boolean>;
  /** Hands claimed jobs that were never started back (shutdown). */
  release?(jobs: Job[]): Promise<void>;
  /** Work once per pass, before the first claim (housekeeping). */
  beforePass?(): Promise<void>;
  /** Read once per claimed batch and handed to each of its jobs (settings, say). */
  prepare?(): Promise<Batch>;
  /** Runs one job to its end, recording success or failure on its row. */
  handle(job: Job, batch: Batch): Promise<Outcome>;
}

export class JobRunner<Job, Outcome, Batch = void> {
  private running: Promise<void> | null = null;
  private again = false;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly queue: JobQueue<Job, Outcome, Batch>,
    private readonly logger: Logger,
  ) {}

  /** Kicks every `seconds` (0: never), without keeping the process alive. */
  poll(seconds: number): void {
    if (seconds <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.kick(), seconds * 1000);
    this.timer.unref();
  }

  /**
   * Starts a pass in the background; a kick while a pass runs makes it run once more. The promise
   * settles when this process is idle again (a failed pass is logged, never rejected).
   */
  kick(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.run();
        } catch (error) {
          this.logger.error(`${this.queue.name} pass failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        }
      } while (this.again && !this.stopping);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Resolves when no kicked pass is running in this process. */
  whenIdle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  /** No new job; the jobs in hand finish, the claimed ones not started go back. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.whenIdle();
  }

  /** Claims and runs due jobs until none is left (or `maxJobs` were handled); the outcomes in order of completion. */
  async run(maxJobs = Number.POSITIVE_INFINITY): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    if (this.queue.beforePass) await this.queue.beforePass();
    let handled = 0;
    while (handled < maxJobs && !this.stopping) {
      const jobs = await this.queue.claim(Math.min(this.queue.batchSize, maxJobs - handled));
      if (jobs.length === 0) break;
      handled += jobs.length;
      const batch = (this.queue.prepare ? await this.queue.prepare() : undefined) as Batch;
      let next = 0;
      const lane = async () => {
        while (next < jobs.length && !this.stopping) {
          const job = jobs[next++];
          if (this.queue.renew && !(await this.queue.renew(job))) continue;
          outcomes.push(await this.queue.handle(job, batch));
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.queue.concurrency, jobs.length) }, lane));
      if (next < jobs.length && this.queue.release) await this.queue.release(jobs.slice(next));
    }
    return outcomes;
  }
}

/**
 * Runs one statement on a pool connection of its own, outside any transaction, so that it commits
 * at once: claims, lease renewals and releases, which other instances must see while this one is
 * still working. Never call it inside `em.transactional` for a statement that belongs to the
 * transaction.
 */
export function executeAlone<T = unknown>(em: EntityManager, sql: string, params: unknown[] = []): Promise<T> {
  return em.getConnection().execute(sql, params) as Promise<T>;
}
