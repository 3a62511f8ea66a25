/**
 * Deliveries in flight in one process, over all its partitions (each
 * partition's `orderedDelivery` has its own limit; this one is shared).
 * First come, first served.
 *
 * @example
 * const slots = new DeliverySlots(64);
 * const cancel = slots.acquire((release) => send().finally(release));
 */
export class DeliverySlots {
  private free: number;
  private readonly waiting = new Set<(release: () => void) => void>();

  constructor(readonly size: number) {
    this.free = size;
  }

  /** Calls `start` with a release function once a slot is free; returns a function that cancels the wait. */
  acquire(start: (release: () => void) => void): () => void {
    if (this.free > 0) {
      this.free--;
      start(this.releaser());
      return () => {};
    }
    this.waiting.add(start);
    return () => this.waiting.delete(start);
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.values().next();
      if (next.done === true) {
        this.free++;
        return;
      }
      this.waiting.delete(next.value);
      next.value(this.releaser());
    };
  }
}
