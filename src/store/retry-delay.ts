import { describeValue } from '../core/errors.js';
import { checkMilliseconds } from '../util/validate.js';

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

/** Throws a TypeError/RangeError naming `option` unless `value` is a valid {@link RetryDelay}. */
export function checkRetryDelay(option: string, value: unknown): asserts value is RetryDelay | undefined {
  if (value === undefined || typeof value === 'function') return;
  if (typeof value !== 'number') throw new TypeError(`option ${option} must be a number or a function, got ${describeValue(value)}`);
  checkMilliseconds(`option ${option}`, value);
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
