import { marbles } from 'rxjs-marbles';
import type { Context } from 'rxjs-marbles';
import { asyncScheduler, finalize, from, lastValueFrom, NEVER, of, tap, toArray, type Observable } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { UnsupportedStateError, type DeliveryResult } from '../../src/index.js';
import {
  orderedDelivery,
  ORDERED_DELIVERY_DEFAULTS,
  type DeliveryContext, type DeliveryOutcome,
  type OrderedDeliveryOptions,
} from '../../src/operators/index.js';
import { job, newStore, type Job } from '../support/jobs.js';
import { ABORTS_AFTER_MAX_ATTEMPTS, DELIVERY_RETRY_HOLD_RELEASE, FAILING_KEY_DOES_NOT_DELAY_OTHERS } from '../diagrams.js';
import { playOrderedDelivery } from '../support/diagram-player.js';

const a1 = job('a', 1);
const a2 = job('a', 2);
const a3 = job('a', 3);
const b1 = job('b', 1);
const b2 = job('b', 2);
const c1 = job('c', 1);
const nameOf = (value: Job): string => `${value.key}${value.id}`;

/** Marble values of a delivery: `s` succeeded, `f` failed, `a` aborted, `x` filtered. */
const OUTCOMES: Record<string, DeliveryOutcome> = { s: 'succeeded', f: 'failed', a: 'aborted', x: 'filtered' };

function result(value: Job, state: DeliveryResult<Job>['state'], attempts: number, error?: unknown): DeliveryResult<Job> {
  const shaped: DeliveryResult<Job> = { job: value, key: value.key, jobId: value.id, state, attempts };
  if (error !== undefined) shaped.error = error;
  return shaped;
}

/**
 * A `deliver` that plays one cold marble per attempt: `scripts.a1[0]` is the
 * first attempt of job a1. A `#` errors with `errors.a1[0]`. The colds exist
 * up front so their subscriptions can be asserted.
 */
function scripted(m: Context, scripts: Record<string, string[]>) {
  const errors: Record<string, Error[]> = {};
  const colds: Record<string, Observable<DeliveryOutcome>[]> = {};
  for (const [name, attempts] of Object.entries(scripts)) {
    errors[name] = attempts.map((_, i) => new Error(`${name} attempt ${i + 1}`));
    colds[name] = attempts.map((marble, i) => m.cold(marble, OUTCOMES, errors[name]![i]));
  }
  const calls: string[] = [];
  const unexpected: string[] = [];
  const deliver = (value: Job, { attempt }: DeliveryContext): Observable<DeliveryOutcome> => {
    const name = nameOf(value);
    calls.push(`${name}#${attempt}@${m.scheduler.now()}`);
    const cold = colds[name]?.[attempt - 1];
    if (cold === undefined) {
      unexpected.push(`${name}#${attempt}`);
      return NEVER;
    }
    return cold;
  };
  return { deliver, colds, errors, calls, unexpected };
}

