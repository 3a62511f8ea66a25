import type { SchedulerLike, Subscription } from 'rxjs';
import { describeValue } from '../core/errors.js';
import { timerDelay } from '../util/timer-delay.js';
import { checkCount, checkMilliseconds } from '../util/validate.js';

/**
 * The retry policy, all of it: how long a failed job waits (`retryDelay`),
 * how many attempts it gets (`maxAttempts`), and the timers that bring it
 * back (owned by its entrance, cancelled when the entrance closes). Every
 * path (barrierState, orderedDelivery) reports failures through the one
 * `Engine.report`, which asks this file what to do.
 */

/**
 * How long to wait before a failed job is tried again: a fixed number of
 * milliseconds, or a function of the attempt that failed (1 for the first).
 */
export type RetryDelay = number | ((attempt: number) => number);

/**
 * The default retry delay: exponential backoff from 100 ms, doubling with
 * each failed attempt, capped at 30 s (100, 200, 400, … 30 000).
 *
 * @example
 * // the default, slowed down tenfold
 * new BarrierStore({ key, jobId, retryDelay: (attempt) => 10 * DEFAULT_RETRY_DELAY(attempt) });
 */
export const DEFAULT_RETRY_DELAY = (attempt: number): number => Math.min(100 * 2 ** (attempt - 1), 30_000);

/** How an entrance's failed jobs are retried. */
export interface RetryPolicy {
  readonly retryDelay: RetryDelay;
  /** The failed attempt numbered `maxAttempts` is reported `aborted` instead. */
  readonly maxAttempts: number;
}

/** Throws a TypeError/RangeError naming `option` unless `value` is a valid {@link RetryDelay}. */
export function checkRetryDelay(option: string, value: unknown): asserts value is RetryDelay | undefined {
  if (value === undefined || typeof value === 'function') return;
  if (typeof value !== 'number') throw new TypeError(`option ${option} must be a number or a function, got ${describeValue(value)}`);
  checkMilliseconds(`option ${option}`, value);
}

/** Throws a TypeError/RangeError naming `option` unless `value` is a valid maxAttempts (undefined passes). */
export function checkMaxAttempts(option: string, value: unknown): asserts value is number | undefined {
  if (value !== undefined) checkCount(`option ${option}`, value, 1, true);
}

/** The delay after failed attempt `attempt`; a function's invalid answer throws a RangeError. */
export function retryDelayFor(delay: RetryDelay, attempt: number): number {
  if (typeof delay === 'number') return delay;
  const ms = delay(attempt);
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`retryDelay(${attempt}) must return a non-negative finite number of milliseconds, got ${describeValue(ms)}`);
  }
  return ms;
}

/**
 * What a reported failure becomes: `aborted` once it is the attempt numbered
 * `maxAttempts`, else `failed` with the milliseconds to wait (capped at the
 * timers' limit). Asked before anything changes: a throwing `retryDelay`
 * changes nothing.
 */
export function afterFailure(policy: RetryPolicy, attempt: number): { state: 'failed'; delay: number } | { state: 'aborted' } {
  if (attempt >= policy.maxAttempts) return { state: 'aborted' };
  return { state: 'failed', delay: timerDelay(retryDelayFor(policy.retryDelay, attempt)) };
}

/**
 * The retry timers of failed jobs, by their owner (the entrance that will
 * re-emit them): an owner that closes cancels its own.
 */
export class RetryTimers<Owner extends object, Job> {
  private readonly timers = new Map<Owner, Map<Job, Subscription>>();

  constructor(private readonly scheduler: SchedulerLike) {}

  /** Calls `due(job)` after `delay` ms on the scheduler, unless `cancel(owner)` runs first. */
  start(owner: Owner, job: Job, delay: number, due: (job: Job) => void): void {
    let ran = false;
    const timer = this.scheduler.schedule(() => {
      ran = true;
      this.timers.get(owner)?.delete(job);
      due(job);
    }, delay);
    // A zero delay on a synchronous scheduler (queueScheduler) may already
    // have run, and its action need not be closed: cancelling it again at
    // unsubscribe would count the retry twice.
    if (ran) return;
    let own = this.timers.get(owner);
    if (own === undefined) this.timers.set(owner, (own = new Map()));
    own.set(job, timer);
  }

  /** Cancels the owner's timers; returns the jobs they would have brought back. */
  cancel(owner: Owner): Job[] {
    const own = this.timers.get(owner);
    if (own === undefined) return [];
    this.timers.delete(owner);
    for (const timer of own.values()) timer.unsubscribe();
    return [...own.keys()];
  }
}
