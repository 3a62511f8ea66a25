import type { Subscriber, Subscription } from 'rxjs';
import type { Ticket } from './ticket.js';

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
  /** Held, retrying and tracked admitted jobs of this entrance. */
  tickets = 0;
  sourceDone = false;
  closed = false;
  /** Retry timers of its failed jobs: they belong to the entrance. */
  readonly retryTimers = new Map<Ticket<T>, Subscription>();

  constructor(readonly subscriber: Subscriber<T>) {}

  get outstanding(): number {
    return this.untracked + this.tickets;
  }
}