describe('orderedDelivery: scheduling', () => {
  it('runs one delivery per key at a time and at most `concurrency` in all', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler });
    const jobs = m.cold('(abcd)|', { a: a1, b: a2, c: b1, d: c1 });
    const { deliver, colds, unexpected } = scripted(m, {
      a1: ['----(s|)'],
      a2: ['----(s|)'],
      b1: ['----(s|)'],
      c1: ['----(s|)'],
    });
    const expected = '----(AB)(CD|)';

    m.expect(jobs.pipe(orderedDelivery(store, { deliver, concurrency: 2 }))).toBeObservable(expected, {
      A: result(a1, 'succeeded', 1),
      B: result(b1, 'succeeded', 1),
      C: result(a2, 'succeeded', 1),
      D: result(c1, 'succeeded', 1),
    });
    // a2 waits for a1 (same key); c1 waits for a free slot.
    m.expect(colds.a1![0]!).toHaveSubscriptions('^---!');
    m.expect(colds.b1![0]!).toHaveSubscriptions('^---!');
    m.expect(colds.a2![0]!).toHaveSubscriptions('----^---!');
    m.expect(colds.c1![0]!).toHaveSubscriptions('----^---!');
    m.flush();
    expect(unexpected).toEqual([]);
  }));

  it('never runs two deliveries of a key at once nor more than `concurrency` in all', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler });
    const jobs: Job[] = [];
    for (let id = 1; id <= 5; id++) for (let k = 0; k < 6; k++) jobs.push(job(`k${k}`, id));
    const running = new Map<string, number>();
    let inFlight = 0;
    let maxInFlight = 0;
    let maxPerKey = 0;
    const results: DeliveryResult<Job>[] = [];
    from(jobs)
      .pipe(
        orderedDelivery(store, {
          concurrency: 4,
          deliver: (value) => {
            const perKey = (running.get(value.key) ?? 0) + 1;
            running.set(value.key, perKey);
            maxPerKey = Math.max(maxPerKey, perKey);
            maxInFlight = Math.max(maxInFlight, ++inFlight);
            const latency = 1 + ((value.id * 7 + Number(value.key.slice(1))) % 4);
            return m.cold(`${'-'.repeat(latency)}(s|)`, OUTCOMES).pipe(
              finalize(() => {
                running.set(value.key, running.get(value.key)! - 1);
                inFlight--;
              }),
            );
          },
        }),
      )
      .subscribe((delivered) => results.push(delivered));
    m.flush();
    expect(results).toHaveLength(jobs.length);
    expect(maxInFlight).toBe(4);
    expect(maxPerKey).toBe(1);
  }));
});

