import { UnsupportedStateError } from './errors.js';

/** What became of a job, as reported to `Barrier.stateChanged`. */
export type JobState = 'succeeded' | 'failed' | 'aborted' | 'waiting' | 'filtered';

/** Every {@link JobState}, in a stable order. */
export const JOB_STATES: readonly JobState[] = Object.freeze(['succeeded', 'failed', 'aborted', 'waiting', 'filtered']);

/** Internal numeric codes of the states, so the queue stores small integers. */
export const SUCCEEDED = 0;
export const FAILED = 1;
export const ABORTED = 2;
export const WAITING = 3;
export const FILTERED = 4;
export type StateCode = typeof SUCCEEDED | typeof FAILED | typeof ABORTED | typeof WAITING | typeof FILTERED;

/** The code of `state`; throws {@link UnsupportedStateError} for anything else. */
export function stateCode(state: unknown, context = ''): StateCode {
  // The common report first, alone: a switch compares in order anyway, and
  // this keeps the function small enough to be inlined into `stateChanged`.
  if (state === 'succeeded') return SUCCEEDED;
  return otherStateCode(state, context);
}

function otherStateCode(state: unknown, context: string): StateCode {
  switch (state) {
    case 'failed':
      return FAILED;
    case 'aborted':
      return ABORTED;
    case 'waiting':
      return WAITING;
    case 'filtered':
      return FILTERED;
    default:
      throw new UnsupportedStateError(state, context);
  }
}

/**
 * Whether `state` is a {@link JobState}.
 *
 * @example
 * if (!isJobState(row.status)) throw new Error(`bad status ${row.status}`);
 */
export function isJobState(state: unknown): state is JobState {
  return state === 'succeeded' || state === 'failed' || state === 'aborted' || state === 'waiting' || state === 'filtered';
}
