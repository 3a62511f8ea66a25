import type { JobIdSet } from './job-id-set.js';
import { slotOf } from './key-slot.js';

/** Entries a log holds at most, whatever the keyThreshold. */
export const RUNNING_LOG_CAP = 1024;

/** The slot arrays' first capacity; they double as needed, up to the limit. */
const START = 16;

/** Chains, by key slot; a power of two. 4 KB of heads stay in the L1 cache. */
const CHAINS = 1024;

/** The chain of a key. */
const chainOf = (key: string): number => slotOf(key) & (CHAINS - 1);

/**
 * The running ids of keys that have no record, with `keyThreshold > 0`.
 *
 * With a threshold every entered job is recorded in its key's running set
 * until a sync applies its outcome. But while fewer than `keyThreshold` ids
 * are running over all keys, no key can reach the threshold, and a key whose
 * running ids are its only state needs no record of its own: its ids wait
 * here, in a few small arrays the CPU keeps in cache, instead of in a record
 * found through the record map (a cold `Map` lookup a job, the largest cost
 * of `keyThreshold` in a pipeline). Read as records, the log's keys are
 * enabled keys with these running ids and nothing else.
 *
 * The log holds at most `limit` ids (`keyThreshold`, at most
 * {@link RUNNING_LOG_CAP}), so the threshold check it skips could never have
 * fired. A job it cannot take goes to a record; a key that needs more than
 * running ids (a failed job) leaves the log for a record with `moveTo`.
 *
 * Entries are chained per key slot (see `slotOf`): finding a job or a key
 * walks one short chain. Slot and link arrays hold `index + 1`, 0 for none.
 */
export class RunningLog {
  private keys: (string | undefined)[] = [];
  // An array, not a Float64Array: an id read from a Float64Array is a double,
  // and storing it in a record's running set turned that field into a boxed
  // number in every record (16 bytes a key more, bench workload 3).
  private ids: number[] = [];
  private next = new Int32Array(0);
  private heads: Int32Array | undefined;
  /** First free entry + 1 (free entries are linked through `next`). */
  private free = 0;
  /** Entries ever handed out since the log was last empty. */
  private used = 0;
  /**
   * The entry `enter` last found or added: a job's `stateChanged` comes
   * right after its `enter` in a synchronous pipeline, and asks `hasKey`.
   */
  private lastEntered = -1;
  /** Running ids in the log. */
  size = 0;

  constructor(readonly limit: number) {}

  /** Entries the arrays have room for: at most `limit` rounded up to a power of two. */
  get capacity(): number {
    return this.next.length;
  }

  /**
   * Logs job `id` of `key` unless the log is full. Returns whether the job
   * is in the log now (added, or there already).
   */
  enter(key: string, id: number): boolean {
    const heads = this.heads ?? this.start();
    const slot = chainOf(key);
    const found = this.indexOf(heads[slot]!, key, id);
    if (found >= 0) {
      this.lastEntered = found;
      return true;
    }
    if (this.size >= this.limit) return false;
    let i = this.free - 1;
    if (i >= 0) this.free = this.next[i]!;
    else if ((i = this.used++) === this.next.length) this.grow();
    this.keys[i] = key;
    this.ids[i] = id;
    this.next[i] = heads[slot]!;
    heads[slot] = i + 1;
    this.size++;
    this.lastEntered = i;
    return true;
  }

  /** Whether job `id` of `key` is in the log. */
  has(key: string, id: number): boolean {
    return this.size !== 0 && this.indexOf(this.heads![chainOf(key)]!, key, id) >= 0;
  }

  /** Whether `key` has a job in the log. */
  hasKey(key: string): boolean {
    if (this.size === 0) return false;
    const { keys, next } = this;
    // A freed entry's key is undefined: the last entered one still holds `key` only if it is in use.
    if (this.lastEntered >= 0 && keys[this.lastEntered] === key) return true;
    for (let i = this.heads![chainOf(key)]! - 1; i >= 0; i = next[i]! - 1) if (keys[i] === key) return true;
    return false;
  }

  /** Deletes job `id` of `key`; returns whether it was there. */
  remove(key: string, id: number): boolean {
    if (this.size === 0) return false;
    const { keys, ids, next } = this;
    const heads = this.heads!;
    const slot = chainOf(key);
    let previous = -1;
    for (let i = heads[slot]! - 1; i >= 0; previous = i, i = next[i]! - 1) {
      if (ids[i] !== id || keys[i] !== key) continue;
      this.unlink(slot, previous, i);
      return true;
    }
    return false;
  }

  /** Moves every id of `key` into `into` (a record's running set); returns how many. */
  moveTo(key: string, into: JobIdSet): number {
    if (this.size === 0) return 0;
    const { keys, ids, next } = this;
    const heads = this.heads!;
    const slot = chainOf(key);
    let moved = 0;
    let previous = -1;
    for (let i = heads[slot]! - 1; i >= 0; ) {
      const following = next[i]! - 1;
      if (keys[i] === key) {
        into.add(ids[i]!);
        this.unlink(slot, previous, i);
        moved++;
      } else {
        previous = i;
      }
      i = following;
    }
    return moved;
  }

  /** Every key in the log with its ids (in no particular order). */
  groups(): Map<string, number[]> {
    const groups = new Map<string, number[]>();
    const { keys, ids } = this;
    for (let i = 0; i < this.used; i++) {
      const key = keys[i];
      if (key === undefined) continue;
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [ids[i]!]);
      else group.push(ids[i]!);
    }
    return groups;
  }

  private indexOf(head: number, key: string, id: number): number {
    const { keys, ids, next } = this;
    // Ids first: a number compare rules out most entries of a shared slot.
    for (let i = head - 1; i >= 0; i = next[i]! - 1) if (ids[i] === id && keys[i] === key) return i;
    return -1;
  }

  private unlink(slot: number, previous: number, i: number): void {
    const heads = this.heads!;
    if (previous < 0) heads[slot] = this.next[i]!;
    else this.next[previous] = this.next[i]!;
    this.keys[i] = undefined;
    if (--this.size === 0) {
      // Empty: hand entries out from the first again, so that `groups` and
      // the entries in use stay within the few the log holds at a time.
      this.used = 0;
      this.free = 0;
      return;
    }
    this.next[i] = this.free;
    this.free = i + 1;
  }

  private start(): Int32Array {
    this.heads = new Int32Array(CHAINS);
    return this.heads;
  }

  private grow(): void {
    const next = new Int32Array(Math.max(START, this.next.length * 2));
    next.set(this.next);
    this.next = next;
  }
}