describe('orderedDelivery: failures and retries', () => {
  it('holds a key\'s later jobs while its failed job waits for a retry', marbles((m) => {
    const { colds, unexpected } = playOrderedDelivery(m, DELIVERY_RETRY_HOLD_RELEASE);
    m.expect(colds.a1![0]!).toHaveSubscriptions('-^--!');
    m.expect(colds.a1![1]!).toHaveSubscriptions('---------^--!');
    m.expect(colds.a2![0]!).toHaveSubscriptions('------------^--!');
    m.flush();
    expect(unexpected).toEqual([]);
  }));

  it('a failing key does not delay other keys', marbles((m) => {
    const { colds, unexpected } = playOrderedDelivery(m, FAILING_KEY_DOES_NOT_DELAY_OTHERS);
    m.expect(colds.b1![0]!).toHaveSubscriptions('^-!');
    m.expect(colds.b2![0]!).toHaveSubscriptions('--^-!');
    m.expect(colds.a1![2]!).toHaveSubscriptions('--------^!');
    m.flush();
    expect(unexpected).toEqual([]);
  }));

  it('retries after a fixed retryDelay', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler });
    const jobs = m.cold('a|', { a: a1 });
    const { deliver, colds } = scripted(m, { a1: ['--f', '--f', '--(s|)'] });

    m.expect(jobs.pipe(orderedDelivery(store, { deliver, retryDelay: 5 }))).toBeObservable('----------------(A|)', {
      A: result(a1, 'succeeded', 3),
    });
    m.expect(colds.a1![0]!).toHaveSubscriptions('^-!');
    m.expect(colds.a1![1]!).toHaveSubscriptions('-------^-!');
    m.expect(colds.a1![2]!).toHaveSubscriptions('--------------^-!');
  }));

  it('retries after retryDelay(attempt), which overrides the store\'s', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler, retryDelay: 1_000 });
    const jobs = m.cold('a|', { a: a1 });
    const { deliver, colds } = scripted(m, { a1: ['--f', '--f', '--(s|)'] });
    const retryDelay = vi.fn((attempt: number) => attempt * 10);

    m.expect(jobs.pipe(orderedDelivery(store, { deliver, retryDelay }))).toBeObservable('36ms (A|)', {
      A: result(a1, 'succeeded', 3),
    });
    m.expect(colds.a1![1]!).toHaveSubscriptions('12ms ^-!');
    m.expect(colds.a1![2]!).toHaveSubscriptions('34ms ^-!');
    m.flush();
    // The attempt that failed, its error (none: a bare 'failed'), and the job.
    expect(retryDelay.mock.calls).toEqual([[1, undefined, a1], [2, undefined, a1]]);
  }));

  it('uses the store\'s retryDelay when it has none of its own', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler, retryDelay: (attempt) => attempt * 4 });
    const jobs = m.cold('a|', { a: a1 });
    const { deliver, colds } = scripted(m, { a1: ['--f', '--f', '--(s|)'] });

    m.expect(jobs.pipe(orderedDelivery(store, { deliver }))).toBeObservable('18ms (A|)', { A: result(a1, 'succeeded', 3) });
    m.expect(colds.a1![1]!).toHaveSubscriptions('6ms ^-!');
    m.expect(colds.a1![2]!).toHaveSubscriptions('16ms ^-!');
  }));

  it('by default waits 100 ms after the first failure and doubles the wait after each', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler });
    const jobs = m.cold('a|', { a: a1 });
    const { deliver, calls } = scripted(m, { a1: ['f', 'f', 'f', '(s|)'] });

    m.expect(jobs.pipe(orderedDelivery(store, { deliver }))).toBeObservable('700ms (A|)', { A: result(a1, 'succeeded', 4) });
    m.flush();
    expect(calls).toEqual(['a1#1@0', 'a1#2@100', 'a1#3@300', 'a1#4@700']);
  }));

  it('passes the attempt number to deliver', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler });
    const jobs = m.cold('(ab)|', { a: a1, b: b1 });
    const { deliver, calls } = scripted(m, { a1: ['f', 'f', '(s|)'], b1: ['(s|)'] });

    jobs.pipe(orderedDelivery(store, { deliver, retryDelay: 1 })).subscribe();
    m.flush();
    expect(calls).toEqual(['a1#1@0', 'b1#1@0', 'a1#2@1', 'a1#3@2']);
  }));

  it('the failed attempt numbered maxAttempts aborts the job, keeping its error', marbles((m) => {
    const { store, colds, errors, calls, results } = playOrderedDelivery(m, ABORTS_AFTER_MAX_ATTEMPTS);
    m.expect(colds.a1![3]!).toHaveSubscriptions([]);
    m.flush();
    expect(results[0]!.error).toBe(errors.a1![2]);
    expect(results[0]!.attempts).toBe(3);
    expect(calls.filter((call) => call.startsWith('a1#'))).toEqual(['a1#1@1', 'a1#2@5', 'a1#3@9']);
    // 'aborted' is terminal: the barrier forgot the failed job.
    expect(store.barrier.peek('a')).toBeUndefined();
  }));

  it('with maxAttempts 1 the first failure aborts', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler });
    const jobs = m.cold('a|', { a: a1 });
    const { deliver } = scripted(m, { a1: ['--f'] });

    m.expect(jobs.pipe(orderedDelivery(store, { deliver, maxAttempts: 1 }))).toBeObservable('--(A|)', {
      A: result(a1, 'aborted', 1),
    });
  }));

  it('by default aborts on the fifth failed attempt', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler });
    const jobs = m.cold('a|', { a: a1 });
    const { deliver, calls } = scripted(m, { a1: ['f', 'f', 'f', 'f', 'f', '(s|)'] });

    jobs.pipe(orderedDelivery(store, { deliver, retryDelay: 1 })).subscribe();
    m.flush();
    expect(ORDERED_DELIVERY_DEFAULTS.maxAttempts).toBe(5);
    expect(calls).toHaveLength(5);
  }));

  it('with maxAttempts Infinity retries until the job succeeds', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler });
    const jobs = m.cold('a|', { a: a1 });
    const { deliver } = scripted(m, { a1: [...Array.from({ length: 9 }, () => 'f'), '(s|)'] });

    m.expect(jobs.pipe(orderedDelivery(store, { deliver, maxAttempts: Infinity, retryDelay: 1 }))).toBeObservable('---------(A|)', {
      A: result(a1, 'succeeded', 10),
    });
  }));

  it('an aborted outcome from deliver is terminal at once', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler });
    const jobs = m.cold('(ab|)', { a: a1, b: a2 });
    const { deliver } = scripted(m, { a1: ['-a'], a2: ['-(s|)'] });

    m.expect(jobs.pipe(orderedDelivery(store, { deliver }))).toBeObservable('-A(B|)', {
      A: result(a1, 'aborted', 1),
      B: result(a2, 'succeeded', 1),
    });
  }));

  it('a filtered outcome is terminal and lets the key go on', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler });
    const jobs = m.cold('(abc)|', { a: a1, b: a2, c: a3 });
    const { deliver } = scripted(m, { a1: ['-x'], a2: ['-f', '-x'], a3: ['-(s|)'] });

    m.expect(jobs.pipe(orderedDelivery(store, { deliver, retryDelay: 2 }))).toBeObservable('-A---B(C|)', {
      A: result(a1, 'filtered', 1),
      B: result(a2, 'filtered', 2),
      C: result(a3, 'succeeded', 1),
    });
  }));

  it('the first value settles the attempt and stops the delivery', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler });
    const jobs = m.cold('a|', { a: a1 });
    const { deliver, colds } = scripted(m, { a1: ['-s-f|'] });

    m.expect(jobs.pipe(orderedDelivery(store, { deliver }))).toBeObservable('-(A|)', { A: result(a1, 'succeeded', 1) });
    m.expect(colds.a1![0]!).toHaveSubscriptions('^!');
  }));
});

