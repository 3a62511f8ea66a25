import { describeValue } from '../core/errors.js';

/** Throws a TypeError unless `key` is a string. */
export function checkKey(key: unknown, context = ''): asserts key is string {
  if (typeof key !== 'string') {
    throw new TypeError(`key must be a string, got ${describeValue(key)}${context}`);
  }
}

/** Checks a key and a job id (see {@link checkKey} and {@link checkJobId}). */
export function checkJob(key: unknown, jobId: unknown): asserts jobId is number {
  checkKey(key);
  checkJobId(jobId);
}

/**
 * Throws a TypeError unless `jobId` is a number, a RangeError unless it is a
 * safe integer (0 and negative ids are valid).
 */
export function checkJobId(jobId: unknown, context = ''): asserts jobId is number {
  // The typeof test must come before `| 0`: on a bigint or a symbol `| 0`
  // throws a TypeError of its own that names no job id, and on an object it
  // calls the object's valueOf.
  if (typeof jobId !== 'number') {
    throw new TypeError(`job id must be a number, got ${describeValue(jobId)}${context}`);
  }
  // Fast path: a small integer passes with one comparison.
  if ((jobId | 0) === jobId) return;
  if (!Number.isSafeInteger(jobId)) {
    throw new RangeError(`job id must be a safe integer, got ${describeValue(jobId)}${context}`);
  }
}

/**
 * Throws a TypeError naming `name` (e.g. "option concurrency") unless `value`
 * is a number, a RangeError unless it is a safe integer of at least `min`
 * (or, when `infinite`, Infinity).
 */
export function checkCount(name: string, value: unknown, min: number, infinite: boolean): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describeValue(value)}`);
  if ((infinite && value === Infinity) || (Number.isSafeInteger(value) && value >= min)) return;
  const range = min === 0 ? 'a non-negative safe' : min === 1 ? 'a positive safe' : `a >= ${min} safe`;
  throw new RangeError(`${name} must be ${range} integer${infinite ? ' or Infinity' : ''}, got ${describeValue(value)}`);
}

/** Throws a TypeError naming `name` unless `value` is a number, a RangeError unless it is finite and >= 0. */
export function checkMilliseconds(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describeValue(value)}`);
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative finite number of milliseconds, got ${describeValue(value)}`);
  }
}

/** Throws a TypeError naming `name` unless `value` is a function. */
export function checkFunction(name: string, value: unknown): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw new TypeError(`${name} must be a function, got ${describeValue(value)}`);
}
