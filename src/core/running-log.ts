import type { JobIdSet } from './job-id-set.js';
import { KEY_SLOTS, slotOf } from './key-slot.js';

/** Entries a log holds at most, whatever the keyThreshold. */
export const RUNNING_LOG_CAP = 1024;

/** The slot arrays' first capacity; they double as needed, up to the limit. */
const START = 16;

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
  private ids = new Float64Array(0);
  private next = new Int32Array(0);
  private heads: Int32Array | undefined;
  /** First free entry + 1 (free entries are linked through `next`). */
  private free = 0;
  /** Entries ever handed out since the log was last empty. */
  private used = 0;
  /** Running ids in the log. */
  size = 0;

  constructor(readonly limit: number) {}

  /** Entries the arrays have room for: at most `limit` rounded up to a power of two. */
  get capacity(): number {
    return this.ids.length;
  }

  /**
   * Logs job `id` of `key` unless the log is full. Returns whether the job
   * is in the log now (added, or there already).
   */
  enter(key: string, id: number): boolean {
    const heads = this.heads ?? this.start();
    const slot = slotOf(key);
    if (this.indexOf(heads[slot]!, key, id) >= 0) return true;
    if (this.size >= this.limit) return false;
    let i = this.free - 1;
    if (i >= 0) this.free = this.next[i]!;
    else if ((i = this.used++) === this.ids.length) this.grow();
    this.keys[i] = key;
    this.ids[i] = id;
    this.next[i] = heads[slot]!;
    heads[slot] = i + 1;
    this.size++;
    return true;
  }

  /** Whether job `id` of `key` is in the log. */
  has(key: string, id: number): boolean {
    return this.size !== 0 && this.indexOf(this.heads![slotOf(key)]!, key, id) >= 0;
  }

  /** Whether `key` has a job in the log. */
  hasKey(key: string): boolean {
    if (this.size === 0) return false;
    const { keys, next } = this;
    for (let i = this.heads![slotOf(key)]! - 1; i >= 0; i = next[i]! - 1) if (keys[i] === key) return true;
    return false;
  }

  /** Deletes job `id` of `key`; returns whether it was there. */
  remove(key: string, id: number): boolean {
    if (this.size === 0) return false;
    const { keys, ids, next } = this;
    const heads = this.heads!;
    const slot = slotOf(key);
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
    const slot = slotOf(key);
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
    this.heads = new Int32Array(KEY_SLOTS);
    return this.heads;
  }

  private grow(): void {
    const capacity = Math.max(START, this.ids.length * 2);
    const ids = new Float64Array(capacity);
    const next = new Int32Array(capacity);
    ids.set(this.ids);
    next.set(this.next);
    this.ids = ids;
    this.next = next;
  }
}
