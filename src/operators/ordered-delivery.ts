import { from, Observable, type ObservableInput, type OperatorFunction } from 'rxjs';
import { describeValue, UnsupportedStateError } from '../core/errors.js';
import type { Entrance } from '../store/entrance.js';
import type { BarrierStore } from '../store/barrier-store.js';
import type { DeliveryResult } from '../store/job-status.js';
import { portOf } from '../store/port.js';
import { checkMaxAttempts, checkRetryDelay, type RetryDelay } from '../store/retry.js';
import { checkCount, checkFunction } from '../util/validate.js';
import { enter } from './barrier-enter.js';
import { concatMapByKey } from './concat-map-by-key.js';
import { reportStatus } from './relay.js';

/** What one call of `deliver` may report. */
export type DeliveryOutcome = 'succeeded' | 'failed' | 'aborted' | 'filtered';

/** Options of {@link orderedDelivery}. */
export interface OrderedDeliveryOptions<T> {
  /**
   * Delivers one job: an `ObservableInput` (Observable, Promise, …) whose
   * first value is the outcome, or the outcome itself for a synchronous
   * delivery. A throw, an error, or completing with no value counts as a
   * failed attempt and is kept as the result's `error`. `attempt` is 1 for
   * the first call of a job.
   * @example deliver: (job) => fetch(url, { method: 'POST', body: job.body }).then((r) => (r.ok ? 'succeeded' : 'failed'))
   */
  deliver: (job: T, attempt: number) => ObservableInput<DeliveryOutcome> | DeliveryOutcome;
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
   * failed attempt (1 for the first). Overrides the store's `retryDelay`.
   * @default the store's retryDelay (100 ms doubling to 30 s)
   * @example retryDelay: (attempt) => 1_000 * 2 ** attempt
   */
  retryDelay?: RetryDelay;
}

/** The defaults of {@link OrderedDeliveryOptions}. */
export const ORDERED_DELIVERY_DEFAULTS = Object.freeze({
  /** Default of {@link OrderedDeliveryOptions.concurrency}. */
  concurrency: 64,
  /** Default of {@link OrderedDeliveryOptions.maxAttempts}. */
  maxAttempts: 5,
});

const NO_OUTCOME = 'deliver completed without an outcome';
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
export function orderedDelivery<T>(
  store: BarrierStore<T>,
  options: OrderedDeliveryOptions<T>,
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
  // The pipeline's retry policy: its entrance carries it, and the store applies it.
  const retry = {
    maxAttempts: options.maxAttempts ?? port.maxAttempts ?? ORDERED_DELIVERY_DEFAULTS.maxAttempts,
    ...(options.retryDelay === undefined ? {} : { retryDelay: options.retryDelay }),
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
      let settled = false;

      const settle = (outcome: unknown, error: unknown, hasError: boolean): void => {
        settled = true;
        // Torn down meanwhile (deliver unsubscribed the pipeline): the job went with its entrance.
        if (subscriber.closed) return;
        if (outcome !== 'succeeded' && outcome !== 'failed' && outcome !== 'aborted' && outcome !== 'filtered') {
          subscriber.error(new UnsupportedStateError(outcome, ` returned by deliver for job ${describeValue(job)}`, OUTCOMES));
          return;
        }
        let reported: { state: string; attempts: number };
        try {
          reported = reportStatus(port, hasError ? { job, state: outcome, error } : { job, state: outcome });
        } catch (reportError) {
          // An illegal sequence, or a job the store does not know: not retried.
          subscriber.error(reportError);
          return;
        }
        const { state } = reported;
        if (state === 'succeeded' || state === 'aborted' || state === 'filtered') {
          const result: DeliveryResult<T> = { job, key, jobId, state, attempts: number };
          if (hasError) result.error = error;
          subscriber.next(result);
        }
        subscriber.complete();
      };
      let input: ObservableInput<DeliveryOutcome> | DeliveryOutcome;
      try {
        input = deliver(job, number);
      } catch (error) {
        settle('failed', error, true);
        return undefined;
      }
      // A bare outcome: settled at once (as an iterable, a string would be
      // read character by character).
      if (typeof input === 'string') {
        settle(input, undefined, false);
        return undefined;
      }
      let delivery: Observable<DeliveryOutcome>;
      try {
        delivery = from(input);
      } catch {
        throw new TypeError(
          `deliver must return an ObservableInput of the outcome (an Observable, a Promise, …), ` +
            `got ${describeValue(input)} for job ${describeValue(job)}`,
        );
      }
      const subscription = delivery.subscribe({
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
      if (settled) subscription.unsubscribe();
      return subscription;
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
