/** Where an illegal job sequence was detected. */
export type IllegalSequenceLocation = 'enter' | 'wait' | 'job_failed';

/** Metadata attached to a barrier and repeated in its error messages. */
export type BarrierMetadata = Readonly<Record<string, string | number | boolean>>;

/** Renders metadata as `{a=1, b=x}`; the empty string when there is none. */
export function formatMetadata(metadata: BarrierMetadata): string {
  const pairs = Object.keys(metadata).map((name) => `${name}=${String(metadata[name])}`);
  return pairs.length === 0 ? '' : `{${pairs.join(', ')}}`;
}

/**
 * A job state that the barrier does not know (the Go original's
 * `ErrUnsupportedState`). The barrier is left unchanged.
 *
 * @example
 * try { barrier.stateChanged('user-1', 7, 'executing' as JobState) }
 * catch (error) { if (error instanceof UnsupportedStateError) console.log(error.state) }
 */
export class UnsupportedStateError extends Error {
  /** `'UnsupportedStateError'`, so logs and serialised errors say which error this is. */
  override readonly name = 'UnsupportedStateError';
  /** The state that was given. */
  readonly state: unknown;

  constructor(
    state: unknown,
    context = '',
    expected: readonly string[] = ['succeeded', 'failed', 'aborted', 'waiting', 'filtered'],
  ) {
    super(`unsupported job state ${describeValue(state)}${context}: expected one of ${expected.map((name) => `'${name}'`).join(', ')}`);
    this.state = state;
  }
}

/**
 * A job of a key arrived (at `enter`, at `wait`, or as a failure) after a
 * later job of the same key had already failed: the caller broke the
 * precondition that job ids of a key become visible in increasing order.
 *
 * Thrown by default; pass `onIllegalSequence` to receive it instead.
 *
 * @example
 * const barrier = new Barrier({ onIllegalSequence: (error) => log.warn(error.message) });
 */
export class IllegalJobSequenceError extends Error {
  /** `'IllegalJobSequenceError'`, so logs and serialised errors say which error this is. */
  override readonly name = 'IllegalJobSequenceError';

  constructor(
    /** The operation that met the sequence: `enter`, `wait` or `job_failed`. */
    readonly location: IllegalSequenceLocation,
    /** The ordering key. */
    readonly key: string,
    /** The key's failed job, later than `jobId`. */
    readonly previousFailedJobId: number,
    /** The job that came out of order. */
    readonly jobId: number,
    /** The barrier's metadata. */
    readonly metadata: BarrierMetadata = {},
    /** What the barrier's `debugInfo(key)` returned, if it has one. */
    readonly debugInfo?: string,
  ) {
    const meta = formatMetadata(metadata);
    super(
      `illegal job sequence at ${location}: job ${jobId} of key ${JSON.stringify(key)} ` +
        `came after its failed job ${previousFailedJobId}` +
        (meta === '' ? '' : ` (barrier ${meta})`) +
        (debugInfo === undefined || debugInfo === '' ? '' : `; ${debugInfo}`),
    );
  }
}

/**
 * More jobs of one key are held than the store's `maxHeldPerKey` allows and
 * no `onOverflow` callback was given. Errors the stream; the job is not lost:
 * it is the error's `job`.
 *
 * @example
 * orderedDelivery(store, { deliver }).subscribe({
 *   error: (error) => { if (error instanceof HeldJobsOverflowError) park(error.job) },
 * });
 */
export class HeldJobsOverflowError extends Error {
  /** `'HeldJobsOverflowError'`, so logs and serialised errors say which error this is. */
  override readonly name = 'HeldJobsOverflowError';

  constructor(
    /** The key whose held jobs overflowed. */
    readonly key: string,
    /** The job that did not fit. */
    readonly job: unknown,
    /** The `maxHeldPerKey` in force. */
    readonly maxHeldPerKey: number,
  ) {
    const limit =
      maxHeldPerKey === 0
        ? 'may hold no jobs (maxHeldPerKey 0)'
        : `already holds ${maxHeldPerKey} ${maxHeldPerKey === 1 ? 'job' : 'jobs'} (maxHeldPerKey)`;
    super(`key ${JSON.stringify(key)} ${limit}; job ${describeValue(job)} does not fit: pass onOverflow to park such jobs`);
  }
}

/**
 * An attempt of `orderedDelivery` ran past its `attemptTimeout`: the
 * attempt's signal aborts with it, and the attempt counts as failed (its
 * error, for a job that ends aborted, is this).
 *
 * @example
 * results$.pipe(filter((r) => r.error instanceof AttemptTimeoutError)).subscribe((r) => log.warn(r.error.message));
 */
export class AttemptTimeoutError extends Error {
  /** `'AttemptTimeoutError'`, so logs and serialised errors say which error this is. */
  override readonly name = 'AttemptTimeoutError';

  constructor(
    /** The job whose attempt timed out. */
    readonly job: unknown,
    /** The attempt that timed out, 1 for the first. */
    readonly attempt: number,
    /** The `attemptTimeout` in force, in ms. */
    readonly timeout: number,
  ) {
    super(`attempt ${attempt} of job ${describeValue(job)} did not settle within attemptTimeout ${timeout} ms`);
  }
}

/**
 * The store is closed (`store.close()` was called): it opens no new
 * pipeline. Jobs arriving at a pipeline while it closes are not lost: they
 * are among the jobs `close()` resolves with.
 *
 * @example
 * try { jobs$.pipe(orderedDelivery(store, { deliver })).subscribe(); } catch (e) { if (e instanceof StoreClosedError) restart(); }
 */
export class StoreClosedError extends Error {
  /** `'StoreClosedError'`, so logs and serialised errors say which error this is. */
  override readonly name = 'StoreClosedError';

  constructor() {
    super('the BarrierStore is closed (store.close() was called): it takes no new pipelines; make a new store');
  }
}

/** A short, safe rendering of any value for an error message. */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
    case 'bigint':
      return `${value}n`;
    case 'symbol':
    case 'function':
      return String(value);
    case 'object': {
      if (value === null) return 'null';
      try {
        const json = JSON.stringify(value);
        if (json !== undefined) return json.length > 120 ? `${json.slice(0, 117)}...` : json;
      } catch {
        // circular or otherwise unserialisable: fall through
      }
      return Object.prototype.toString.call(value);
    }
    default:
      return String(value);
  }
}
