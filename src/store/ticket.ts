import type { Entrance } from './entrance.js';
import { HeldQueue } from './held-queue.js';

/** A job the store keeps track of: held, retrying, or admitted and recorded. */
export interface Ticket<T> {
  readonly job: T;
  readonly key: string;
  readonly id: number;
  /** The `barrierEnter` subscription that admitted it and will re-emit it. */
  readonly entrance: Entrance<T>;
  /** Failed attempts so far. */
  failures: number;
  /**
   * Held again after it was admitted (handed back to wait, or back for its
   * retry): the job its key waits for, never what overflows.
   */
  returning: boolean;
}

/** A ticket for a job just arrived at `entrance`: no attempt failed yet. */
export function newTicket<T>(job: T, key: string, id: number, entrance: Entrance<T>): Ticket<T> {
  return { job, key, id, entrance, failures: 0, returning: false };
}

/** The store's bookkeeping for one key; deleted as soon as it is idle. */
export class KeyState<T> {
  /** Jobs held back, in job-id order. */
  readonly held = new HeldQueue<T>();
  /** Admitted jobs the store tracks individually, oldest first. */
  readonly running: Ticket<T>[] = [];
  /** Failed jobs waiting for their retry timer. */
  retrying = 0;
  paused = false;

  get idle(): boolean {
    return this.held.length === 0 && this.running.length === 0 && this.retrying === 0 && !this.paused;
  }

  /** Removes and returns the admitted ticket of `id`, if tracked. */
  takeRunning(id: number): Ticket<T> | undefined {
    const { running } = this;
    for (let i = 0; i < running.length; i++) {
      if (running[i]!.id === id) return running.splice(i, 1)[0];
    }
    return undefined;
  }

  /** Removes `ticket` from the admitted ones; false when it is not there (any more). */
  removeRunning(ticket: Ticket<T>): boolean {
    const at = this.running.indexOf(ticket);
    if (at < 0) return false;
    this.running.splice(at, 1);
    return true;
  }

  findRunning(id: number): Ticket<T> | undefined {
    return this.running.find((ticket) => ticket.id === id);
  }
}
