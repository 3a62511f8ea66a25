import type { SchedulerLike } from 'rxjs';
import { asyncScheduler } from 'rxjs';
import type { BarrierOptions } from '../core/barrier-options.js';
import type { BarrierSnapshot } from '../core/barrier-snapshot.js';
import { describeValue } from '../core/errors.js';
import { checkCount, checkMilliseconds } from '../util/validate.js';
import { checkJitter, checkMaxAttempts, checkRetryDelay, DEFAULT_RETRY_DELAY, type Jitter, type RetryDelay, type RetryPolicy } from './retry.js';

/** Options of a {@link BarrierStore}: the barrier's options plus the store's own. */
export interface BarrierStoreOptions<T> extends BarrierOptions {
  /**
   * The ordering key of a job (a user, an account). One key function
   * everywhere: every pipeline sharing the store must agree on it.
   * @example key: (job) => job.userId
   */
  key: (job: T) => string;
  /**
   * The job's id: a safe integer, increasing per key in the order jobs
   * were produced.
   * @example jobId: (job) => job.sequence
   */
  jobId: (job: T) => number;
  /**
   * Where every wait runs: retry delays, the automatic sync, polling, and
   * the barrier's clock (`now` reads `scheduler.now()` unless given).
   * @default asyncScheduler
   * @example scheduler: testScheduler
   */
  scheduler?: SchedulerLike;
  /**
   * `'auto'`: after outcomes are queued, one coalesced `sync()` runs on the
   * scheduler and held jobs of the changed keys are tried again.
   * `'manual'`: nothing is released until you call `store.sync()`, e.g. at
   * the start of each poll of a database.
   * @default 'auto'
   * @example sync: 'manual'
   */
  sync?: 'auto' | 'manual';
  /**
   * How many jobs the store may hold (held + retrying + admitted) before
   * `pressure$` says so and `pull` stops asking for more. Pressure ends when
   * the count has fallen to half of it.
   * @default Infinity
   * @example highWaterMark: 10_000
   */
  highWaterMark?: number;
  /**
   * How many jobs one key may have held back. A new job over it goes to
   * `onOverflow`, or errors the stream with `HeldJobsOverflowError`. Jobs
   * handed back for a retry never overflow.
   * @default Infinity
   * @example maxHeldPerKey: 1_000
   */
  maxHeldPerKey?: number;
  /**
   * Receives each job that overflowed `maxHeldPerKey` (park it, or let the
   * source redeliver it later). Without it, an overflow errors the stream.
   * @default undefined
   * @example onOverflow: (job) => parkingLot.push(job)
   */
  onOverflow?: (job: T) => void;
  /**
   * A barrier snapshot to start from (`store.barrier.snapshot()` saved before
   * a restart), restored with `Barrier.fromSnapshot` and this store's barrier
   * options. Failed jobs it records hold their keys until they are entered
   * again, so feed them to the source first.
   * @default undefined (an empty barrier)
   * @example snapshot: JSON.parse(await readFile('barrier.json', 'utf8'))
   */
  snapshot?: BarrierSnapshot;
  /**
   * Milliseconds before a failed job is re-admitted: a number, or a function
   * of the attempt that failed (1 for the first), its error and the job.
   * Capped at 2^31 - 1 ms (about 24.8 days), the longest a timer waits. A
   * failed status's `retryAfter` replaces it for that attempt.
   * @default attempt => Math.min(100 * 2 ** (attempt - 1), 30_000)
   * @example retryDelay: (attempt, error) => (isRateLimit(error) ? 60_000 : 1_000 * attempt)
   */
  retryDelay?: RetryDelay<T>;
  /**
   * How retry delays are spread so that keys that failed together do not
   * retry together: `'none'`, `'full'` or `'equal'` (formulas: {@link Jitter}).
   * Off by default so that a delay you give is the delay you get; turn it
   * on for webhooks to many endpoints.
   * @default 'none'
   * @example jitter: 'full'
   */
  jitter?: Jitter;
  /**
   * The random numbers jitter draws, in [0, 1): inject a seeded generator
   * to make jittered delays reproducible in tests.
   * @default Math.random
   * @example random: () => 0.5
   */
  random?: () => number;
  /**
   * Milliseconds the store may sit at its `highWaterMark` with no job
   * moving (admitted, released, reported) before `events$` emits `stalled`
   * and `stats().stalled` turns true. See docs/troubleshooting.md.
   * @default 30_000
   * @example stallTimeout: 5_000
   */
  stallTimeout?: number;
  /**
   * The failed attempt numbered `maxAttempts` is reported `aborted` instead
   * of `failed`, on every path (`barrierState` passes the status on with
   * `state: 'aborted'`). `orderedDelivery` takes this value when the store
   * sets it, and 5 otherwise (its own `maxAttempts` option overrides both).
   * @default Infinity
   * @example maxAttempts: 8
   */
  maxAttempts?: number;
}

