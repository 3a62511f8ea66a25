import { failedJobOf, recordOf, type Entry, type KeyRecord } from './key-record.js';
import { KEY_SLOTS, slotOf } from './key-slot.js';

/** Past this many entries the filter answers "maybe" for almost every key. */
const SATURATED = KEY_SLOTS / 2;

/** Idle records kept at most; past this, all of them are deleted at once. */
const IDLE_LIMIT = 16_384;

/**
 * The barrier's records by key: a `Map` with three things in front of it,
 * each for a workload of the benchmark suite.
 *
 * - A counting presence filter. A lookup that misses costs several times more
 *   on a map holding a few records than on an empty one (the CPU cannot
 *   predict whether a bucket is empty); a zero count in the key's slot proves
 *   there is no entry without asking the map.
 * - The last lookup, remembered (a miss the filter proved included):
 *   `enter`, `wait` and `stateChanged` of one job ask for the same key in a
 *   row.
 * - Idle records. While every job makes a record (`keyThreshold > 0` and the
 *   barrier's running log full, or `orderingDisabled`), deleting each at its
 *   sync made V8 grow and shrink the map's table a dozen times per hundred
 *   jobs. A retired record then stays in the map, idle, for the key's next
 *   job (the barrier decides, see `retire`); idle records read as none
 *   everywhere and are deleted together once there are `IDLE_LIMIT` of them
 *   (or at `prune`).
 *
 * Every write goes through `set`/`delete`, which keep all three consistent.
 */
export class RecordMap {
  private readonly map = new Map<string, Entry>();
  /** `map.size`, as a field: the no-record hot path reads only this. */
  private entries = 0;
  private readonly filter = new Int32Array(KEY_SLOTS);
  private idleCount = 0;
  /** How many records have a failed job: while none has, no job must wait. */
  failing = 0;
  private cachedKey: string | undefined = undefined;
  private cachedEntry: Entry | undefined = undefined;

  /** Records, idle ones not counted. */
  get size(): number {
    return this.entries - this.idleCount;
  }

  /** The key's entry, an idle record included. */
  find(key: string): Entry | undefined {
    // The no-record hot path: one field read, small enough to be inlined.
    return this.entries === 0 ? undefined : this.search(key);
  }

  /**
   * `find` for a key that is likely not the last one looked up (a job's
   * first lookup, at `enter`): skips comparing it with the remembered key.
   */
  lookup(key: string): Entry | undefined {
    if (this.entries === 0) return undefined;
    // Past a few thousand keys nearly every slot is taken: skip the filter.
    // A miss the filter proves is remembered too: the job's next lookups
    // then meet the same string (a pointer compare), not another key of the
    // same length, whose `===` compares characters (keys built at run time
    // are not interned).
    const entry = this.entries < SATURATED && this.filter[slotOf(key)] === 0 ? undefined : this.map.get(key);
    this.cachedKey = key;
    this.cachedEntry = entry;
    return entry;
  }

  private search(key: string): Entry | undefined {
    return key === this.cachedKey ? this.cachedEntry : this.lookup(key);
  }

  /** The key's record; an idle one reads as none. */
  get(key: string): Entry | undefined {
    const entry = this.find(key);
    return entry !== undefined && recordOf(entry)?.idle === true ? undefined : entry;
  }

  set(key: string, entry: Entry): void {
    const old = this.find(key);
    if (old === undefined) {
      this.filter[slotOf(key)]! += 1;
      this.entries++;
    } else {
      if (failedJobOf(old) !== undefined) this.failing--;
      if (old !== entry && recordOf(old) !== undefined) this.detach(old as KeyRecord);
    }
    if (failedJobOf(entry) !== undefined) this.failing++;
    const record = recordOf(entry);
    if (record?.idle === true) {
      record.idle = false;
      this.idleCount--;
    }
    this.map.set(key, entry);
    this.cachedKey = key;
    this.cachedEntry = entry;
  }

  delete(key: string): void {
    const old = this.find(key);
    if (old === undefined) return;
    const record = recordOf(old);
    if (record !== undefined) this.detach(record);
    if (failedJobOf(old) !== undefined) this.failing--;
    this.map.delete(key);
    this.filter[slotOf(key)]! -= 1;
    this.entries--;
    this.cachedKey = key;
    this.cachedEntry = undefined;
  }

  /** Sets the failed job of the key's record, `record` (keeping `failing`). */
  setFailed(record: KeyRecord, jobId: number | undefined): void {
    if (record.failedJobId !== undefined) this.failing--;
    if (jobId !== undefined) this.failing++;
    (record as { failedJobId: number | undefined }).failedJobId = jobId;
  }

  /** Ends an inactive record: kept idle for reuse when `keep`, else deleted. */
  retire(key: string, record: KeyRecord, keep: boolean): void {
    if (keep) this.park(record);
    else this.delete(key);
  }

  /** Keeps an inactive record, already made fresh, idle for its key's next job. */
  park(record: KeyRecord): void {
    record.idle = true;
    if (++this.idleCount > IDLE_LIMIT) this.dropIdle();
  }

  /** Makes the key's idle record its record again, in place. */
  revive(record: KeyRecord): void {
    record.idle = false;
    this.idleCount--;
  }

  /** Deletes every idle record. */
  dropIdle(): void {
    if (this.idleCount === 0) return;
    for (const [key, entry] of this.map) if (recordOf(entry)?.idle === true) this.delete(key);
  }

  /** The records, idle ones left out, sorted by key (a canonical order). */
  sorted(): [string, Entry][] {
    const entries: [string, Entry][] = [];
    for (const pair of this.map) if (recordOf(pair[1])?.idle !== true) entries.push(pair);
    return entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** Every record, idle ones left out, in map order; deleting while iterating is safe. */
  *records(): IterableIterator<[string, KeyRecord]> {
    for (const [key, entry] of this.map) {
      const record = recordOf(entry);
      if (record !== undefined && !record.idle) yield [key, record];
    }
  }

  private detach(record: KeyRecord): void {
    record.detached = true;
    if (record.idle) {
      record.idle = false;
      this.idleCount--;
    }
  }
}

