import { Observable, Subject } from 'rxjs';
import type { JobState } from '../core/job-state.js';

/** Why a job was held back at the entrance. */
export type HeldReason = 'rejected' | 'behind' | 'paused';

/**
 * What happened inside a {@link BarrierStore}, for logs and metrics
 * (`store.events$`). Events are built only while someone subscribes.
 */
export type BarrierStoreEvent<T> =
  | {
      /** The barrier let the job through: it goes on downstream. */
      type: 'admitted';
      /** The job's ordering key. */
      key: string;
      /** The job's id. */
      jobId: number;
      /** The job itself. */
      job: T;
    }
  | {
      /** The job was held back at the entrance; a `released` event follows when it goes on. */
      type: 'held';
      /** The job's ordering key. */
      key: string;
      /** The job's id. */
      jobId: number;
      /** The job itself. */
      job: T;
      /** Why it was held (see {@link HeldReason}). */
      reason: HeldReason;
    }
  | {
      /** A held job was let through: it goes on downstream. */
      type: 'released';
      /** The job's ordering key. */
      key: string;
      /** The job's id. */
      jobId: number;
      /** The job itself. */
      job: T;
    }
  | {
      /** The job was handed back as `waiting` (by `barrierWait`, or a `'waiting'` status): it is held at its entrance again. */
      type: 'waiting';
      /** The job's ordering key. */
      key: string;
      /** The job's id. */
      jobId: number;
      /** The job itself. */
      job: T;
    }
  | {
      /** An attempt failed; the job is retried after `retryIn` ms. */
      type: 'failed';
      /** The job's ordering key. */
      key: string;
      /** The job's id. */
      jobId: number;
      /** The job itself. */
      job: T;
      /** The number of the attempt that failed, 1 for the first. */
      attempt: number;
      /** Milliseconds until the retry, on the store's scheduler. */
      retryIn: number;
      /** Why the attempt failed, when the status carried an error. */
      error?: unknown;
    }
  | {
      /** The job ended: it leaves the store. */
      type: 'terminal';
      /** The job's ordering key. */
      key: string;
      /** The job's id. */
      jobId: number;
      /** The job itself. */
      job: T;
      /** How it ended. */
      state: Exclude<JobState, 'failed' | 'waiting'>;
      /** How many attempts it took. */
      attempts: number;
    }
  | {
      /** A key held more than `maxHeldPerKey` jobs: this one was dropped from the store and handed to `onOverflow`. */
      type: 'overflow';
      /** The job's ordering key. */
      key: string;
      /** The job's id. */
      jobId: number;
      /** The job itself. */
      job: T;
    }
  | {
      /** The barrier created a record for the key (its first job, or its first since the record was deleted). */
      type: 'recordCreated';
      /** The key. */
      key: string;
    }
  | {
      /** The barrier deleted the key's record: nothing of the key is running, failed or draining. */
      type: 'recordDeleted';
      /** The key. */
      key: string;
    }
  | {
      /** The key crossed `keyThreshold`: its ordering is off for `disabledDuration`. */
      type: 'keyDisabled';
      /** The key. */
      key: string;
    }
  | {
      /**
       * The store is at its `highWaterMark` and no job moved for
       * `stallTimeout` ms (see docs/troubleshooting.md). Once per stall.
       */
      type: 'stalled';
      /** The keys holding the most jobs (held, retrying, tracked in flight), at most 5, most first. */
      keys: string[];
    }
  | {
      /** A sync applied the queued state changes. */
      type: 'synced';
      /** How many queued commands it applied. */
      applied: number;
    };

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
  /**
   * `true` while the store is stalled: at its `highWaterMark` with no job
   * moving for `stallTimeout` ms (the `stalled` event said so, and nothing
   * moved since).
   */
  stalled: boolean;
}

/**
 * The `events$` subject. Events are built only while someone subscribes:
 * callers test `observed` before building one.
 */
export class StoreEvents<T> {
  private readonly subject = new Subject<BarrierStoreEvent<T>>();
  /**
   * Whether `events$` has a subscriber: a field, kept by the subscriptions
   * themselves, because every job reads it several times (`Subject.observed`
   * is a getter over the observer list that the store's hot paths did not inline).
   */
  observed = false;
  private subscribers = 0;
  readonly events$: Observable<BarrierStoreEvent<T>> = new Observable((subscriber) => {
    this.subscribers++;
    this.observed = true;
    const subscription = this.subject.subscribe(subscriber);
    return () => {
      subscription.unsubscribe();
      this.observed = --this.subscribers > 0;
    };
  });

  emit(event: BarrierStoreEvent<T>): void {
    this.subject.next(event);
  }

  /** A `recordCreated` or `recordDeleted` event when the key's record came or went. */
  recordChanged(key: string, hadRecord: boolean, hasRecord: boolean): void {
    if (hasRecord !== hadRecord) this.emit({ type: hasRecord ? 'recordCreated' : 'recordDeleted', key });
  }
}