describe('orderedDelivery: errors from deliver', () => {
  it('a deliver that throws is a failed attempt and its error is kept', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler });
    const jobs = m.cold('a|', { a: a1 });
    const thrown = [new Error('sync 1'), new Error('sync 2')];
    const deliver = vi.fn((_: Job, { attempt }: DeliveryContext): Observable<DeliveryOutcome> => {
      throw thrown[attempt - 1];
    });
    const results: DeliveryResult<Job>[] = [];
    const failures: unknown[] = [];
    store.events$.subscribe((event) => {
      if (event.type === 'failed') failures.push(event.error);
    });

    const delivered = jobs.pipe(
      orderedDelivery(store, { deliver, maxAttempts: 2, retryDelay: 3 }),
      tap((value) => results.push(value)),
    );
    m.expect(delivered).toBeObservable('---(A|)', { A: result(a1, 'aborted', 2, thrown[1]) });
    m.flush();
    expect(deliver).toHaveBeenCalledTimes(2);
    expect(failures).toEqual([thrown[0]]);
    expect(results[0]!.error).toBe(thrown[1]);
  }));

  it('a deliver that errors is a failed attempt and its error is kept', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler });
    const jobs = m.cold('a|', { a: a1 });
    const { deliver, errors } = scripted(m, { a1: ['-#', '-#', '-(s|)'] });
    const failures: unknown[] = [];
    store.events$.subscribe((event) => {
      if (event.type === 'failed') failures.push(event.error);
    });
    const results: DeliveryResult<Job>[] = [];

    jobs.pipe(orderedDelivery(store, { deliver, retryDelay: 1 })).subscribe((value) => results.push(value));
    m.flush();
    expect(failures).toEqual(errors.a1!.slice(0, 2));
    expect(failures[0]).toBe(errors.a1![0]);
    // A success carries no error, whatever failed before it.
    expect(results).toEqual([result(a1, 'succeeded', 3)]);
    expect('error' in results[0]!).toBe(false);
  }));

  it('a deliver that completes without a value is a failed attempt with an error naming the job', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler });
    const jobs = m.cold('a|', { a: a1 });
    const { deliver } = scripted(m, { a1: ['--|', '-|'] });
    const results: DeliveryResult<Job>[] = [];

    jobs.pipe(orderedDelivery(store, { deliver, maxAttempts: 2, retryDelay: 1 })).subscribe((value) => results.push(value));
    m.flush();
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ state: 'aborted', attempts: 2 });
    expect(results[0]!.error).toBeInstanceOf(Error);
    expect((results[0]!.error as Error).message).toBe('deliver completed without an outcome for job {"key":"a","id":1}');
  }));

  it.each(['waiting', 'bogus', undefined])(
    'a %s value from deliver errors the stream with UnsupportedStateError naming the job',
    (value) =>
      marbles((m) => {
        const store = newStore({ scheduler: m.scheduler, keyThreshold: 10 });
        const jobs = m.cold('(ab)|', { a: a1, b: b1 });
        const deliveries = { a1: m.cold('--v', { v: value as DeliveryOutcome }), b1: m.cold('-----(s|)', OUTCOMES) };
        let error: unknown;

        jobs.pipe(orderedDelivery(store, { deliver: (j) => deliveries[nameOf(j) as 'a1' | 'b1'] })).subscribe({ error: (e: unknown) => (error = e) });
        m.expect(deliveries.b1).toHaveSubscriptions('^-!');
        m.flush();
        expect(error).toBeInstanceOf(UnsupportedStateError);
        expect((error as UnsupportedStateError).state).toBe(value);
        expect((error as Error).message).toContain('{"key":"a","id":1}');
        // The stream is torn down: every admitted job left the barrier.
        expect(store.stats()).toMatchObject({ held: 0, retrying: 0, admitted: 0, total: 0, keys: 0, entrances: 0 });
        expect(store.barrier.snapshot().records).toEqual([]);
      })(),
  );

  it('a waiting value is rejected with a message that lists only the outcomes deliver may return', () => {
    const error = new UnsupportedStateError('waiting', ' returned by deliver', ['succeeded', 'failed', 'aborted', 'filtered']);
    expect(error.message).toBe(
      `unsupported job state "waiting" returned by deliver: expected one of 'succeeded', 'failed', 'aborted', 'filtered'`,
    );
  });

  it('regression: a bare outcome string from plain JavaScript was iterated letter by letter', async () => {
    const store = newStore({ scheduler: asyncScheduler });
    const deliver = ((value: Job) => (value.id === 1 ? 'succeeded' : 'filtered')) as unknown as OrderedDeliveryOptions<Job>['deliver'];
    const results = await lastValueFrom(from([a1, a2]).pipe(orderedDelivery(store, { deliver }), toArray()));
    expect(results).toEqual([result(a1, 'succeeded', 1), result(a2, 'filtered', 1)]);
  });

  it('a deliver that returns no ObservableInput errors the stream with a TypeError naming the job', async () => {
    const store = newStore({ scheduler: asyncScheduler });
    const deliver = (() => undefined) as unknown as OrderedDeliveryOptions<Job>['deliver'];
    const outcome = lastValueFrom(from([a1]).pipe(orderedDelivery(store, { deliver })));
    await expect(outcome).rejects.toThrow(TypeError);
    await expect(outcome).rejects.toThrow('got undefined for job {"key":"a","id":1}');
    expect(store.stats()).toMatchObject({ admitted: 0, keys: 0, entrances: 0 });
  });
});

