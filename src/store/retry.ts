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
 * milliseconds, or a function of the attempt that failed (1 for the first),
 * the attempt's error (undefined when the status carried none) and the job.
 *
 * @example
 * const retryDelay: RetryDelay<Job> = (attempt, error) => (error instanceof RateLimited ? 60_000 : 1_000 * attempt);
 */
export type RetryDelay<T = any> = number | ((attempt: number, error: unknown, job: T) => number);

/**
 * How retry delays are spread so that keys that failed together do not
 * retry together. With `d` the delay `retryDelay` gives and `r` a random
 * number in [0, 1):
 *
 * - `'none'`: `d`, exactly;
 * - `'full'`: `r * d` (anywhere from 0 to `d`);
 * - `'equal'`: `d / 2 + r * d / 2` (at least half of `d`).
 *
 * An outcome's `retryAfter` (a server's `Retry-After`) is a minimum that
 * jitter never shortens: with `'full'` or `'equal'` it waits
 * `retryAfter + r * retryAfter / 2`, with `'none'` exactly `retryAfter`.
 */
export type Jitter = 'none' | 'full' | 'equal';

/** The jitter kinds, for validation and messages. */
const JITTERS: readonly Jitter[] = ['none', 'full', 'equal'];

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
  /** How delays are spread (see {@link Jitter}). */
  readonly jitter: Jitter;
  /** The random numbers jitter draws, in [0, 1). */
  readonly random: () => number;
}

/** Throws a TypeError naming `option` unless `value` is a {@link Jitter} (undefined passes). */
export function checkJitter(option: string, value: unknown): asserts value is Jitter | undefined {
  if (value !== undefined && !JITTERS.includes(value as Jitter)) {
    throw new TypeError(`option ${option} must be one of ${JITTERS.map((j) => `'${j}'`).join(', ')}, got ${describeValue(value)}`);
  }
}

/**
 * Throws a TypeError/RangeError naming the job and the value unless
 * `retryAfter` is a non-negative finite number of milliseconds.
 */
export function checkRetryAfter(retryAfter: unknown, job: unknown): asserts retryAfter is number {
  if (typeof retryAfter !== 'number') {
    throw new TypeError(`retryAfter must be a number of milliseconds, got ${describeValue(retryAfter)} for job ${describeValue(job)}`);
  }
  if (!Number.isFinite(retryAfter) || retryAfter < 0) {
    throw new RangeError(`retryAfter must be a non-negative finite number of milliseconds, got ${describeValue(retryAfter)} for job ${describeValue(job)}`);
  }
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
export function retryDelayFor<T>(delay: RetryDelay<T>, attempt: number, error: unknown, job: T): number {
  if (typeof delay === 'number') return delay;
  const ms = delay(attempt, error, job);
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new RangeError(
      `retryDelay(${attempt}) must return a non-negative finite number of milliseconds, got ${describeValue(ms)} for job ${describeValue(job)}`,
    );
  }
  return ms;
}

/** `delay` spread by `jitter` (see {@link Jitter}); a `retryAfter` is never shortened. */
export function jittered(policy: RetryPolicy, delay: number, retryAfter: boolean): number {
  if (policy.jitter === 'none' || delay === 0) return delay;
  const r = policy.random();
  if (retryAfter) return delay + (r * delay) / 2;
  return policy.jitter === 'full' ? r * delay : delay / 2 + (r * delay) / 2;
}

/**
 * What a reported failure becomes: `aborted` once it is the attempt numbered
 * `maxAttempts`, else `failed` with the milliseconds to wait (the outcome's
 * `retryAfter` when it has one, else `retryDelay`; jittered; capped at the
 * timers' limit). Asked before anything changes: a throwing `retryDelay`
 * changes nothing.
 */
export function afterFailure<T>(
  policy: RetryPolicy,
  attempt: number,
  error: unknown,
  job: T,
  retryAfter: number | undefined,
): { state: 'failed'; delay: number } | { state: 'aborted' } {
  if (attempt >= policy.maxAttempts) return { state: 'aborted' };
  const delay = retryAfter ?? retryDelayFor(policy.retryDelay, attempt, error, job);
  return { state: 'failed', delay: timerDelay(jittered(policy, delay, retryAfter !== undefined)) };
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
