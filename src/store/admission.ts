import type { Entrance } from './entrance.js';

/** Marks a source's completion among deferred arrivals. */
export const SOURCE_DONE: unique symbol = Symbol('source done');

/**
 * Admission order: one admission or release at a time. User code that runs
 * meanwhile (an events$ or pressure$ handler, a subscriber downstream) may
 * push a job into a source; admitting it at once would let it overtake the
 * job being admitted or released. It waits in arrival order and goes next.
 */
export class AdmissionGate<T> {
  private busy = false;
  private readonly deferred: { entrance: Entrance<T>; job: T | typeof SOURCE_DONE }[] = [];

  /** Whether an admission or release is running: arrivals must `defer`. */
  get closed(): boolean {
    return this.busy;
  }

  defer(entrance: Entrance<T>, job: T | typeof SOURCE_DONE): void {
    this.deferred.push({ entrance, job });
  }

  /** Closes the gate for one admission or release; `open` it after, also when the step throws. */
  close(): void {
    this.busy = true;
  }

  /**
   * Opens the gate after a step, letting in the arrivals deferred meanwhile
   * through `arrive`, in their order. `failing`: the entrance whose step
   * threw; the rest of its arrivals are dropped with it (the entrance
   * errors, as at any bad job).
   */
  open(failing: Entrance<T> | undefined, arrive: (entrance: Entrance<T>, job: T | typeof SOURCE_DONE) => void): void {
    if (this.deferred.length === 0) this.busy = false;
    else this.drain(failing, arrive);
  }

  /** Runs `step` with the gate closed (at once when it is closed already), then opens it. */
  pass(step: () => void, arrive: (entrance: Entrance<T>, job: T | typeof SOURCE_DONE) => void): void {
    if (this.busy) return step();
    this.close();
    try {
      step();
    } catch (error) {
      this.open(undefined, arrive);
      throw error;
    }
    this.open(undefined, arrive);
  }

  /** Lets the deferred arrivals in, in their order, skipping those of `failed` or closed entrances. */
  private drain(failed: Entrance<T> | undefined, arrive: (entrance: Entrance<T>, job: T | typeof SOURCE_DONE) => void): void {
    const deferred = this.deferred;
    try {
      for (let i = 0; i < deferred.length; i++) {
        const { entrance, job } = deferred[i]!;
        if (entrance === failed || entrance.closed) continue;
        try {
          arrive(entrance, job);
        } catch (error) {
          failed = entrance;
          entrance.subscriber.error(error);
        }
      }
    } finally {
      deferred.length = 0;
      this.busy = false;
    }
  }
}