describe('orderedDelivery: results and completion', () => {
  it('emits { job, key, jobId, state, attempts } and error only for a failed last attempt', async () => {
    const store = newStore({ scheduler: asyncScheduler });
    const failure = new Error('503');
    const results = await lastValueFrom(
      from([a1, b1]).pipe(
        orderedDelivery(store, {
          deliver: (value) => (value.key === 'a' ? of('succeeded' as const) : Promise.reject(failure)),
          maxAttempts: 1,
        }),
        toArray(),
      ),
    );
    expect(results).toHaveLength(2);
    expect(Object.keys(results[0]!).sort()).toEqual(['attempts', 'job', 'jobId', 'key', 'state']);
    expect(results[0]).toEqual({ job: a1, key: 'a', jobId: 1, state: 'succeeded', attempts: 1 });
    expect(results[0]!.job).toBe(a1);
    expect(Object.keys(results[1]!).sort()).toEqual(['attempts', 'error', 'job', 'jobId', 'key', 'state']);
    expect(results[1]).toEqual({ job: b1, key: 'b', jobId: 1, state: 'aborted', attempts: 1, error: failure });
  });

  it('accepts promises from deliver: a rejection is a failed attempt', async () => {
    const store = newStore({ scheduler: asyncScheduler });
    let calls = 0;
    const results = await lastValueFrom(
      from([a1, a2]).pipe(
        orderedDelivery(store, {
          deliver: async (value): Promise<DeliveryOutcome> => {
            calls++;
            if (value.id === 1 && calls === 1) throw new Error('first attempt');
            return 'succeeded';
          },
          retryDelay: 1,
        }),
        toArray(),
      ),
    );
    expect(results.map((r) => [r.jobId, r.state, r.attempts])).toEqual([
      [1, 'succeeded', 2],
      [2, 'succeeded', 1],
    ]);
  });

  it('completes only once every job is terminal, however early the source completes', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler });
    const jobs = m.cold('(ab|)', { a: a1, b: b1 });
    const { deliver } = scripted(m, { a1: ['--f', '--f', '--(s|)'], b1: ['-(s|)'] });

    m.expect(jobs.pipe(orderedDelivery(store, { deliver, retryDelay: 4 }))).toBeObservable('-B------------(A|)', {
      A: result(a1, 'succeeded', 3),
      B: result(b1, 'succeeded', 1),
    });
  }));

  it('reports the failed attempts to the barrier as failed and applies the success before completing', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler });
    const { deliver } = scripted(m, { a1: ['--f', '--f', '--(s|)'] });
    const failedJobDuringRetry: (number | undefined)[] = [];
    m.scheduler.schedule(() => failedJobDuringRetry.push(store.barrier.peek('a')), 4);
    m.scheduler.schedule(() => failedJobDuringRetry.push(store.barrier.peek('a')), 10);
    let barrierAtCompletion: { size: number; pending: number } | undefined;

    m.cold('a|', { a: a1 })
      .pipe(orderedDelivery(store, { deliver, retryDelay: 4 }))
      .subscribe({ complete: () => (barrierAtCompletion = { size: store.barrier.size, pending: store.barrier.pending }) });
    m.flush();
    expect(failedJobDuringRetry).toEqual([1, 1]);
    // The queued 'succeeded' was synced before the stream completed.
    expect(barrierAtCompletion).toEqual({ size: 0, pending: 0 });
  }));

  it('does not complete while the source has not', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler });
    const jobs = m.cold('a-------b-', { a: a1, b: b1 });
    const { deliver } = scripted(m, { a1: ['-(s|)'], b1: ['-(s|)'] });

    m.expect(jobs.pipe(orderedDelivery(store, { deliver }))).toBeObservable('-A-------B', {
      A: result(a1, 'succeeded', 1),
      B: result(b1, 'succeeded', 1),
    });
  }));

  it('completes at once for an empty source', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler });
    const deliver = vi.fn((): Observable<DeliveryOutcome> => of('succeeded'));
    m.expect(m.cold('---|').pipe(orderedDelivery<Job>(store, { deliver }))).toBeObservable('---|');
  }));

  it('with sync manual, a held job waits for store.sync()', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler, sync: 'manual' });
    const jobs = m.cold('(ab)|', { a: a1, b: a2 });
    const { deliver, colds } = scripted(m, { a1: ['-f', '-(s|)'], a2: ['-(s|)'] });
    m.scheduler.schedule(() => store.sync(), 10);

    m.expect(jobs.pipe(orderedDelivery(store, { deliver, retryDelay: 2 }))).toBeObservable('----A------(B|)', {
      A: result(a1, 'succeeded', 2),
      B: result(a2, 'succeeded', 1),
    });
    m.expect(colds.a1![1]!).toHaveSubscriptions('---^!');
    m.expect(colds.a2![0]!).toHaveSubscriptions('----------^!');
  }));

  it('leaves nothing held, admitted or recorded after completing', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler, concurrencyLimit: 1, keyThreshold: 50 });
    const jobs = m.cold('(abcde)|', { a: a1, b: a2, c: a3, d: b1, e: b2 });
    const { deliver } = scripted(m, {
      a1: ['-f', '-(s|)'],
      a2: ['-#', '-a'],
      a3: ['-(s|)'],
      b1: ['-x'],
      b2: ['-f', '-f', '-f'],
    });
    const results: DeliveryResult<Job>[] = [];

    jobs.pipe(orderedDelivery(store, { deliver, maxAttempts: 3, retryDelay: 1 })).subscribe((value) => results.push(value));
    m.flush();
    expect(results.map((r) => `${nameOf(r.job)}:${r.state}:${r.attempts}`)).toEqual([
      'b1:filtered:1',
      'a1:succeeded:2',
      'b2:aborted:3',
      'a2:aborted:2',
      'a3:succeeded:1',
    ]);
    expect(store.stats()).toEqual({
      held: 0,
      blocked: 0,
      retrying: 0,
      admitted: 0,
      total: 0,
      // b2 aborted last: its key keeps the drain-limit record, with nothing running.
      records: 1,
      queued: 0,
      keys: 0,
      entrances: 0,
      paused: 0,
      stalled: false,
    });
    expect(store.barrier.snapshot().records).toEqual([
      { key: 'b', mode: 'enabled', modeSince: 0, failedJobId: null, concurrent: [], draining: [] },
    ]);
  }));
});

