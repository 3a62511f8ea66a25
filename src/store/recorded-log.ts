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
  private keys: string[] = [];
  private ids: number[] = [];
  private head = 0;
  private sweepAt = 64;

  get size(): number {
    return this.keys.length - this.head;
  }

  /** Logs a job; `stillTracked` decides, at a sweep, which older entries stay. */
  add(key: string, id: number, stillTracked: (key: string, id: number) => boolean): void {
    this.keys.push(key);
    this.ids.push(id);
    if (this.keys.length >= this.sweepAt) this.sweep(stillTracked);
  }

  /** A logged job finished: forgotten now when it is the oldest entry (else at a sweep). */
  finished(key: string, id: number): void {
    const { head } = this;
    if (head === this.keys.length || this.keys[head] !== key || this.ids[head] !== id) return;
    if (head + 1 === this.keys.length) this.clear();
    else this.head = head + 1;
  }

  /** Every job still logged, oldest first; then the log is empty. */
  drain(each: (key: string, id: number) => void): void {
    for (let i = this.head; i < this.keys.length; i++) each(this.keys[i]!, this.ids[i]!);
    this.clear();
  }

  clear(): void {
    // Called whenever an entrance's untracked count drops to 0, once per job
    // in a synchronous pipeline: an empty log keeps its arrays.
    if (this.keys.length === 0) return;
    this.keys = [];
    this.ids = [];
    this.head = 0;
    this.sweepAt = 64;
  }

  private sweep(stillTracked: (key: string, id: number) => boolean): void {
    const { keys, ids } = this;
    let kept = 0;
    for (let i = this.head; i < keys.length; i++) {
      if (!stillTracked(keys[i]!, ids[i]!)) continue;
      keys[kept] = keys[i]!;
      ids[kept++] = ids[i]!;
    }
    keys.length = kept;
    ids.length = kept;
    this.head = 0;
    this.sweepAt = 2 * kept + 64;
  }
}
