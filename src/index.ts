/**
 * Per-key, in-order delivery with hold-on-failure: the synchronous
 * {@link Barrier}, the {@link BarrierStore} the operators share, and
 * {@link pull} for backpressured sources.
 *
 * @module rx-barrier
 */
export { Barrier } from './barrier.js';
export type { EnterResult, WaitResult } from './barrier.js';
export { BARRIER_DEFAULTS } from './barrier-options.js';
export type { BarrierOptions } from './barrier-options.js';
export type { BarrierMode, BarrierRecordSnapshot, BarrierSnapshot, QueuedStateSnapshot } from './barrier-snapshot.js';
export { HeldJobsOverflowError, IllegalJobSequenceError, UnsupportedStateError } from './errors.js';
export type { BarrierMetadata, IllegalSequenceLocation } from './errors.js';
export { JOB_STATES, isJobState } from './job-state.js';
export type { JobState } from './job-state.js';
export { BarrierStore } from './store.js';
export { STORE_DEFAULTS } from './store-options.js';
export type { BarrierStoreOptions, StoreDefaults } from './store-options.js';
export type { BarrierStoreEvent, BarrierStoreStats, HeldReason } from './store-events.js';
export { DEFAULT_RETRY_DELAY } from './retry-delay.js';
export type { RetryDelay } from './retry-delay.js';
export type { JobStatus, DeliveryResult } from './job-status.js';
export { pull, PULL_DEFAULTS } from './pull.js';
export type { PullBatch, PullOptions } from './pull.js';
