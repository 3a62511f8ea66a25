import { describeValue } from './errors.js';

/** Throws a TypeError unless `key` is a string. */
export function checkKey(key: unknown, context = ''): asserts key is string {
  if (typeof key !== 'string') {
    throw new TypeError(`key must be a string, got ${describeValue(key)}${context}`);
  }
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
