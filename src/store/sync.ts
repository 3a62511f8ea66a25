import type { SchedulerLike, Subscription } from 'rxjs';

/**
 * With `sync: 'auto'`, queued outcomes past this many are applied at once
 * (at the end of the report that queued the last one), not only by the
 * coalesced sync scheduled on the scheduler. A synchronous burst otherwise
 * queues every outcome until it ends, and with `keyThreshold > 0` every
 * running id stays in its record until then. 256 keeps the queue (four
 * parallel arrays) in a few KB and costs one sync per 256 outcomes.
 */
export const QUEUED_SYNC_BOUND = 256;

/**
 * The bound a store with `keyThreshold` syncs at: {@link QUEUED_SYNC_BOUND},
 * or half the threshold when that is smaller. A queued outcome keeps its job's
 * id running until the sync, and the barrier's running log, which spares a
 * job a record while it has room, takes at most `keyThreshold` ids
 * (src/core/running-log.ts): half are left for the jobs still running.
 */
export function queuedSyncBound(keyThreshold: number): number {
  return keyThreshold > 0 ? Math.max(1, Math.min(QUEUED_SYNC_BOUND, Math.floor(keyThreshold / 2))) : QUEUED_SYNC_BOUND;
}

/** Slots of the changed-keys array kept from one sync to the next. */
const KEPT_KEYS = 4 * QUEUED_SYNC_BOUND;

const NONE: readonly string[] = Object.freeze([]);

/**
 * The sync policy: which keys outcomes were queued for since the last sync
 * (their held jobs are tried again after it), and when the automatic sync
 * runs: once per burst, coalesced on the scheduler, or at once past
 * `bound` queued outcomes (see {@link queuedSyncBound}). With `sync: 'manual'` nothing
 * runs it but `store.sync()`.
 */
export class SyncPolicy {
  // An array, not a Set: one store per queued outcome (a Set add cost about
  // 40 ns a job with keyThreshold, where every outcome is queued). A key may
  // appear more than once; re-trying a key is idempotent. Slots past
  // `changedCount` are stale: the array is kept from sync to sync (written
  // by index, not push, so it neither grows again nor calls a builtin).
  private changedKeys: string[] = [];
  private changedCount = 0;
  private action: Subscription | undefined;

  constructor(
    private readonly scheduler: SchedulerLike,
    readonly manual: boolean,
    private readonly runSync: () => void,
    private readonly bound: number,
  ) {}

  /** Whether an automatic sync is scheduled and has not run yet. */
  get scheduled(): boolean {
    return this.action !== undefined;
  }

  /** Remembers `key` for the next sync to re-try, and schedules that sync (automatic mode). */
  scheduleFor(key: string): void {
    // At most one past the end: the array stays packed.
    this.changedKeys[this.changedCount++] = key;
    if (this.manual || this.action !== undefined) return;
    let ran = false;
    const action = this.scheduler.schedule(() => {
      ran = true;
      this.action = undefined;
      this.runSync();
    });
    // A synchronous scheduler has already synced: remembering its action
    // would block every later sync and every completion.
    if (!ran) this.action = action;
  }

  /** Whether `pending` queued outcomes call for the automatic sync now. */
  overdue(pending: number): boolean {
    return pending >= this.bound && !this.manual;
  }

  /**
   * A sync starts: the keys whose commands it applies are taken, before
   * anything can queue more (a sync nested in a handler must not take keys
   * whose commands it has not applied), and the scheduled sync is cancelled,
   * unless `keepScheduled`: the sync run past the bound leaves it for the
   * end of the burst, or each bound's worth of outcomes would start and
   * clear a timer.
   */
  begin(keepScheduled = false): readonly string[] {
    if (!keepScheduled) this.cancel();
    const count = this.changedCount;
    if (count === 0) return NONE;
    const changed = this.changedKeys.slice(0, count);
    this.changedCount = 0;
    // A long manual burst's array is not kept, nor the keys in it.
    if (count > KEPT_KEYS) this.changedKeys = [];
    return changed;
  }

  cancel(): void {
    if (this.action === undefined) return;
    this.action.unsubscribe();
    this.action = undefined;
  }
}
