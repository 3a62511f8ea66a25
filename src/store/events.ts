import type { JobState } from '../core/job-state.js';

/** Why a job was held back at the entrance. */
export type HeldReason = 'rejected' | 'behind' | 'paused';

/**
 * What happened inside a {@link BarrierStore}, for logs and metrics
 * (`store.events$`). Events are built only while someone subscribes.
 */
export type BarrierStoreEvent<T> =
  | { type: 'admitted'; key: string; jobId: number; job: T }
  | { type: 'held'; key: string; jobId: number; job: T; reason: HeldReason }
  | { type: 'released'; key: string; jobId: number; job: T }
  | { type: 'waiting'; key: string; jobId: number; job: T }
  | { type: 'failed'; key: string; jobId: number; job: T; attempt: number; retryIn: number; error?: unknown }
  | { type: 'terminal'; key: string; jobId: number; job: T; state: Exclude<JobState, 'failed' | 'waiting'>; attempts: number }
  | { type: 'overflow'; key: string; jobId: number; job: T }
  | { type: 'recordCreated'; key: string }
  | { type: 'recordDeleted'; key: string }
  | { type: 'keyDisabled'; key: string }
  | { type: 'synced'; applied: number };

/** Counts of what a {@link BarrierStore} holds right now (`store.stats()`). */
export interface BarrierStoreStats {
  /** Jobs held back at an entrance, waiting for the barrier. */
  held: number;
  /** Failed jobs waiting for their retry delay. */
  retrying: number;
  /** Jobs admitted and not yet reported terminal (nor failed nor waiting). */
  admitted: number;
  /** `held + retrying + admitted`: the count `highWaterMark` bounds. */
  total: number;
  /** Keys with a barrier record (`barrier.size`). */
  records: number;
  /** `stateChanged` commands waiting for a sync (`barrier.pending`). */
  queued: number;
  /** Keys the store keeps bookkeeping for (held, retrying, tracked or paused). */
  keys: number;
  /** Open `barrierEnter` subscriptions. */
  entrances: number;
  /** Keys paused by hand. */
  paused: number;
}
