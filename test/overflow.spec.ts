import { marbles } from 'rxjs-marbles';
import { concatMap, from, map, tap, timer, VirtualTimeScheduler, type Observable } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { BarrierStore, HeldJobsOverflowError, type BarrierStoreOptions, type DeliveryResult } from '../src/index.js';
import { orderedDelivery, type DeliveryOutcome } from '../src/operators/ordered-delivery.js';
import { OVERFLOW_TO_CALLBACK } from './diagrams.js';
import { playOrderedDelivery } from './support/diagram-player.js';

interface Job {
  key: string;
  id: number;
}

const job = (key: string, id: number): Job => ({ key, id });
const [a1, a2, a3, a4, a5] = [1, 2, 3, 4, 5].map((id) => job('a', id)) as [Job, Job, Job, Job, Job];
const OUTCOMES: Record<string, DeliveryOutcome> = { s: 'succeeded', f: 'failed' };

function newStore(options: Partial<BarrierStoreOptions<Job>>): BarrierStore<Job> {
  return new BarrierStore<Job>({ key: (value) => value.key, jobId: (value) => value.id, ...options });
}

function result(value: Job, attempts: number): DeliveryResult<Job> {
  return { job: value, key: value.key, jobId: value.id, state: 'succeeded', attempts };
}

describe('maxHeldPerKey', () => {
  it('hands the newest job over the bound to onOverflow', marbles((m) => {
    // a1 fails; a2 is handed back to wait behind it, a3 is held behind a2,
    // a4 and a5 find two jobs held and overflow.
    const { store } = playOrderedDelivery(m, OVERFLOW_TO_CALLBACK);
    m.flush();
    expect(store.stats()).toMatchObject({ held: 0, retrying: 0, admitted: 0, total: 0, keys: 0 });
  }));

  it('without onOverflow, errors the stream with HeldJobsOverflowError naming the key and carrying the job', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler, maxHeldPerKey: 2 });
    const jobs = m.cold('(ab)cde|', { a: a1, b: a2, c: a3, d: a4, e: a5 });
    const deliver = vi.fn((value: Job, attempt: number): Observable<DeliveryOutcome> =>
      m.cold(value.id === 1 && attempt === 1 ? '-f' : '-(s|)', OUTCOMES),
    );
    let error: unknown;
    let errorAt = -1;

    jobs.pipe(orderedDelivery(store, { deliver, retryDelay: 10 })).subscribe({
      error: (e: unknown) => {
        error = e;
        errorAt = m.scheduler.now();
      },
    });
    m.flush();
    expect(errorAt).toBe(5);
    expect(error).toBeInstanceOf(HeldJobsOverflowError);
    const overflow = error as HeldJobsOverflowError;
    expect(overflow.key).toBe('a');
    expect(overflow.job).toBe(a4);
    expect(overflow.maxHeldPerKey).toBe(2);
    expect(overflow.message).toBe(
      'key "a" already holds 2 jobs (maxHeldPerKey); job {"key":"a","id":4} does not fit: pass onOverflow to park such jobs',
    );
    // The stream is torn down: a1's retry never runs and nothing stays held.
    expect(deliver).toHaveBeenCalledTimes(1);
    expect(store.stats()).toMatchObject({ held: 0, retrying: 0, admitted: 0, total: 0, keys: 0, entrances: 0 });
  }));

  it('a failed job coming back for its retry never overflows', marbles((m) => {
    const onOverflow = vi.fn();
    const store = newStore({ scheduler: m.scheduler, maxHeldPerKey: 1, onOverflow });
    // a2 waits behind a1 and fills the bound; a1's retry still comes back.
    const jobs = m.cold('(ab|)', { a: a1, b: a2 });
    const deliver = (value: Job, attempt: number): Observable<DeliveryOutcome> =>
      m.cold(value.id === 1 && attempt < 3 ? '-f' : '-(s|)', OUTCOMES);

    m.expect(jobs.pipe(orderedDelivery(store, { deliver, retryDelay: 3 }))).toBeObservable('---------A(B|)', {
      A: result(a1, 3),
      B: result(a2, 1),
    });
    m.flush();
    expect(onOverflow).not.toHaveBeenCalled();
  }));

  it('with maxHeldPerKey 0, every new job the barrier would hold overflows, but a waiting job is not one', marbles((m) => {
    const overflowed: Job[] = [];
    const store = newStore({ scheduler: m.scheduler, maxHeldPerKey: 0, onOverflow: (value) => overflowed.push(value) });
    // a2 is admitted before a1 fails and is handed back to wait; a3 arrives
    // while a1 waits for its retry and is rejected.
    const jobs = m.cold('(ab)c|', { a: a1, b: a2, c: a3 });
    const deliver = (value: Job, attempt: number): Observable<DeliveryOutcome> =>
      m.cold(value.id === 1 && attempt === 1 ? '-f' : '-(s|)', OUTCOMES);

    m.expect(jobs.pipe(orderedDelivery(store, { deliver, retryDelay: 5 }))).toBeObservable('-------A(B|)', {
      A: result(a1, 2),
      B: result(a2, 1),
    });
    m.flush();
    expect(overflowed).toEqual([a3]);
  }));

  it('reports an overflow on events$', marbles((m) => {
    const store = newStore({ scheduler: m.scheduler, maxHeldPerKey: 0, onOverflow: () => undefined });
    const events: string[] = [];
    store.events$.subscribe((event) => {
      if (event.type === 'overflow') events.push(`${event.key}:${event.jobId}`);
    });
    const jobs = m.cold('a-b|', { a: a1, b: a2 });
    jobs.pipe(orderedDelivery(store, { deliver: () => m.cold('-f', OUTCOMES), maxAttempts: 2, retryDelay: 5 })).subscribe();
    m.flush();
    expect(events).toEqual(['a:2']);
  }));

  it('every job reaches exactly one result or onOverflow, never both', () => {
    let overflowsSeen = 0;
    for (let seed = 1; seed <= 40; seed++) {
      let state = seed;
      const random = (): number => {
        state = (state * 1_103_515_245 + 12_345) & 0x7fffffff;
        return state / 0x80000000;
      };
      const scheduler = new VirtualTimeScheduler();
      const overflowed: Job[] = [];
      const store = newStore({ scheduler, maxHeldPerKey: 1 + (seed % 3), onOverflow: (value) => overflowed.push(value) });
      const all: Job[] = [];
      const next = new Map<string, number>();
      for (let i = 0; i < 60; i++) {
        const key = `u${Math.floor(random() * 4)}`;
        const id = (next.get(key) ?? 0) + 1;
        next.set(key, id);
        all.push(job(key, id));
      }
      const results: DeliveryResult<Job>[] = [];
      const arrivals = all.map((value) => ({ value, gap: Math.floor(random() * 3) }));
      from(arrivals)
        .pipe(
          concatMap(({ value, gap }) => timer(gap, scheduler).pipe(map(() => value))),
          orderedDelivery(store, {
            deliver: () =>
              timer(Math.floor(random() * 4), scheduler).pipe(map((): DeliveryOutcome => (random() < 0.4 ? 'failed' : 'succeeded'))),
            maxAttempts: 3,
            retryDelay: 2,
            concurrency: 3,
          }),
          tap((value) => results.push(value)),
        )
        .subscribe();
      scheduler.flush();
      const seen = [...results.map((r) => r.job), ...overflowed];
      expect(seen).toHaveLength(all.length);
      expect(new Set(seen)).toEqual(new Set(all));
      expect(store.stats().total).toBe(0);
      overflowsSeen += overflowed.length;
    }
    expect(overflowsSeen).toBeGreaterThan(0);
  });
});
