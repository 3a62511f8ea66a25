import { from, Observable, type ObservableInput, type OperatorFunction, type Subscription } from 'rxjs';
import { AttemptTimeoutError, describeValue, UnsupportedStateError } from '../core/errors.js';
import type { Entrance } from '../store/entrance.js';
import type { BarrierStore } from '../store/barrier-store.js';
import type { JobState } from '../core/job-state.js';
import type { DeliveryResult, JobStatus } from '../store/job-status.js';
import { portOf } from '../store/port.js';
import { checkJitter, checkMaxAttempts, checkRetryDelay, type Jitter, type RetryDelay, type RetryPolicy } from '../store/retry.js';
import { timerDelay } from '../util/timer-delay.js';
import { checkCount, checkFunction, checkMilliseconds } from '../util/validate.js';
import { enter } from './barrier-enter.js';
import { concatMapByKey } from './concat-map-by-key.js';
import { reportStatus } from './relay.js';

/** What one call of `deliver` may report. */
export type DeliveryOutcome = 'succeeded' | 'failed' | 'aborted' | 'filtered';

/**
 * A failed attempt that says when to retry (a 429's or 503's `Retry-After`):
 * `retryAfter` ms replace `retryDelay` for this attempt, and jitter never
 * shortens them. A negative or non-finite value errors the pipeline with a
 * RangeError naming the job and the value.
 *
 * @example
 * deliver: async (job) => {
 *   const res = await post(job);
 *   if (res.status === 429) return { state: 'failed', retryAfter: 1_000 * Number(res.headers.get('retry-after')) };
 *   return res.ok ? 'succeeded' : 'failed';
 * }
 */
export interface RetryAfterOutcome {
  /** Always `'failed'`: the attempt failed and will be retried. */
  state: 'failed';
  /** Milliseconds to wait before the retry, at least. */
  retryAfter: number;
}

/** Everything `deliver` may report for one attempt: an outcome, or a failure with its own delay. */
export type DeliveryReport = DeliveryOutcome | RetryAfterOutcome;

/**
 * What `deliver` is given besides the job.
 *
 * @example
 * deliver: (job, { attempt, signal }) => fetch(url, { method: 'POST', body: JSON.stringify({ ...job, attempt }), signal })
 */
export interface DeliveryContext {
  /** The attempt this call makes: 1 for the first call of a job. */
  readonly attempt: number;
  /**
   * Aborts when the attempt runs past `attemptTimeout` (with an
   * {@link AttemptTimeoutError} as its reason) or when the pipeline is
   * unsubscribed. Pass it to `fetch` and the like. Made on first read: a
   * `deliver` that never reads it costs no AbortController (unless
   * `attemptTimeout` is set).
   */
  readonly signal: AbortSignal;
}

/**
 * What `deliver` returns: the outcome, or an `ObservableInput` (Observable,
 * Promise, …) whose first value is the outcome. `PromiseLike<string>` is
 * there so that `async () => 'succeeded'` compiles (TypeScript widens an
 * async arrow's lone literal to `string`); an async outcome that is not one
 * of the outcomes errors the pipeline at run time with an
 * `UnsupportedStateError`.
 */
export type DeliveryReturn = DeliveryReport | ObservableInput<DeliveryReport> | PromiseLike<DeliveryReport | string>;

/**
 * `R`, unless it is a promise of string literals that are not all outcomes
 * (`Promise<'succeeded' | 'waiting'>`): then `never`, so the call does not
 * compile. A promise of plain `string` (the widened `async () => 'succeeded'`)
 * passes and is checked at run time.
 */
export type CheckedDeliveryReturn<R> = R extends PromiseLike<infer V> ? (string extends V ? R : [V] extends [DeliveryReport] ? R : never) : R;

