import type { JobState } from '../core/job-state.js';

/**
 * What became of one attempt at a job, as `barrierState` takes it.
 *
 * @example
 * const status: JobStatus<Job> = { job, state: 'failed', error: new Error('HTTP 503') };
 */
export interface JobStatus<T> {
  job: T;
  state: JobState;
  /** Why the attempt failed, kept for the result. */
  error?: unknown;
}

/**
 * The one terminal result `orderedDelivery` emits per job.
 *
 * @example
 * results$.pipe(filter((r) => r.state === 'aborted')).subscribe((r) => deadLetter(r.job, r.error));
 */
export interface DeliveryResult<T> {
  job: T;
  key: string;
  jobId: number;
  state: 'succeeded' | 'aborted' | 'filtered';
  /** How many times `deliver` was called for the job. */
  attempts: number;
  /** The error of the last failed attempt, for an aborted job. */
  error?: unknown;
}