describe('orderedDelivery: unsubscribing', () => {
  it('cancels running deliveries and retry timers and leaves the store consistent', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler, keyThreshold: 10 });
    const jobs = m.cold('(abcd)', { a: a1, b: b1, c: b2, d: c1 });
    const { deliver, colds, calls } = scripted(m, {
      a1: ['------(s|)'],
      b1: ['-f', '-(s|)'],
      b2: ['-(s|)'],
      c1: ['--(s|)'],
    });

    m.expect(jobs.pipe(orderedDelivery(store, { deliver, retryDelay: 10 })), '^---!').toBeObservable('--C-', {
      C: result(c1, 'succeeded', 1),
    });
    m.expect(colds.a1![0]!).toHaveSubscriptions('^---!');
    m.expect(colds.b1![0]!).toHaveSubscriptions('^!');
    m.expect(colds.b1![1]!).toHaveSubscriptions([]);
    m.expect(colds.b2![0]!).toHaveSubscriptions([]);
    m.flush();
    expect(calls).toEqual(['a1#1@0', 'b1#1@0', 'c1#1@0']);
    expect(store.stats()).toEqual({
      held: 0,
      blocked: 0,
      retrying: 0,
      admitted: 0,
      total: 0,
      records: 1,
      queued: 0,
      keys: 0,
      entrances: 0,
      paused: 0,
      stalled: false,
    });
    // The barrier's running sets are empty; b's failed job stays recorded.
    expect(store.barrier.snapshot()).toEqual({
      version: 1,
      records: [{ key: 'b', mode: 'enabled', modeSince: 0, failedJobId: 1, concurrent: [], draining: null }],
      queue: [],
    });
  }));

  it('an error from the source errors the stream, cancels deliveries and leaves the store consistent', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler, keyThreshold: 10 });
    const failure = new Error('source failed');
    const jobs = m.cold('(ab)#', { a: a1, b: b1 }, failure);
    const { deliver, colds } = scripted(m, { a1: ['------(s|)'], b1: ['------(s|)'] });

    m.expect(jobs.pipe(orderedDelivery(store, { deliver }))).toBeObservable('----#', undefined, failure);
    m.expect(colds.a1![0]!).toHaveSubscriptions('^---!');
    m.expect(colds.b1![0]!).toHaveSubscriptions('^---!');
    m.flush();
    expect(store.stats()).toMatchObject({ held: 0, retrying: 0, admitted: 0, total: 0, records: 0, keys: 0, entrances: 0 });
  }));

  it('a new subscription picks up the failed job left recorded by an unsubscribed one', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler });
    const { deliver, calls } = scripted(m, { a1: ['-f', '-(s|)'], a2: ['-(s|)'] });

    const first = m.cold('(ab)', { a: a1, b: a2 }).pipe(orderedDelivery(store, { deliver, retryDelay: 10 }));
    m.expect(first, '^--!').toBeObservable('----');
    const second = m.cold('-----(ab|)', { a: a1, b: a2 });
    const retried = scripted(m, { a1: ['-(s|)'], a2: ['-(s|)'] });
    m.expect(second.pipe(orderedDelivery(store, { deliver: retried.deliver }))).toBeObservable('------A(B|)', {
      A: result(a1, 'succeeded', 1),
      B: result(a2, 'succeeded', 1),
    });
    m.flush();
    expect(calls).toEqual(['a1#1@0']);
    expect(retried.calls).toEqual(['a1#1@5', 'a2#1@6']);
    expect(store.stats().records).toBe(0);
  }));
});

