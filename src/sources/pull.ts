import { Observable, type Subscription } from 'rxjs';
import { describeValue } from '../core/errors.js';
import type { BarrierStore } from '../store/barrier-store.js';
import { portOf } from '../store/port.js';
import { timerDelay } from '../util/timer-delay.js';
import { checkCount, checkMilliseconds } from '../util/validate.js';

/** A batch source: returns up to `demand` jobs, `[]` when none are ready yet, `null` when it has ended. */
export type PullBatch<T> = (demand: number) => Promise<readonly T[] | null>;

/** Options of {@link pull}. */
export interface PullOptions {
  /**
   * Milliseconds to wait before polling a batch source again after it
   * returned no jobs (on the store's scheduler).
   * @default 1000
   * @example pollInterval: 250
   */
  pollInterval?: number;
  /**
   * The most jobs asked of a batch source at once, when the store has more
   * room than that (always, without a `highWaterMark`).
   * @default 1000
   * @example batchSize: 500
   */
  batchSize?: number;
}

/**
 * Milliseconds `pull` may run on promise callbacks alone before it yields to
 * the scheduler: a source that resolves without I/O would otherwise starve
 * retry timers and the automatic sync until the high-water mark stops it.
 */
const SLICE = 10;

/** The defaults of {@link PullOptions}. */
export const PULL_DEFAULTS = Object.freeze({
  /** Default of {@link PullOptions.pollInterval}, in ms. */
  pollInterval: 1000,
  /** Default of {@link PullOptions.batchSize}. */
  batchSize: 1000,
});

/**
 * Turns a pull-based source into an Observable that asks for more only while
 * `store` is below its `highWaterMark`, and waits for `store.pressure$` to
 * fall before asking again. The source is an `AsyncIterable` (a database
 * cursor, a broker consumer; `return()` is called on unsubscribe) or a batch
 * function polled every `pollInterval` while it has nothing (`null` ends it).
 *
 * @example
 * pull((demand) => db.query('SELECT * FROM jobs WHERE status = $1 LIMIT $2', ['pending', demand]), store)
 *   .pipe(orderedDelivery(store, { deliver }))
 *   .subscribe();
 */
export function pull<T>(
  source: AsyncIterable<T> | PullBatch<T>,
  store: BarrierStore<T>,
  options: PullOptions = {},
): Observable<T> {
  const { pollInterval = PULL_DEFAULTS.pollInterval, batchSize = PULL_DEFAULTS.batchSize } = options;
  checkMilliseconds('option pollInterval', pollInterval);
  checkCount('option batchSize', batchSize, 1, false);
  const port = portOf<T>(store, 'pull');
  const isIterable = typeof source === 'object' && source !== null && Symbol.asyncIterator in source;
  if (!isIterable && typeof source !== 'function') {
    throw new TypeError(`pull source must be an AsyncIterable or a batch function, got ${describeValue(source)}`);
  }
  const scheduler = port.scheduler;

  return new Observable<T>((subscriber) => {
    let closed = false;
    let busy = false;
    /** Jobs asked for and not yet received, counted in the store's room meanwhile. */
    let requested = 0;
    /** The store's pressure$, as last seen. */
    let full = false;
    let timer: Subscription | undefined;
    let sliceStart = scheduler.now();
    const iterator = isIterable ? (source as AsyncIterable<T>)[Symbol.asyncIterator]() : undefined;

    /** The request out was answered (or never will be): its room goes back to the store. */
    const answered = (): void => {
      if (!busy) return;
      busy = false;
      port.received(requested);
      requested = 0;
    };
    const fail = (error: unknown): void => {
      answered();
      closed = true;
      subscriber.error(error);
    };
    const end = (): void => {
      closed = true;
      subscriber.complete();
    };

    // Asks the source for more while the store has room; one request at a time.
    const ask = (): void => {
      if (closed || busy) return;
      const demand = port.request(iterator !== undefined ? 1 : batchSize);
      if (demand === 0) {
        // Under pressure, pressure$ turning false asks again. Otherwise the
        // room is out with another pull's request, and nothing would tell us
        // when it comes back: look again after pollInterval.
        if (!full && timer === undefined) askLater(timerDelay(pollInterval));
        return;
      }
      busy = true;
      requested = demand;
      if (iterator !== undefined) {
        let nextStep: Promise<IteratorResult<T>>;
        try {
          nextStep = Promise.resolve(iterator.next());
        } catch (error) {
          // Thrown here it would escape into pressure$ or a promise callback
          // and leave the stream hanging.
          return fail(error);
        }
        nextStep.then((step) => {
          answered();
          if (closed) return;
          if (typeof step !== 'object' || step === null) {
            return fail(new TypeError(`pull iterator's next() must resolve to an IteratorResult, got ${describeValue(step)}`));
          }
          if (step.done === true) return end();
          subscriber.next(step.value);
          askAgain();
        }, fail);
        return;
      }
      let batch: Promise<readonly T[] | null>;
      try {
        batch = Promise.resolve((source as PullBatch<T>)(demand));
      } catch (error) {
        return fail(error);
      }
      batch.then((jobs) => {
        answered();
        if (closed) return;
        if (jobs === null) return end();
        if (!Array.isArray(jobs)) return fail(new TypeError(`pull batch function must resolve to an array or null, got ${describeValue(jobs)}`));
        for (const job of jobs) {
          if (closed) return;
          subscriber.next(job);
        }
        if (jobs.length > 0) askAgain();
        else askLater(timerDelay(pollInterval));
      }, fail);
    };
    const askLater = (delay: number): void => {
      timer = scheduler.schedule(() => {
        timer = undefined;
        sliceStart = scheduler.now();
        ask();
      }, delay);
    };
    const askAgain = (): void => {
      if (scheduler.now() - sliceStart < SLICE) ask();
      else askLater(0);
    };

    const pressure = store.pressure$.subscribe((pressured) => {
      full = pressured;
      if (pressured) return;
      sliceStart = scheduler.now();
      ask();
    });
    return () => {
      closed = true;
      // A request still out is never received: give its room back.
      answered();
      pressure.unsubscribe();
      timer?.unsubscribe();
      // Let a cursor or consumer release what it holds.
      if (iterator?.return !== undefined) {
        try {
          Promise.resolve(iterator.return()).catch(() => undefined);
        } catch {
          // The stream is over either way; a failing return() must not break unsubscribe.
        }
      }
    };
  });
}
