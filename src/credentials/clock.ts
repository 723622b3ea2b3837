import { Injectable } from '@nestjs/common';

/**
 * The time as the credential scheduler sees it. Production uses the system clock; tests and
 * benchmarks move it forward (`advance`) to reach due dates and retry back-offs without waiting.
 */
@Injectable()
export class Clock {
  private offsetMs = 0;

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  /** Moves this process's clock forward (tests only). */
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
