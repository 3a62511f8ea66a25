import type { JobState } from '../core/job-state.js';

/**
 * What became of one attempt at a job, as `barrierState` takes it.
 *
 * @example
 * const status: JobStatus<Job> = { job, state: 'failed', error: new Error('HTTP 503') };
 */
export interface JobStatus<T> {
  /** The job the attempt was made for. */
  job: T;
  /**
   * What the attempt came to: `'succeeded'`, `'aborted'` or `'filtered'` end
   * the job; `'failed'` schedules a retry; `'waiting'` hands the job back to
   * be held, as `barrierWait` does.
   */
  state: JobState;
  /** Why the attempt failed, kept for the result. */
  error?: unknown;
  /**
   * For a `'failed'` status: milliseconds to wait before the retry (a
   * server's `Retry-After`), instead of `retryDelay`. A minimum: jitter never
   * shortens it. A negative or non-finite value is a RangeError naming the job.
   */
  retryAfter?: number;
}

/**
 * The one terminal result `orderedDelivery` emits per job.
 *
 * @example
 * results$.pipe(filter((r) => r.state === 'aborted')).subscribe((r) => deadLetter(r.job, r.error));
 */
export interface DeliveryResult<T> {
  /** The job, as the source emitted it. */
  job: T;
  /** Its ordering key, as the store's `key` option computed it. */
  key: string;
  /** Its job id, as the store's `jobId` option computed it. */
  jobId: number;
  /**
   * How it ended: `'succeeded'`; `'filtered'` (deliberately not delivered);
   * or `'aborted'` (given up: `deliver` said so, or its attempts ran out, and
   * then `error` holds the last failure). Never `'failed'`: a failed attempt
   * is retried, not reported.
   */
  state: 'succeeded' | 'aborted' | 'filtered';
  /** How many times `deliver` was called for the job. */
  attempts: number;
  /** The error of the last failed attempt, for an aborted job. */
  error?: unknown;
}
