import type { SchedulerLike, Subscriber } from 'rxjs';
import { describeValue } from '../core/errors.js';
import type { JobState } from '../core/job-state.js';
import type { Entrance } from './entrance.js';
import type { JobStatus } from './job-status.js';
import type { RetryPolicy } from './retry.js';

/**
 * The key under which a `BarrierStore` keeps its engine. Not exported from
 * the package: operators and `pull` reach the engine through it, users do
 * not. `Symbol.for`, so a store of the package's other build (ESM or
 * CommonJS) is recognised as well.
 */
export const PORT: unique symbol = Symbol.for('rx-barrier.store-port');

/**
 * What the operators and `pull` may ask of a store's engine: the narrow,
 * internal side of a store (the public side is `BarrierStore`).
 */
export interface StorePort<T> {
  readonly scheduler: SchedulerLike;
  /** `maxAttempts` as the store's options give it (undefined when not): orderedDelivery's default. */
  readonly maxAttempts: number | undefined;
  /** The key of a job, validated. */
  keyOf(job: T): string;
  /** The id of a job, validated. */
  jobIdOf(job: T): number;
  /** Registers a `barrierEnter` subscription; its failed jobs follow `retry` (the store's policy by default). */
  openEntrance(subscriber: Subscriber<T>, retry?: Partial<RetryPolicy>): Entrance<T>;
  /** A job arrives at an entrance: admit it or hold it. Throws on invalid jobs. */
  arrive(entrance: Entrance<T>, job: T): void;
  /** The entrance's source completed. */
  sourceCompleted(entrance: Entrance<T>): void;
  /** Unsubscribing an entrance: cancels its retries, drops its held jobs, `leave`s its admitted ones. */
  closeEntrance(entrance: Entrance<T>): void;
  /** The executor of a closed entrance's jobs is gone too: none of its orphans will report. */
  executorClosed(entrance: Entrance<T>): void;
  /**
   * The last check before sending. True when the job may go on; otherwise
   * it is reported `waiting` and handed back to its entrance (a state change).
   */
  handBackIfWaiting(job: T, key?: string, id?: number): boolean;
  /**
   * Reports an attempt's outcome: a failure is retried after the entrance's
   * retry delay, or becomes `aborted` at its `maxAttempts`. Returns the state
   * the job took.
   */
  report(status: JobStatus<T>): JobState;
  /** The number of the job's next (or current) attempt: 1 + its failures so far. */
  attemptOf(key: string, id: number): number;
  /** Counts a subscribed operator; the returned function undoes it. */
  attach(): () => void;
  /** A `pull` asks for up to `count` jobs: returns how many it may ask for, counted until `received`. */
  request(count: number): number;
  /** The answer to a `request` of `count` jobs came (or never will). */
  received(count: number): void;
}

/** The engine of `store`; a TypeError naming `caller` when `store` is not a BarrierStore. */
export function portOf<T>(store: unknown, caller: string): StorePort<T> {
  const port = typeof store === 'object' && store !== null ? (store as { [PORT]?: StorePort<T> })[PORT] : undefined;
  if (port === undefined) throw new TypeError(`${caller} needs a BarrierStore, got ${describeValue(store)}`);
  return port;
}
