// Behaviour: orderedDelivery's attempt context (attempt number, AbortSignal)
// and attemptTimeout, in virtual time on the store's scheduler: a delivery
// that never settles times out, counts as failed, is retried, and cannot
// hang the pipeline; the signal aborts on timeout and on unsubscribe.
import { from, NEVER, Observable, of, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { AttemptTimeoutError, orderedDelivery, type DeliveryContext, type DeliveryResult } from '../../src/index.js';
import { job, newStore, type Job } from '../support/jobs.js';
import { advanceTo, newScheduler } from '../support/store-harness.js';

describe('orderedDelivery: the attempt context and attemptTimeout', () => {
  it('passes the attempt number in the context, 1 for the first call of a job', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 10 });
    const seen: number[] = [];
    of(job('a', 1))
      .pipe(orderedDelivery(store, { deliver: (_job, { attempt }) => (seen.push(attempt), attempt < 3 ? 'failed' : 'succeeded') }))
      .subscribe();
    advanceTo(scheduler, 100);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('aborts the signal and counts the attempt failed once it runs past attemptTimeout, then retries on the scheduler', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 10 });
    const signals: { at: number; signal: AbortSignal }[] = [];
    const results: DeliveryResult<Job>[] = [];
    of(job('a', 1))
      .pipe(
        orderedDelivery(store, {
          attemptTimeout: 50,
          maxAttempts: 3,
          deliver: (_job, { attempt, signal }) => {
            signals.push({ at: scheduler.now(), signal });
            // The first two attempts never settle; the third succeeds at once.
            return attempt < 3 ? NEVER : of('succeeded' as const);
          },
        }),
      )
      .subscribe((result) => results.push(result));
    advanceTo(scheduler, 49);
    expect(signals.map(({ at }) => at)).toEqual([0]);
    expect(signals[0]!.signal.aborted).toBe(false);
    advanceTo(scheduler, 50);
    expect(signals[0]!.signal.aborted).toBe(true);
    expect(signals[0]!.signal.reason).toBeInstanceOf(AttemptTimeoutError);
    // Timed out at 50, retried 10 later; timed out at 110, retried at 120.
    advanceTo(scheduler, 200);
    expect(signals.map(({ at }) => at)).toEqual([0, 60, 120]);
    expect(results.map((r) => [r.state, r.attempts])).toEqual([['succeeded', 3]]);
  });

  it('aborts a job whose every attempt times out, with an AttemptTimeoutError naming the job and the timeout', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 0 });
    const results: DeliveryResult<Job>[] = [];
    of(job('a', 1))
      .pipe(orderedDelivery(store, { attemptTimeout: 20, maxAttempts: 2, deliver: () => NEVER }))
      .subscribe((result) => results.push(result));
    advanceTo(scheduler, 100);
    expect(results).toHaveLength(1);
    const { state, attempts, error } = results[0]!;
    expect([state, attempts]).toEqual(['aborted', 2]);
    expect(error).toBeInstanceOf(AttemptTimeoutError);
    expect(error).toMatchObject({ job: job('a', 1), attempt: 2, timeout: 20 });
    expect((error as Error).message).toBe('attempt 2 of job {"key":"a","id":1} did not settle within attemptTimeout 20 ms');
  });

  it('completes a pipeline whose deliveries never settle once they time out (two of twenty, concurrency 2)', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 5 });
    let results: DeliveryResult<Job>[] | undefined;
    from([...Array(20).keys()].map((i) => job(`k${i}`, 1)))
      .pipe(
        orderedDelivery(store, {
          concurrency: 2,
          attemptTimeout: 100,
          maxAttempts: 2,
          deliver: (value) => (value.key === 'k0' || value.key === 'k1' ? NEVER : of('succeeded' as const)),
        }),
        toArray(),
      )
      .subscribe((all) => (results = all));
    advanceTo(scheduler, 1_000);
    expect(results).toHaveLength(20);
    expect(results!.filter((r) => r.state === 'aborted').map((r) => r.key).sort()).toEqual(['k0', 'k1']);
    expect(store.stats().total).toBe(0);
  });

  it('aborts the signal of an attempt in flight when the pipeline is unsubscribed', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler });
    let context: DeliveryContext | undefined;
    const subscription = of(job('a', 1))
      .pipe(orderedDelivery(store, { deliver: (_job, given) => ((context = given), NEVER) }))
      .subscribe();
    const { signal } = context!;
    expect(signal.aborted).toBe(false);
    subscription.unsubscribe();
    expect(signal.aborted).toBe(true);
  });

  it('leaves the signal alone once the attempt has settled, and stops the timeout timer', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler });
    let signal: AbortSignal | undefined;
    const results: DeliveryResult<Job>[] = [];
    of(job('a', 1))
      .pipe(
        orderedDelivery(store, {
          attemptTimeout: 30,
          deliver: (_job, context) => {
            signal = context.signal;
            return new Observable<'succeeded'>((subscriber) => {
              const timer = scheduler.schedule(() => subscriber.next('succeeded'), 10);
              return () => timer.unsubscribe();
            });
          },
        }),
      )
      .subscribe((result) => results.push(result));
    advanceTo(scheduler, 100);
    expect(results.map((r) => [r.state, r.attempts])).toEqual([['succeeded', 1]]);
    expect(signal!.aborted).toBe(false);
  });

  it('gives one signal per attempt: the same object on every read, a fresh one for the next attempt', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 1 });
    const signals: AbortSignal[] = [];
    of(job('a', 1))
      .pipe(
        orderedDelivery(store, {
          deliver: (_job, context) => {
            signals.push(context.signal, context.signal);
            return context.attempt === 1 ? 'failed' : 'succeeded';
          },
        }),
      )
      .subscribe();
    advanceTo(scheduler, 10);
    expect(signals).toHaveLength(4);
    expect(signals[1]).toBe(signals[0]);
    expect(signals[3]).toBe(signals[2]);
    expect(signals[2]).not.toBe(signals[0]);
  });

  it('rejects an attemptTimeout that is not a non-negative finite number of milliseconds', () => {
    const store = newStore();
    expect(() => orderedDelivery(store, { deliver: () => 'succeeded', attemptTimeout: -1 })).toThrow(
      new RangeError('option attemptTimeout must be a non-negative finite number of milliseconds, got -1'),
    );
    expect(() => orderedDelivery(store, { deliver: () => 'succeeded', attemptTimeout: '5' as never })).toThrow(TypeError);
  });
});