/** Options of {@link orderedDelivery}; `R` is what `deliver` returns, inferred. */
export interface OrderedDeliveryOptions<T, R extends DeliveryReturn = DeliveryReturn> {
  /**
   * Delivers one job: an `ObservableInput` (Observable, Promise, …) whose
   * first value is the outcome, or the outcome itself for a synchronous
   * delivery. A throw, an error, or completing with no value counts as a
   * failed attempt and is kept as the result's `error`. The context carries
   * the attempt number (1 for the first call of a job) and an `AbortSignal`.
   * @example deliver: (job, { signal }) => fetch(url, { method: 'POST', body: job.body, signal }).then((r) => (r.ok ? 'succeeded' : 'failed'))
   */
  deliver: (job: T, context: DeliveryContext) => CheckedDeliveryReturn<R>;
  /**
   * Milliseconds an attempt may take. Past it the attempt's signal aborts
   * with an {@link AttemptTimeoutError}, the delivery is unsubscribed, and
   * the attempt counts as failed (retried, or aborted at `maxAttempts`),
   * so a delivery that never settles cannot hang the pipeline. Runs on the
   * store's scheduler.
   * @default undefined (no timeout)
   * @example attemptTimeout: 10_000
   */
  attemptTimeout?: number;
  /**
   * How many deliveries may run at once over all keys (one per key at most).
   * @default 64
   * @example concurrency: 256
   */
  concurrency?: number;
  /**
   * The failed attempt numbered `maxAttempts` is reported as `aborted`
   * instead: the job's result is `aborted` with the last error. The store
   * applies it (see retry.ts), as it applies its own `maxAttempts` to
   * `barrierState`.
   * @default the store's maxAttempts when it sets one, else 5
   * @example maxAttempts: Infinity // retry until it succeeds
   */
  maxAttempts?: number;
  /**
   * Milliseconds before a failed job is tried again, or a function of the
   * failed attempt (1 for the first), its error and the job. Overrides the
   * store's `retryDelay`. An outcome's `retryAfter` replaces it for that attempt.
   * @default the store's retryDelay (100 ms doubling to 30 s)
   * @example retryDelay: (attempt, error) => (error instanceof AttemptTimeoutError ? 5_000 : 1_000 * 2 ** attempt)
   */
  retryDelay?: RetryDelay<T>;
  /**
   * How retry delays are spread (formulas: {@link Jitter}). Overrides the store's `jitter`.
   * @default the store's jitter ('none' unless set)
   * @example jitter: 'full'
   */
  jitter?: Jitter;
}

/** The defaults of {@link OrderedDeliveryOptions}. */
export const ORDERED_DELIVERY_DEFAULTS = Object.freeze({
  /** Default of {@link OrderedDeliveryOptions.concurrency}. */
  concurrency: 64,
  /** Default of {@link OrderedDeliveryOptions.maxAttempts}. */
  maxAttempts: 5,
});

const NO_OUTCOME = 'deliver completed without an outcome';

/** The context of one attempt; its AbortController is made on first read of `signal`. */
class AttemptContext implements DeliveryContext {
  controller: AbortController | undefined;

  constructor(readonly attempt: number) {}

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }
}

function isRetryAfter(value: unknown): value is RetryAfterOutcome {
  return typeof value === 'object' && value !== null && (value as RetryAfterOutcome).state === 'failed' && 'retryAfter' in value;
}
const OUTCOMES: readonly DeliveryOutcome[] = ['succeeded', 'failed', 'aborted', 'filtered'];

/**
 * Delivers each job in order per key, holding every later job of a key while
 * a failed one waits for its retry: `barrierEnter`, then at most one job per
 * key and at most `concurrency` in all (`concatMapByKey`), `barrierWait`,
 * `deliver(job)`, and the outcome reported as `barrierState` would. Emits one
 * {@link DeliveryResult} per job, when it is terminal; completes when the
 * source has completed and every job is terminal.
 *
 * @example
 * jobs$.pipe(orderedDelivery(store, {
 *   deliver: (job) => post(job).then((res) => (res.ok ? 'succeeded' : res.status < 500 ? 'aborted' : 'failed')),
 *   concurrency: 32,
 *   maxAttempts: 8,
 * })).subscribe((result) => console.log(result.key, result.jobId, result.state));
 */
