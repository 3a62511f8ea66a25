export { Barrier } from './barrier.js';
export type { EnterResult, WaitResult } from './barrier.js';
export { BARRIER_DEFAULTS } from './barrier-options.js';
export type { BarrierOptions } from './barrier-options.js';
export type { BarrierMode, BarrierRecordSnapshot, BarrierSnapshot, QueuedStateSnapshot } from './barrier-snapshot.js';
export { HeldJobsOverflowError, IllegalJobSequenceError, UnsupportedStateError } from './errors.js';
export type { BarrierMetadata, IllegalSequenceLocation } from './errors.js';
export { JOB_STATES, isJobState } from './job-state.js';
export type { JobState } from './job-state.js';
