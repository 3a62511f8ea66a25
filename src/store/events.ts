import { Subject, type Observable } from 'rxjs';
import type { JobState } from '../core/job-state.js';

/** Why a job was held back at the entrance. */
export type HeldReason = 'rejected' | 'behind' | 'paused';

/**
 * What happened inside a {@link BarrierStore}, for logs and metrics
 * (`store.events$`). Events are built only while someone subscribes.
 */
export type BarrierStoreEvent<T> =
  | { type: 'admitted'; key: string; jobId: number; job: T }
  | { type: 'held'; key: string; jobId: number; job: T; reason: HeldReason }
  | { type: 'released'; key: string; jobId: number; job: T }
  | { type: 'waiting'; key: string; jobId: number; job: T }
  | { type: 'failed'; key: string; jobId: number; job: T; attempt: number; retryIn: number; error?: unknown }
  | { type: 'terminal'; key: string; jobId: number; job: T; state: Exclude<JobState, 'failed' | 'waiting'>; attempts: number }
  | { type: 'overflow'; key: string; jobId: number; job: T }
  | { type: 'recordCreated'; key: string }
  | { type: 'recordDeleted'; key: string }
  | { type: 'keyDisabled'; key: string }
  | { type: 'synced'; applied: number };

/** Counts of what a {@link BarrierStore} holds right now (`store.stats()`). */
export interface BarrierStoreStats {
  /** Jobs held back at an entrance, waiting for the barrier (`blocked` ones included). */
  held: number;
  /**
   * Held jobs that cannot move until something else does: their key has a
   * failed job recorded in the barrier (the failed job itself excepted), or
   * is paused. Bounded per key by `maxHeldPerKey`, not by `highWaterMark`.
   */
  blocked: number;
  /** Failed jobs waiting for their retry delay. */
  retrying: number;
  /** Jobs admitted and not yet reported terminal (nor failed nor waiting). */
  admitted: number;
  /**
   * `held + retrying + admitted`: every job in the store. `highWaterMark`
   * bounds `total - blocked`, the jobs that can make progress.
   */
  total: number;
  /** Keys with a barrier record (`barrier.size`). */
  records: number;
  /** `stateChanged` commands waiting for a sync (`barrier.pending`). */
  queued: number;
  /** Keys the store keeps bookkeeping for (held, retrying, tracked or paused). */
  keys: number;
  /** Open `barrierEnter` subscriptions. */
  entrances: number;
  /** Keys paused by hand. */
  paused: number;
}

/**
 * The `events$` subject. Events are built only while someone subscribes:
 * callers test `observed` before building one.
 */
export class StoreEvents<T> {
  private readonly subject = new Subject<BarrierStoreEvent<T>>();
  readonly events$: Observable<BarrierStoreEvent<T>> = this.subject.asObservable();

  get observed(): boolean {
    return this.subject.observed;
  }

  emit(event: BarrierStoreEvent<T>): void {
    this.subject.next(event);
  }

  /** A `recordCreated` or `recordDeleted` event when the key's record came or went. */
  recordChanged(key: string, hadRecord: boolean, hasRecord: boolean): void {
    if (hasRecord !== hadRecord) this.emit({ type: hasRecord ? 'recordCreated' : 'recordDeleted', key });
  }
}
