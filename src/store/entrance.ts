import type { Subscriber } from 'rxjs';
import { RecordedLog } from './recorded-log.js';
import type { RetryPolicy } from './retry.js';

/**
 * One subscription of `barrierEnter`. Every job it admits remembers it, and
 * jobs handed back (waiting, failed) are re-emitted through it.
 */
export class Entrance<T> {
  /**
   * Admitted jobs the barrier recorded nothing for and the store keeps no
   * ticket of: counted, not tracked, so the no-record path allocates nothing.
   */
  untracked = 0;
  /** Its untracked jobs the barrier did record: `leave`s for them when it closes. */
  readonly recorded = new RecordedLog();
  /** Held, retrying and tracked admitted jobs of this entrance. */
  tickets = 0;
  sourceDone = false;
  closed = false;

  constructor(
    readonly subscriber: Subscriber<T>,
    /** How its failed jobs are retried: the store's policy, or its pipeline's (orderedDelivery's options). */
    readonly retry: RetryPolicy,
  ) {}

  get outstanding(): number {
    return this.untracked + this.tickets;
  }
}
