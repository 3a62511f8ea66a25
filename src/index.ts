/**
 * Per-key, in-order delivery with hold-on-failure: the synchronous
 * {@link Barrier}, the {@link BarrierStore} the operators share,
 * {@link pull} for backpressured sources, and the operators
 * (`orderedDelivery`, `barrierEnter`, …; `rx-barrier/operators` re-exports
 * the same ones).
 *
 * @module rx-barrier
 */
export { Barrier } from './core/barrier.js';
export type { EnterResult, WaitResult } from './core/barrier.js';
export { BARRIER_DEFAULTS } from './core/barrier-options.js';
export type { BarrierOptions } from './core/barrier-options.js';
export type { BarrierMode, BarrierRecordSnapshot, BarrierSnapshot, QueuedStateSnapshot } from './core/barrier-snapshot.js';
export { AttemptTimeoutError, HeldJobsOverflowError, IllegalJobSequenceError, StoreClosedError, UnsupportedStateError } from './core/errors.js';
export type { BarrierMetadata, IllegalSequenceLocation } from './core/errors.js';
export { JOB_STATES, isJobState } from './core/job-state.js';
export type { JobState } from './core/job-state.js';
export { BarrierStore } from './store/barrier-store.js';
export { STORE_DEFAULTS } from './store/store-options.js';
export type { BarrierStoreOptions, StoreDefaults } from './store/store-options.js';
export type { BarrierStoreEvent, BarrierStoreStats, HeldReason } from './store/events.js';
export { DEFAULT_RETRY_DELAY } from './store/retry.js';
export type { Jitter, RetryDelay } from './store/retry.js';
export { pull, PULL_DEFAULTS } from './sources/pull.js';
export type { PullBatch, PullOptions } from './sources/pull.js';
// The operators, and their types (from the one module that declares each).
export * from './operators/index.js';
