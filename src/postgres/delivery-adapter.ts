// The one file that knows the shape of orderedDelivery's options: when they
// change (deliver(job, { attempt, signal }), attemptTimeout, maxAttempts on
// the store), only this file changes.
import { from, Observable, type Subscription } from 'rxjs';
import { describeValue, UnsupportedStateError } from '../core/errors.js';
import type { DeliveryOutcome, OrderedDeliveryOptions } from '../operators/ordered-delivery.js';
import type { RetryDelay } from '../store/retry.js';
import type { DeliverySlots } from './delivery-slots.js';
import type { PgOutcomeCommitter } from './outcome-committer.js';
import type { PgJob } from './pg-job.js';
import type { PgDeliveryOutcome, PgWorkOptions } from './work-options.js';

const OUTCOMES: readonly string[] = ['succeeded', 'failed', 'aborted', 'filtered'];

/** Options of {@link committedDelivery}. */
export interface CommittedDeliveryOptions<P> {
  /** The user's deliver. */
  deliver: PgWorkOptions<P>['deliver'];
  /** Where outcomes are committed, before orderedDelivery hears of them. */
  committer: PgOutcomeCommitter;
  /** The epoch under which this pipeline owns the jobs' partition. */
  epoch: string;
  /** Attempts counted across processes: the failed attempt with this number is committed `aborted`. */
  maxAttempts: number;
  /** Deliveries in flight in this process, shared by all its partitions. */
  slots?: DeliverySlots;
  /** Deliveries in flight (started or waiting for a slot, until their commit is decided). */
  inFlight?: { count: number; changed?: () => void };
  /** `false` while the partition is being handed over: a delivery not yet begun is not begun. */
  accepting?: () => boolean;
  /** An outcome was committed (before orderedDelivery hears of it). */
  onCommitted?: (job: PgJob<P>, state: PgDeliveryOutcome, error: unknown) => void;
  /**
   * A terminal outcome was committed after the partition's pipeline had been
   * dropped (a lease lost while the commit was under way): orderedDelivery no
   * longer listens, but the job is done in the table and is not delivered
   * again, so its result must still be told. `attempts` counts as the table does.
   */
  onCommittedAfterDrop?: (job: PgJob<P>, state: Exclude<PgDeliveryOutcome, 'failed'>, attempts: number, error: unknown) => void;
  /** An outcome was refused (stale epoch): the partition is no longer ours. */
  onRefused?: (job: PgJob<P>) => void;
  /** Runs after orderedDelivery took an outcome: the place to `store.sync()`. */
  afterOutcome?: () => void;
}

/**
 * The options to give `orderedDelivery` for a partition's pipeline: `deliver`
 * runs the user's deliver with the job's attempt number across processes and
 * an AbortSignal, commits the outcome (`maxAttempts` applied to the committed
 * count), and only then hands the outcome to orderedDelivery, so the next job
 * of the key starts after the commit. A refused commit never settles: the
 * partition's pipeline is being dropped. orderedDelivery itself runs with
 * `maxAttempts: Infinity`, since the count lives in the table.
 *
 * @example
 * jobs$.pipe(orderedDelivery(store, committedDelivery({ deliver, committer, epoch, maxAttempts: 5 }, 64)))
 */
export function committedDelivery<P>(
  options: CommittedDeliveryOptions<P>,
  concurrency: number,
  retryDelay?: RetryDelay,
): OrderedDeliveryOptions<PgJob<P>> {
  const result: OrderedDeliveryOptions<PgJob<P>> = {
    deliver: (job, { attempt }) => deliverCommitted(options, job, attempt),
    concurrency,
    maxAttempts: Infinity,
  };
  if (retryDelay !== undefined) result.retryDelay = retryDelay;
  return result;
}

function deliverCommitted<P>(options: CommittedDeliveryOptions<P>, job: PgJob<P>, localAttempt: number): Observable<DeliveryOutcome> {
  const { deliver, committer, epoch, maxAttempts, slots, inFlight, accepting, onCommitted, onCommittedAfterDrop, onRefused, afterOutcome } = options;
  return new Observable<DeliveryOutcome>((subscriber) => {
    if (accepting !== undefined && !accepting()) return undefined;
    const controller = new AbortController();
    // The table's count when the job was read, plus this process's attempts:
    // a repeat after a takeover carries the number of the attempt it repeats.
    const attempt = job.attempts + localAttempt;
    let active = true;
    let settled = false;
    let counted = true;
    let inner: Subscription | undefined;
    let releaseSlot: (() => void) | undefined;
    if (inFlight !== undefined) inFlight.count++;
    const uncount = () => {
      if (!counted) return;
      counted = false;
      if (inFlight !== undefined) {
        inFlight.count--;
        inFlight.changed?.();
      }
    };

    const finish = (outcome: unknown, error: unknown) => {
      if (settled) return;
      settled = true;
      inner?.unsubscribe();
      releaseSlot?.();
      if (typeof outcome !== 'string' || !OUTCOMES.includes(outcome)) {
        error = new UnsupportedStateError(outcome, ` returned by deliver for job ${job.id} of key ${JSON.stringify(job.key)}`, ['succeeded', 'failed', 'aborted', 'filtered']);
        outcome = 'failed';
      }
      const state = outcome === 'failed' && attempt >= maxAttempts ? 'aborted' : (outcome as PgDeliveryOutcome);
      const record = { id: job.id, partition: job.partition, epoch, state, attempts: attempt, ...(error === undefined ? {} : { error }) };
      void committer.commit(record).then((committed) => {
        uncount();
        if (!active) {
          if (committed && state !== 'failed') onCommittedAfterDrop?.(job, state, attempt, error);
          return;
        }
        if (!committed) {
          onRefused?.(job);
          return;
        }
        onCommitted?.(job, state, error);
        if (state === 'failed') subscriber.error(error ?? new Error(`job ${job.id} failed`));
        else {
          subscriber.next(state);
          subscriber.complete();
        }
        afterOutcome?.();
      });
    };

    const begin = () => {
      if (!active) return;
      if (accepting !== undefined && !accepting()) {
        releaseSlot?.();
        uncount();
        return;
      }
      let input: ReturnType<typeof deliver>;
      try {
        input = deliver(job, { attempt, signal: controller.signal });
      } catch (error) {
        finish('failed', error);
        return;
      }
      if (typeof input === 'string') {
        finish(input, undefined);
        return;
      }
      try {
        inner = from(input).subscribe({
          next: (outcome) => finish(outcome, undefined),
          error: (error: unknown) => finish('failed', error),
          complete: () => finish('failed', new Error(`deliver completed without an outcome for job ${job.id}`)),
        });
      } catch {
        finish('failed', new TypeError(`deliver must return an ObservableInput of the outcome, got ${describeValue(input)} for job ${job.id}`));
      }
      if (settled) inner?.unsubscribe();
    };

    const cancelWait =
      slots === undefined
        ? (begin(), undefined)
        : slots.acquire((release) => {
            releaseSlot = release;
            begin();
          });
    return () => {
      active = false;
      cancelWait?.();
      if (!settled) {
        controller.abort(new Error(`delivery of job ${job.id} stopped: its partition ${job.partition} was given up`));
        inner?.unsubscribe();
        releaseSlot?.();
        uncount();
      }
    };
  });
}