/** The store's own options with defaults filled in. */
export interface ResolvedStoreOptions<T> {
  readonly key: (job: T) => string;
  readonly jobId: (job: T) => number;
  readonly scheduler: SchedulerLike;
  readonly manualSync: boolean;
  readonly highWaterMark: number;
  readonly maxHeldPerKey: number;
  readonly onOverflow: ((job: T) => void) | undefined;
  /** The retry policy of entrances that set none of their own. */
  readonly retry: RetryPolicy;
  /** `maxAttempts` as given (undefined when not), for `orderedDelivery`'s default. */
  readonly maxAttempts: number | undefined;
  readonly stallTimeout: number;
}

/** The defaults of the store's own options (see {@link BarrierStoreOptions}). */
export interface StoreDefaults {
  /** Default of {@link BarrierStoreOptions.scheduler}. */
  readonly scheduler: SchedulerLike;
  /** Default of {@link BarrierStoreOptions.sync}. */
  readonly sync: 'auto';
  /** Default of {@link BarrierStoreOptions.highWaterMark}. */
  readonly highWaterMark: number;
  /** Default of {@link BarrierStoreOptions.maxHeldPerKey}. */
  readonly maxHeldPerKey: number;
  /** Default of {@link BarrierStoreOptions.retryDelay}. */
  readonly retryDelay: (attempt: number) => number;
  /** Default of {@link BarrierStoreOptions.maxAttempts}. */
  readonly maxAttempts: number;
  /** Default of {@link BarrierStoreOptions.jitter}. */
  readonly jitter: 'none';
  /** Default of {@link BarrierStoreOptions.stallTimeout}. */
  readonly stallTimeout: number;
}

/**
 * The defaults of the store's own options.
 *
 * @example
 * STORE_DEFAULTS.retryDelay(3); // 400
 */
// Typed by an interface: inferred, its type would name rxjs's internal
// AsyncScheduler class, which the declarations would then import by a path
// that only some rxjs 7 versions export.
export const STORE_DEFAULTS: StoreDefaults = Object.freeze({
  scheduler: asyncScheduler,
  sync: 'auto',
  highWaterMark: Infinity,
  maxHeldPerKey: Infinity,
  retryDelay: DEFAULT_RETRY_DELAY,
  maxAttempts: Infinity,
  jitter: 'none',
  stallTimeout: 30_000,
} as const);

function limit(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  checkCount(`option ${name}`, value, min, true);
  return value;
}

function fn(name: string, value: unknown, required: boolean): void {
  if (value === undefined && !required) return;
  if (typeof value !== 'function') throw new TypeError(`option ${name} must be a function, got ${describeValue(value)}`);
}

/** Validates the store's own options; throws a TypeError/RangeError naming the option. */
export function resolveStoreOptions<T>(options: BarrierStoreOptions<T>): ResolvedStoreOptions<T> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`BarrierStore options must be an object, got ${describeValue(options)}`);
  }
  fn('key', options.key, true);
  fn('jobId', options.jobId, true);
  fn('onOverflow', options.onOverflow, false);
  checkRetryDelay('retryDelay', options.retryDelay);
  checkMaxAttempts('maxAttempts', options.maxAttempts);
  checkJitter('jitter', options.jitter);
  fn('random', options.random, false);
  if (options.stallTimeout !== undefined) checkMilliseconds('option stallTimeout', options.stallTimeout);
  const { scheduler = STORE_DEFAULTS.scheduler, sync = STORE_DEFAULTS.sync } = options;
  if (typeof scheduler !== 'object' || scheduler === null || typeof scheduler.schedule !== 'function' || typeof scheduler.now !== 'function') {
    throw new TypeError(`option scheduler must be a SchedulerLike, got ${describeValue(scheduler)}`);
  }
  if (sync !== 'auto' && sync !== 'manual') throw new TypeError(`option sync must be 'auto' or 'manual', got ${describeValue(sync)}`);
  return {
    key: options.key,
    jobId: options.jobId,
    scheduler,
    manualSync: sync === 'manual',
    highWaterMark: limit('highWaterMark', options.highWaterMark, STORE_DEFAULTS.highWaterMark, 1),
    maxHeldPerKey: limit('maxHeldPerKey', options.maxHeldPerKey, STORE_DEFAULTS.maxHeldPerKey, 0),
    onOverflow: options.onOverflow,
    retry: {
      retryDelay: options.retryDelay ?? STORE_DEFAULTS.retryDelay,
      maxAttempts: options.maxAttempts ?? STORE_DEFAULTS.maxAttempts,
      jitter: options.jitter ?? STORE_DEFAULTS.jitter,
      random: options.random ?? Math.random,
    },
    maxAttempts: options.maxAttempts,
    stallTimeout: options.stallTimeout ?? STORE_DEFAULTS.stallTimeout,
  };
}
