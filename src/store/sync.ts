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
 * The sync policy: which keys outcomes were queued for since the last sync
 * (their held jobs are tried again after it), and when the automatic sync
 * runs: once per burst, coalesced on the scheduler, or at once past
 * {@link QUEUED_SYNC_BOUND} queued outcomes. With `sync: 'manual'` nothing
 * runs it but `store.sync()`.
 */
export class SyncPolicy {
  private changedKeys = new Set<string>();
  private action: Subscription | undefined;

  constructor(
    private readonly scheduler: SchedulerLike,
    readonly manual: boolean,
    private readonly runSync: () => void,
  ) {}

  /** Whether an automatic sync is scheduled and has not run yet. */
  get scheduled(): boolean {
    return this.action !== undefined;
  }

  /** Remembers `key` for the next sync to re-try, and schedules that sync (automatic mode). */
  scheduleFor(key: string): void {
    this.changedKeys.add(key);
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
    return !this.manual && pending >= QUEUED_SYNC_BOUND;
  }

  /**
   * A sync starts: the scheduled one is cancelled, and the keys whose
   * commands it applies are taken, before anything can queue more (a sync
   * nested in a handler must not take keys whose commands it has not applied).
   */
  begin(): Set<string> {
    this.cancel();
    const changed = this.changedKeys;
    if (changed.size > 0) this.changedKeys = new Set();
    return changed;
  }

  cancel(): void {
    if (this.action === undefined) return;
    this.action.unsubscribe();
    this.action = undefined;
  }
}
