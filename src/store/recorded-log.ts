/**
 * The untracked jobs of one entrance that the barrier recorded (in a key's
 * running or draining set, with `keyThreshold` or while draining): keys and
 * ids in admission order, so that closing the entrance can `leave` the ones
 * still unfinished. No object per job, only two parallel arrays.
 *
 * Jobs mostly finish in admission order, so a finished job is usually the
 * oldest entry and goes in O(1) (`finished`). The others are swept out
 * whenever the log has doubled since the last sweep (amortised O(1) per job),
 * by asking whether the barrier still tracks them.
 */
export class RecordedLog {
  // Entries are the slots head..tail-1; slots past tail are stale, and
  // overwritten by the next adds.
  private keys: string[] = [];
  private ids: number[] = [];
  private head = 0;
  private tail = 0;
  private sweepAt = 64;

  get size(): number {
    return this.tail - this.head;
  }

  /** Logs a job; `stillTracked` decides, at a sweep, which older entries stay. */
  add(key: string, id: number, stillTracked: (key: string, id: number) => boolean): void {
    const { tail } = this;
    // At most one past the end: the arrays stay packed.
    this.keys[tail] = key;
    this.ids[tail] = id;
    this.tail = tail + 1;
    if (tail + 1 >= this.sweepAt) this.sweep(stillTracked);
  }

  /** A logged job finished: forgotten now when it is the oldest entry (else at a sweep). */
  finished(key: string, id: number): void {
    const { head } = this;
    if (head === this.tail || this.keys[head] !== key || this.ids[head] !== id) return;
    if (head + 1 === this.tail) this.clear();
    else this.head = head + 1;
  }

  /** Every job still logged, oldest first; then the log is empty. */
  drain(each: (key: string, id: number) => void): void {
    for (let i = this.head; i < this.tail; i++) each(this.keys[i]!, this.ids[i]!);
    this.clear();
  }

  clear(): void {
    // Called whenever an entrance's untracked count drops to 0, once per job
    // in a synchronous pipeline: the arrays are kept for the next adds (not
    // two new arrays and their backing stores per job), unless a burst grew
    // them past KEPT_SLOTS.
    this.head = 0;
    this.tail = 0;
    this.sweepAt = 64;
    if (this.keys.length > KEPT_SLOTS) {
      this.keys = [];
      this.ids = [];
    }
  }

  private sweep(stillTracked: (key: string, id: number) => boolean): void {
    const { keys, ids } = this;
    let kept = 0;
    for (let i = this.head; i < this.tail; i++) {
      if (!stillTracked(keys[i]!, ids[i]!)) continue;
      keys[kept] = keys[i]!;
      ids[kept++] = ids[i]!;
    }
    keys.length = kept;
    ids.length = kept;
    this.head = 0;
    this.tail = kept;
    this.sweepAt = 2 * kept + 64;
  }
}

/** Slots a cleared log keeps: what a pipeline of modest concurrency fills. */
const KEPT_SLOTS = 256;