describe('orderedDelivery: options', () => {
  const store = newStore({ scheduler: asyncScheduler });
  const deliver = (): Observable<DeliveryOutcome> => of('succeeded');

  it.each([null, undefined, 42, 'deliver'])('rejects options %s', (options) => {
    expect(() => orderedDelivery(store, options as never as OrderedDeliveryOptions<Job>)).toThrow(
      new TypeError(`orderedDelivery options must be an object, got ${String(options === 'deliver' ? '"deliver"' : options)}`),
    );
  });

  it.each([undefined, null, 'send', {}])('rejects deliver %s', (value) => {
    expect(() => orderedDelivery(store, { deliver: value as never })).toThrow(TypeError);
    expect(() => orderedDelivery(store, { deliver: value as never })).toThrow(/option deliver must be a function/);
  });

  it.each([
    [0, RangeError],
    [-1, RangeError],
    [1.5, RangeError],
    [NaN, RangeError],
    [-Infinity, RangeError],
    ['3', TypeError],
  ])('rejects maxAttempts %s', (maxAttempts, type) => {
    expect(() => orderedDelivery(store, { deliver, maxAttempts: maxAttempts as number })).toThrow(type);
    expect(() => orderedDelivery(store, { deliver, maxAttempts: maxAttempts as number })).toThrow(/option maxAttempts/);
  });

  it.each([undefined, null, {}, 'store'])('rejects store %s when called, naming it', (value) => {
    expect(() => orderedDelivery(value as never, { deliver })).toThrow(TypeError);
    expect(() => orderedDelivery(value as never, { deliver })).toThrow(/^orderedDelivery needs a BarrierStore, got /);
  });

  it.each([0, -1, 1.5, NaN])('rejects concurrency %s when called, not only once piped', (concurrency) => {
    expect(() => orderedDelivery(store, { deliver, concurrency })).toThrow(RangeError);
    expect(() => orderedDelivery(store, { deliver, concurrency })).toThrow(/^option concurrency must be a positive safe integer or Infinity, got /);
  });

  it.each([
    [-1, RangeError],
    [Infinity, RangeError],
    [NaN, RangeError],
    ['5', TypeError],
    [null, TypeError],
  ])('rejects retryDelay %s', (retryDelay, type) => {
    expect(() => orderedDelivery(store, { deliver, retryDelay: retryDelay as number })).toThrow(type);
    expect(() => orderedDelivery(store, { deliver, retryDelay: retryDelay as number })).toThrow(/option retryDelay/);
  });

  it('accepts maxAttempts Infinity, concurrency Infinity and a retryDelay of 0', () => {
    expect(() => orderedDelivery(store, { deliver, maxAttempts: Infinity, concurrency: Infinity, retryDelay: 0 })).not.toThrow();
  });

  it('defaults to concurrency 64', marbles((m) => {
    const timed = newStore({ scheduler: m.scheduler });
    const jobs = Array.from({ length: 100 }, (_, i) => job(`k${i}`, 1));
    let started = 0;
    let atFrameZero = -1;
    m.scheduler.schedule(() => (atFrameZero = started), 1);
    from(jobs)
      .pipe(
        orderedDelivery(timed, {
          deliver: () => {
            started++;
            return m.cold('--(s|)', OUTCOMES);
          },
        }),
      )
      .subscribe();
    m.flush();
    expect(ORDERED_DELIVERY_DEFAULTS.concurrency).toBe(64);
    expect(atFrameZero).toBe(64);
    expect(started).toBe(100);
  }));

  it('a retryDelay function returning an invalid delay errors the stream', marbles((m) => {
    const timed = newStore({ scheduler: m.scheduler });
    let error: unknown;
    m.cold('a|', { a: a1 })
      .pipe(orderedDelivery(timed, { deliver: () => m.cold('-f', OUTCOMES), retryDelay: () => -5 }))
      .subscribe({ error: (e: unknown) => (error = e) });
    m.flush();
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe(`retryDelay(1) must return a non-negative finite number of milliseconds, got -5 for job ${JSON.stringify(a1)}`);
  }));
});
