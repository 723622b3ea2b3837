import { Logger } from '@nestjs/common';
import { JobQueue, JobRunner } from './job-runner';

/**
 * The runner's own promises, on an in-memory queue (the claim, lease and release statements are
 * proven on PostgreSQL by the credential-dispatch, import-worker and two-instances tests).
 */
class MemoryQueue implements JobQueue<number, string, string> {
  readonly name = 'Memory';
  readonly batchSize = 3;
  readonly concurrency = 2;
  due: number[] = [];
  /** Jobs another instance took over: their renewal fails. */
  takenOver = new Set<number>();
  released: number[] = [];
  handled: number[] = [];
  batches = 0;
  onHandle: (job: number) => Promise<void> = async () => undefined;

  async claim(limit: number): Promise<number[]> {
    return this.due.splice(0, limit);
  }
  async renew(job: number): Promise<boolean> {
    return !this.takenOver.has(job);
  }
  async release(jobs: number[]): Promise<void> {
    this.released.push(...jobs);
  }
  async prepare(): Promise<string> {
    return `batch ${++this.batches}`;
  }
  async handle(job: number, batch: string): Promise<string> {
    await this.onHandle(job);
    this.handled.push(job);
    return `${job} in ${batch}`;
  }
}

const quiet = new Logger('test');
quiet.error = () => undefined;

describe('JobRunner', () => {
  it('claims batch after batch until none is left, skips jobs another instance took over, and stops at maxJobs', async () => {
    const queue = new MemoryQueue();
    queue.due = [1, 2, 3, 4, 5, 6, 7];
    queue.takenOver.add(2);
    const runner = new JobRunner(queue, quiet);
    const outcomes = await runner.run(6);
    expect(queue.handled.sort()).toEqual([1, 3, 4, 5, 6]);
    expect(outcomes).toHaveLength(5);
    expect(outcomes).toContain('4 in batch 2');
    expect(queue.due).toEqual([7]);
    expect(queue.batches).toBe(2);
  });

  it('a kick during a pass runs one more pass after it; stop() finishes the jobs in hand and hands the others back', async () => {
    const queue = new MemoryQueue();
    let unblock!: () => void;
    const blocked = new Promise<void>((resolve) => (unblock = resolve));
    let started = 0;
    queue.onHandle = async () => {
      started++;
      await blocked;
    };
    queue.due = [1, 2, 3];
    const runner = new JobRunner(queue, quiet);
    const pass = runner.kick();
    // Two lanes hold jobs 1 and 2; job 3 of the batch has not started.
    while (started < 2) await new Promise((resolve) => setImmediate(resolve));
    queue.due.push(4);
    expect(runner.kick()).toBe(pass);
    const stopping = runner.stop();
    unblock();
    await stopping;
    await pass;
    expect(queue.handled.sort()).toEqual([1, 2]);
    expect(queue.released).toEqual([3]);
    // Stopped: job 4 stays for another instance, and kicks do nothing.
    expect(queue.due).toEqual([4]);
    await runner.kick();
    expect(queue.due).toEqual([4]);
  });

  it('runs the pass a kick asked for while one was running', async () => {
    const queue = new MemoryQueue();
    const runner = new JobRunner(queue, quiet);
    queue.due = [1];
    const claim = queue.claim.bind(queue);
    let late = true;
    queue.claim = async (limit) => {
      const jobs = await claim(limit);
      if (jobs.length === 0 && late) {
        // A job arrives just after the pass found the queue empty, and its kick comes while the
        // pass is still running: only a second pass can see it.
        late = false;
        queue.due.push(2);
        void runner.kick();
      }
      return jobs;
    };
    await runner.kick();
    expect(queue.handled).toEqual([1, 2]);
  });

  it('logs a failed pass instead of rejecting the kick', async () => {
    const queue = new MemoryQueue();
    queue.claim = () => Promise.reject(new Error('database gone'));
    const logged: string[] = [];
    const logger = new Logger('test');
    logger.error = (message: unknown) => void logged.push(String(message));
    await new JobRunner(queue, logger).kick();
    expect(logged[0]).toMatch(/^Memory pass failed: Error: database gone/);
  });
});
