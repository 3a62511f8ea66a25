import type { ObservableInput } from 'rxjs';
import type { BarrierOptions } from '../core/barrier-options.js';
import { describeValue } from '../core/errors.js';
import { checkRetryDelay, type RetryDelay } from '../store/retry.js';
import { checkCount, checkFunction, checkMilliseconds } from '../util/validate.js';
import type { PgJob } from './pg-job.js';

/** What `deliver` may report for one attempt. */
export type PgDeliveryOutcome = 'succeeded' | 'failed' | 'aborted' | 'filtered';

/** What `deliver` gets besides the job. */
export interface PgDeliveryContext {
  /** The job's committed attempts + 1: a repeat after a takeover carries the number of the attempt it repeats. */
  attempt: number;
  /** Aborted when this worker loses the job's partition (lease lost, connection cut): stop then. */
  signal: AbortSignal;
}

/** Options of {@link PgJobQueue.work}. */
export interface PgWorkOptions<P> extends Pick<BarrierOptions, 'concurrencyLimit' | 'keyThreshold' | 'metadata'> {
  /**
   * Delivers one job: an `ObservableInput` whose first value is the outcome,
   * or the outcome itself. A throw, an error or no value is a failed attempt.
   * @example deliver: async (job, { signal }) => ((await fetch(url, { method: 'POST', body: JSON.stringify(job.payload), signal })).ok ? 'succeeded' : 'failed')
   */
  deliver: (job: PgJob<P>, context: PgDeliveryContext) => ObservableInput<PgDeliveryOutcome> | PgDeliveryOutcome;
  /**
   * Deliveries in flight in this process, over all its partitions.
   * @default 64
   * @example concurrency: 256
   */
  concurrency?: number;
  /**
   * Attempts per job, counted in all processes (the table's `attempts`): the
   * failed attempt with this number is committed as `aborted`.
   * @default 5
   * @example maxAttempts: Infinity
   */
  maxAttempts?: number;
  /**
   * Milliseconds before a failed job is tried again, or a function of the
   * local attempt that failed, as orderedDelivery's.
   * @default the store's (100 ms doubling to 30 s)
   * @example retryDelay: 1_000
   */
  retryDelay?: RetryDelay;
  /**
   * Jobs that can run, in memory in this process: reads from the table stop
   * at it. Jobs of keys blocked behind a failed job do not count (they are
   * bounded by `maxHeldPerKey`).
   * @default 10_000
   * @example highWaterMark: 1_000
   */
  highWaterMark?: number;
  /**
   * Jobs of one key in memory besides the one running or failed; the rest
   * stay in the table and are read back, in id order, as these finish.
   * @default 1_000
   * @example maxHeldPerKey: 100
   */
  maxHeldPerKey?: number;
  /**
   * Milliseconds: a worker whose lock connection fails, or whose heartbeat
   * has not succeeded for this long, stops delivering; a worker taking a
   * partition over from an owner that did not hand it over waits this long.
   * @default 10_000
   * @example lease: 5_000
   */
  lease?: number;
  /**
   * Milliseconds between heartbeats (a query on the lock connection, which
   * also counts the live workers and rebalances partitions). Less than `lease`.
   * @default min(1_000, lease / 4)
   * @example heartbeat: 500
   */
  heartbeat?: number;
  /**
   * Milliseconds between reads when no NOTIFY came (enqueue wakes workers at once).
   * @default 100
   * @example pollInterval: 1_000
   */
  pollInterval?: number;
  /**
   * Most jobs read from one partition in one read.
   * @default 500
   * @example batchSize: 1_000
   */
  batchSize?: number;
  /**
   * Names this worker in logs, in `pg_stat_activity` and in the partitions table.
   * @default `${hostname}-${pid}-${random}`
   * @example workerId: process.env.HOSTNAME
   */
  workerId?: string;
}

/** The defaults of {@link PgWorkOptions}. */
export const PG_WORK_DEFAULTS = Object.freeze({
  concurrency: 64,
  maxAttempts: 5,
  highWaterMark: 10_000,
  maxHeldPerKey: 1_000,
  lease: 10_000,
  pollInterval: 100,
  batchSize: 500,
});

/** @internal */
export interface ResolvedWorkOptions<P> {
  readonly deliver: PgWorkOptions<P>['deliver'];
  readonly concurrency: number;
  readonly maxAttempts: number;
  readonly retryDelay: RetryDelay | undefined;
  readonly highWaterMark: number;
  readonly maxHeldPerKey: number;
  readonly lease: number;
  readonly heartbeat: number;
  readonly pollInterval: number;
  readonly batchSize: number;
  readonly workerId: string;
  readonly barrier: Pick<BarrierOptions, 'concurrencyLimit' | 'keyThreshold' | 'metadata'>;
}

/** Validates work options; throws a TypeError/RangeError naming the option and its value. */
export function resolveWorkOptions<P>(options: PgWorkOptions<P>, defaultWorkerId: string): ResolvedWorkOptions<P> {
  if (typeof options !== 'object' || options === null) throw new TypeError(`work options must be an object, got ${describeValue(options)}`);
  const d = PG_WORK_DEFAULTS;
  const {
    deliver,
    concurrency = d.concurrency,
    maxAttempts = d.maxAttempts,
    highWaterMark = d.highWaterMark,
    maxHeldPerKey = d.maxHeldPerKey,
    lease = d.lease,
    pollInterval = d.pollInterval,
    batchSize = d.batchSize,
    workerId = defaultWorkerId,
  } = options;
  checkFunction('option deliver', deliver);
  checkCount('option concurrency', concurrency, 1, false);
  checkCount('option maxAttempts', maxAttempts, 1, true);
  checkRetryDelay('retryDelay', options.retryDelay);
  checkCount('option highWaterMark', highWaterMark, 1, false);
  checkCount('option maxHeldPerKey', maxHeldPerKey, 0, false);
  checkMilliseconds('option lease', lease);
  const heartbeat = options.heartbeat ?? Math.min(1_000, lease / 4);
  checkMilliseconds('option heartbeat', heartbeat);
  if (heartbeat <= 0 || lease <= heartbeat) {
    throw new RangeError(`option lease must be longer than the heartbeat (${heartbeat} ms) and the heartbeat positive, got lease ${describeValue(lease)}`);
  }
  checkMilliseconds('option pollInterval', pollInterval);
  checkCount('option batchSize', batchSize, 1, false);
  if (typeof workerId !== 'string' || workerId === '') throw new TypeError(`option workerId must be a non-empty string, got ${describeValue(workerId)}`);
  const barrier: ResolvedWorkOptions<P>['barrier'] = {};
  if (options.concurrencyLimit !== undefined) barrier.concurrencyLimit = options.concurrencyLimit;
  if (options.keyThreshold !== undefined) barrier.keyThreshold = options.keyThreshold;
  if (options.metadata !== undefined) barrier.metadata = options.metadata;
  return {
    deliver,
    concurrency,
    maxAttempts,
    retryDelay: options.retryDelay,
    highWaterMark,
    maxHeldPerKey,
    lease,
    heartbeat,
    pollInterval,
    batchSize,
    workerId,
    barrier,
  };
}