export function orderedDelivery<T, R extends DeliveryReturn = DeliveryReturn>(
  store: BarrierStore<T>,
  options: OrderedDeliveryOptions<T, R>,
): OperatorFunction<T, DeliveryResult<T>> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`orderedDelivery options must be an object, got ${describeValue(options)}`);
  }
  const { deliver, concurrency = ORDERED_DELIVERY_DEFAULTS.concurrency } = options;
  const port = portOf<T>(store, 'orderedDelivery');
  checkFunction('option deliver', deliver);
  checkCount('option concurrency', concurrency, 1, true);
  checkMaxAttempts('maxAttempts', options.maxAttempts);
  checkRetryDelay('retryDelay', options.retryDelay);
  checkJitter('jitter', options.jitter);
  const { attemptTimeout } = options;
  if (attemptTimeout !== undefined) checkMilliseconds('option attemptTimeout', attemptTimeout);
  const timeout = attemptTimeout === undefined ? undefined : timerDelay(attemptTimeout);
  // The pipeline's retry policy: its entrance carries it, and the store applies it.
  const retry: Partial<RetryPolicy> = {
    maxAttempts: options.maxAttempts ?? port.maxAttempts ?? ORDERED_DELIVERY_DEFAULTS.maxAttempts,
    ...(options.retryDelay === undefined ? {} : { retryDelay: options.retryDelay }),
    ...(options.jitter === undefined ? {} : { jitter: options.jitter }),
  };

  // barrierWait, deliver and barrierState for one attempt, on the same port calls as those operators.
  const attempt = (job: T): Observable<DeliveryResult<T>> =>
    new Observable<DeliveryResult<T>>((subscriber) => {
      const key = port.keyOf(job);
      const jobId = port.jobIdOf(job);
      // A job that must wait is handed back to its entrance; nothing to emit.
      if (!port.handBackIfWaiting(job, key, jobId)) {
        subscriber.complete();
        return undefined;
      }
      const number = port.attemptOf(key, jobId);
      const context = new AttemptContext(number);
      let settled = false;
      let timer: Subscription | undefined;

      const settle = (reportedOutcome: unknown, error: unknown, hasError: boolean): void => {
        settled = true;
        timer?.unsubscribe();
        // Torn down meanwhile (deliver unsubscribed the pipeline): the job went with its entrance.
        if (subscriber.closed) return;
        let outcome = reportedOutcome;
        let retryAfter: unknown;
        if (isRetryAfter(outcome)) {
          retryAfter = outcome.retryAfter;
          outcome = 'failed';
        }
        if (outcome !== 'succeeded' && outcome !== 'failed' && outcome !== 'aborted' && outcome !== 'filtered') {
          subscriber.error(new UnsupportedStateError(outcome, ` returned by deliver for job ${describeValue(job)}`, OUTCOMES));
          return;
        }
        let state: JobState;
        try {
          const status: JobStatus<T> = hasError ? { job, state: outcome, error } : { job, state: outcome };
          if (retryAfter !== undefined) status.retryAfter = retryAfter as number;
          state = reportStatus(port, status);
        } catch (reportError) {
          // An illegal sequence, or a job the store does not know: not retried.
          subscriber.error(reportError);
          return;
        }
        if (state === 'succeeded' || state === 'aborted' || state === 'filtered') {
          const result: DeliveryResult<T> = { job, key, jobId, state, attempts: number };
          if (hasError) result.error = error;
          subscriber.next(result);
        }
        subscriber.complete();
      };
      if (timeout !== undefined) {
        context.controller = new AbortController();
        timer = port.scheduler.schedule(() => {
          if (settled) return;
          const error = new AttemptTimeoutError(job, number, timeout);
          context.controller!.abort(error);
          subscription?.unsubscribe();
          settle('failed', error, true);
        }, timeout);
      }
      let subscription: Subscription | undefined;
      let input: DeliveryReturn;
      try {
        input = deliver(job, context) as DeliveryReturn;
      } catch (error) {
        settle('failed', error, true);
        return undefined;
      }
      // A bare outcome: settled at once (as an iterable, a string would be
      // read character by character).
      if (typeof input === 'string' || isRetryAfter(input)) {
        settle(input, undefined, false);
        return undefined;
      }
      let delivery: Observable<DeliveryReport | string>;
      try {
        delivery = from(input as ObservableInput<DeliveryReport | string>);
      } catch {
        throw new TypeError(
          `deliver must return an ObservableInput of the outcome (an Observable, a Promise, …), ` +
            `got ${describeValue(input)} for job ${describeValue(job)}`,
        );
      }
      subscription = delivery.subscribe({
        next: (outcome) => {
          if (!settled) settle(outcome, undefined, false);
        },
        error: (error: unknown) => {
          if (!settled) settle('failed', error, true);
        },
        complete: () => {
          if (!settled) settle('failed', new Error(`${NO_OUTCOME} for job ${describeValue(job)}`), true);
        },
      });
      // The first value settles the attempt: stop the delivery's stream.
      // Settled at once (a synchronous delivery), nothing is left to tear down.
      if (settled) {
        subscription.unsubscribe();
        return undefined;
      }
      return () => {
        subscription?.unsubscribe();
        if (settled) return;
        // Unsubscribed with the attempt in flight (the pipeline went down): tell deliver.
        settled = true;
        timer?.unsubscribe();
        context.controller?.abort(new Error(`the pipeline delivering job ${describeValue(job)} was unsubscribed`));
      };
    });

  const runByKey = concatMapByKey((job: T) => port.keyOf(job), attempt, concurrency);
  return (source) =>
    new Observable<DeliveryResult<T>>((subscriber) => {
      let entrance: Entrance<T> | undefined;
      const subscription = enter(port, source, retry, (opened) => (entrance = opened))
        .pipe(runByKey)
        .subscribe(subscriber);
      return () => {
        subscription.unsubscribe();
        // The executor went down with the entrance: none of its jobs will report.
        if (entrance !== undefined) port.executorClosed(entrance);
      };
    });
}
