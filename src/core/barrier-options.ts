import { describeValue, type BarrierMetadata, type IllegalJobSequenceError } from './errors.js';
import { checkCount, checkFunction, checkMilliseconds } from '../util/validate.js';

/** Options of a {@link Barrier}. Every option is optional. */
export interface BarrierOptions {
  /**
   * After a key's failed job is **aborted**, at most this many jobs of that
   * key may be admitted at once, until one of them succeeds, is filtered or
   * aborts again (the drain limit). `0` switches the drain limit off.
   * The production router runs with `1`.
   * @default 0
   * @example new Barrier({ concurrencyLimit: 1 })
   */
  concurrencyLimit?: number;
  /**
   * Included in every error message and in `toString()`, to tell barriers
   * apart in logs.
   * @default {}
   * @example new Barrier({ metadata: { destination: 'webhooks-eu' } })
   */
  metadata?: BarrierMetadata;
  /**
   * When greater than 0, a key with this many admitted, still running jobs
   * has its ordering **disabled**, so one hot key cannot hold back everyone;
   * it comes back through `halfEnabled` to `enabled` after
   * `disabledDuration` and `halfEnabledDuration`. `0` switches it off.
   * The production router runs with `200`.
   * @default 0
   * @example new Barrier({ keyThreshold: 200 })
   */
  keyThreshold?: number;
  /**
   * Milliseconds a disabled key stays disabled before it goes
   * `halfEnabled` (checked at its next `enter`, or by `prune()`).
   * @default 600_000 (10 minutes)
   * @example new Barrier({ keyThreshold: 200, disabledDuration: 20 * 60_000 })
   */
  disabledDuration?: number;
  /**
   * Milliseconds a `halfEnabled` key waits before it is `enabled` again.
   * While half-enabled, ordering is enforced but out-of-order ids are not
   * reported as illegal sequences.
   * @default 300_000 (5 minutes)
   * @example new Barrier({ keyThreshold: 200, halfEnabledDuration: 10 * 60_000 })
   */
  halfEnabledDuration?: number;
  /**
   * Called at `enter` (for every key when `keyThreshold > 0`, else for a key
   * with a record) and when a job fails: when it returns `true`, ordering is
   * switched off for that key now.
   * @default undefined (ordering on for every key)
   * @example new Barrier({ orderingDisabled: (key) => key.startsWith('bulk:') })
   */
  orderingDisabled?: (key: string) => boolean;
  /**
   * `'throw'` throws an {@link IllegalJobSequenceError} (the barrier is left
   * as it was); a callback receives it instead, after the operation has
   * taken effect.
   * @default 'throw'
   * @example new Barrier({ onIllegalSequence: (error) => console.warn(error.message) })
   */
  onIllegalSequence?: 'throw' | ((error: IllegalJobSequenceError) => void);
  /**
   * Extra text for illegal-sequence messages, e.g. the jobs a key has in
   * flight.
   * @default undefined
   * @example new Barrier({ debugInfo: (key) => `pending: ${pendingOf(key).join(',')}` })
   */
  debugInfo?: (key: string) => string;
  /**
   * The clock, in milliseconds. The barrier reads time from here only.
   * `BarrierStore` passes its scheduler's `now`.
   * @default Date.now
   * @example new Barrier({ now: () => scheduler.now() })
   */
  now?: () => number;
}

/** Options with every default filled in. */
export interface ResolvedBarrierOptions {
  readonly concurrencyLimit: number;
  readonly metadata: BarrierMetadata;
  readonly keyThreshold: number;
  readonly disabledDuration: number;
  readonly halfEnabledDuration: number;
  readonly orderingDisabled: ((key: string) => boolean) | undefined;
  readonly onIllegalSequence: 'throw' | ((error: IllegalJobSequenceError) => void);
  readonly debugInfo: ((key: string) => string) | undefined;
  readonly now: () => number;
}

/** The defaults of {@link BarrierOptions}, in one place. */
export const BARRIER_DEFAULTS = Object.freeze({
  /** Default of {@link BarrierOptions.concurrencyLimit}: no drain limit. */
  concurrencyLimit: 0,
  /** Default of {@link BarrierOptions.keyThreshold}: keys are never disabled. */
  keyThreshold: 0,
  /** Default of {@link BarrierOptions.disabledDuration}: ten minutes, in ms. */
  disabledDuration: 10 * 60_000,
  /** Default of {@link BarrierOptions.halfEnabledDuration}: five minutes, in ms. */
  halfEnabledDuration: 5 * 60_000,
  /** Default of {@link BarrierOptions.onIllegalSequence}: throw the error. */
  onIllegalSequence: 'throw',
} as const);

function count(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  checkCount(`option ${name}`, value, 0, false);
  return value;
}

function duration(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  checkMilliseconds(`option ${name}`, value);
  return value;
}

function callback<F>(name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  checkFunction(`option ${name}`, value);
  return value as F;
}

/**
 * Validates `options` and fills in the defaults. Throws a TypeError or
 * RangeError naming the first offending option and its value.
 */
export function resolveBarrierOptions(options: BarrierOptions = {}): ResolvedBarrierOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Barrier options must be an object, got ${describeValue(options)}`);
  }
  const { metadata = {}, onIllegalSequence = BARRIER_DEFAULTS.onIllegalSequence } = options;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new TypeError(`option metadata must be a plain object, got ${describeValue(metadata)}`);
  }
  for (const [name, value] of Object.entries(metadata)) {
    const type = typeof value;
    if (type !== 'string' && type !== 'number' && type !== 'boolean') {
      throw new TypeError(`option metadata.${name} must be a string, a number or a boolean, got ${describeValue(value)}`);
    }
  }
  if (onIllegalSequence !== 'throw' && typeof onIllegalSequence !== 'function') {
    throw new TypeError(`option onIllegalSequence must be 'throw' or a function, got ${describeValue(onIllegalSequence)}`);
  }
  return {
    concurrencyLimit: count('concurrencyLimit', options.concurrencyLimit, BARRIER_DEFAULTS.concurrencyLimit),
    metadata: Object.freeze({ ...metadata }),
    keyThreshold: count('keyThreshold', options.keyThreshold, BARRIER_DEFAULTS.keyThreshold),
    disabledDuration: duration('disabledDuration', options.disabledDuration, BARRIER_DEFAULTS.disabledDuration),
    halfEnabledDuration: duration('halfEnabledDuration', options.halfEnabledDuration, BARRIER_DEFAULTS.halfEnabledDuration),
    orderingDisabled: callback('orderingDisabled', options.orderingDisabled),
    onIllegalSequence,
    debugInfo: callback('debugInfo', options.debugInfo),
    now: callback<() => number>('now', options.now) ?? Date.now,
  };
}
