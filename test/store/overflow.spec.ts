// maxHeldPerKey and onOverflow: every rule about a key that holds too many jobs, in one file.
import { Observable, Subject, of, map, timer, VirtualTimeScheduler, concatMap, from, tap } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { marbles } from 'rxjs-marbles';
import { HeldJobsOverflowError, type JobStatus, type DeliveryResult } from '../../src/index.js';
import {
  barrierEnter,
  barrierState,
  barrierWait,
  orderedDelivery,
  type DeliveryContext, type DeliveryOutcome,
} from '../../src/operators/index.js';
import { job, label, newStore, type Job } from '../support/jobs.js';
import { newScheduler, advanceTo, Entry, wait, report } from '../support/store-harness.js';
import { OVERFLOW_TO_CALLBACK } from '../diagrams.js';
import {
  admissions,
  job as scriptedJob,
  newStore as newScriptedStore,
  withDescribedError,
  type Job as ScriptedJob,
} from '../support/barrier-pipeline.js';
import { playOrderedDelivery } from '../support/diagram-player.js';

const [a1, a2, a3, a4, a5] = [1, 2, 3, 4, 5].map((id) => job('a', id)) as [Job, Job, Job, Job, Job];

const OUTCOMES: Record<string, DeliveryOutcome> = { s: 'succeeded', f: 'failed' };

function result(value: Job, attempts: number): DeliveryResult<Job> {
  return { job: value, key: value.key, jobId: value.id, state: 'succeeded', attempts };
}

describe('BarrierStore maxHeldPerKey and onOverflow', () => {
  it('hands the newest job over the limit to onOverflow and never emits it', () => {
    const overflowed: string[] = [];
    const store = newStore({ scheduler: newScheduler(), maxHeldPerKey: 2, onOverflow: (value) => overflowed.push(label(value)) });
    store.pause('k');
    const entry = new Entry(store).push(job('k', 1), job('k', 2), job('k', 3), job('j', 1));
    expect(overflowed).toEqual(['k#3']);
    expect(store.stats()).toMatchObject({ held: 2 });
    store.resume('k');
    expect(entry.admitted).toEqual(['j#1', 'k#1', 'k#2']);
    expect(entry.error).toBeUndefined();
  });

  it('errors the entrance with HeldJobsOverflowError naming the key and carrying the job, without onOverflow', () => {
    const store = newStore({ scheduler: newScheduler(), maxHeldPerKey: 1 });
    store.pause('k');
    const entry = new Entry(store).push(job('k', 1), job('k', 2));
    expect(entry.error).toBeInstanceOf(HeldJobsOverflowError);
    const error = entry.error as HeldJobsOverflowError;
    expect(error.key).toBe('k');
    expect(error.job).toEqual(job('k', 2));
    expect(error.maxHeldPerKey).toBe(1);
    expect(error.message).toBe(
      'key "k" already holds 1 job (maxHeldPerKey); job {"key":"k","id":2} does not fit: pass onOverflow to park such jobs',
    );
  });

  it('never overflows on a failed job coming back for its retry', () => {
    const scheduler = newScheduler();
    const onOverflow = vi.fn();
    const store = newStore({ scheduler, maxHeldPerKey: 1, onOverflow, retryDelay: 5 });
    const entry = new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed');
    entry.push(job('k', 2));
    store.pause('k');
    advanceTo(scheduler, 5);
    expect(onOverflow).not.toHaveBeenCalled();
    expect(store.stats().held).toBe(2);
    store.resume('k');
    expect(entry.admitted).toEqual(['k#1', 'k#1']);
  });

  it('never overflows on a job barrierWait hands back', () => {
    const onOverflow = vi.fn();
    const store = newStore({ scheduler: newScheduler(), maxHeldPerKey: 1, onOverflow });
    const entry = new Entry(store).push(job('k', 1), job('k', 2));
    report(store, job('k', 1), 'failed');
    entry.push(job('k', 3));
    expect(wait(store, job('k', 2))).toBe(false);
    expect(onOverflow).not.toHaveBeenCalled();
    expect(store.stats().held).toBe(2);
  });

  it('with maxHeldPerKey 0, overflows every job the barrier rejects and keeps no bookkeeping for it', () => {
    const overflowed: string[] = [];
    const store = newStore({ scheduler: newScheduler(), maxHeldPerKey: 0, onOverflow: (value) => overflowed.push(label(value)) });
    const entry = new Entry(store).push(job('k', 1), job('k', 2));
    report(store, job('k', 1), 'failed');
    store.sync();
    expect(store.stats().keys).toBe(1); // k#1 waits for its retry
    entry.push(job('k', 3), job('j', 1));
    expect(overflowed).toEqual(['k#3']);
    expect(entry.admitted).toEqual(['k#1', 'k#2', 'j#1']);
    expect(store.stats()).toMatchObject({ held: 0, keys: 1 });
  });

  it("evicts the newest held job when a full key's failed job comes back through a new entrance: the failed job goes first and the key moves on", () => {
    const scheduler = new VirtualTimeScheduler();
    const overflowed: number[] = [];
    const store = newStore({
      scheduler,
      maxHeldPerKey: 1,
      onOverflow: (value) => overflowed.push(value.id),
      snapshot: {
        version: 1,
        records: [{ key: 'a', mode: 'enabled', modeSince: 0, failedJobId: 1, concurrent: null, draining: null }],
        queue: [],
      },
    });
    const source = new Subject<Job>();
    const results: number[] = [];
    let completed = false;
    source.pipe(orderedDelivery(store, { deliver: () => 'succeeded' })).subscribe({
      next: (result) => results.push(result.jobId),
      complete: () => (completed = true),
    });
    source.next(job('a', 2)); // held behind failed job 1: the key is full
    source.next(job('a', 1)); // the failed job itself
    source.complete();
    scheduler.flush();
    expect(overflowed).toEqual([2]);
    expect(results).toEqual([1]);
    expect(completed).toBe(true);
    expect(store.stats().total).toBe(0);
  });

  it("errors naming the newest held job, not the failed one, when a full key's failed job comes back without onOverflow", () => {
    const store = newStore({
      maxHeldPerKey: 1,
      snapshot: {
        version: 1,
        records: [{ key: 'a', mode: 'enabled', modeSince: 0, failedJobId: 1, concurrent: null, draining: null }],
        queue: [],
      },
    });
    let error: unknown;
    of(job('a', 2), job('a', 1))
      .pipe(orderedDelivery(store, { deliver: () => 'succeeded' }))
      .subscribe({ error: (e: unknown) => (error = e) });
    expect(error).toMatchObject({ name: 'HeldJobsOverflowError', key: 'a', job: { key: 'a', id: 2 } });
  });

  it("never evicts a job handed back to wait when the key's failed job is re-read through a new entrance", () => {
    const scheduler = new VirtualTimeScheduler();
    const overflowed: string[] = [];
    const store = newStore({ scheduler, retryDelay: 5, maxHeldPerKey: 1, onOverflow: (value) => overflowed.push(`${value.key}#${value.id}`) });
    const src1 = new Subject<Job>();
    const src2 = new Subject<Job>();
    const sub1 = src1.pipe(barrierEnter(store)).subscribe();
    src2.pipe(barrierEnter(store)).subscribe();
    const statuses = new Subject<JobStatus<Job>>();
    statuses.pipe(barrierState(store)).subscribe();
    const toWait = new Subject<Job>();
    toWait.pipe(barrierWait(store)).subscribe();
    src1.next(job('a', 1));
    src2.next(job('a', 2));
    statuses.next({ job: job('a', 1), state: 'failed' });
    toWait.next(job('a', 2)); // handed back to wait: held at entrance 2
    expect(store.stats().held).toBe(1);
    sub1.unsubscribe(); // a#1 stays the key's failed job
    const src3 = new Subject<Job>();
    src3.pipe(barrierEnter(store)).subscribe();
    src3.next(job('a', 1)); // the failed job, re-read by a new pipeline
    expect(overflowed).toEqual([]);
  });

  it('emits the held event of a job that evicts a newer held job before the overflow, so each event matches stats()', () => {
    const scheduler = new VirtualTimeScheduler();
    const store = newStore({ scheduler, maxHeldPerKey: 1, onOverflow: () => undefined, retryDelay: 1_000 });
    const log: string[] = [];
    store.events$.subscribe((event) => {
      if (event.type === 'held' || event.type === 'overflow') log.push(`${event.type} ${event.jobId} held=${store.stats().held}`);
    });
    const source = new Subject<Job>();
    source.pipe(orderedDelivery(store, { deliver: (value) => (value.id === 1 ? 'failed' : 'succeeded') })).subscribe();
    source.next(job('a', 1)); // fails: retrying
    source.next(job('a', 3)); // held behind it
    source.next(job('a', 2)); // held; 3, the newest, overflows
    expect(log).toEqual(['held 3 held=1', 'held 2 held=2', 'overflow 3 held=1']);
  });
});

describe('maxHeldPerKey through orderedDelivery', () => {
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
    const deliver = vi.fn((value: Job, { attempt }: DeliveryContext): Observable<DeliveryOutcome> =>
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
    const deliver = (value: Job, { attempt }: DeliveryContext): Observable<DeliveryOutcome> =>
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
    const deliver = (value: Job, { attempt }: DeliveryContext): Observable<DeliveryOutcome> =>
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

describe('HeldJobsOverflowError', () => {
  it.each([
    [0, 'key "a" may hold no jobs (maxHeldPerKey 0); job {"key":"a","id":2} does not fit: pass onOverflow to park such jobs'],
    [1, 'key "a" already holds 1 job (maxHeldPerKey); job {"key":"a","id":2} does not fit: pass onOverflow to park such jobs'],
    [3, 'key "a" already holds 3 jobs (maxHeldPerKey); job {"key":"a","id":2} does not fit: pass onOverflow to park such jobs'],
  ])('says what maxHeldPerKey %s means', (limit, message) => {
    expect(new HeldJobsOverflowError('a', { key: 'a', id: 2 }, limit).message).toBe(message);
  });
});

describe('maxHeldPerKey at barrierEnter, in the pipeline of reactive.md', () => {
  // One character is one frame; each attempt takes 2 frames; a fails once, then succeeds.
  const a = scriptedJob('k', 1, 'fs');
  const b = scriptedJob('k', 2);
  const c = scriptedJob('k', 3);

  it(
    'errors with HeldJobsOverflowError naming the key and the job when a key holds maxHeldPerKey jobs and there is no onOverflow',
    marbles((m) => {
      const store = newScriptedStore(m.scheduler, { retryDelay: 5, maxHeldPerKey: 1 });
      m.expect(withDescribedError(admissions(store, m.cold('-a--bc|', { a, b, c }), m.scheduler))).toBeObservable(
        '-a---#',
        { a },
        'HeldJobsOverflowError: key "k" already holds 1 job (maxHeldPerKey); ' +
          'job {"key":"k","id":3,"outcomes":"s","latency":2} does not fit: pass onOverflow to park such jobs',
      );
    }),
  );

  it(
    'hands the job over maxHeldPerKey to onOverflow instead, and goes on',
    marbles((m) => {
      const overflowed: ScriptedJob[] = [];
      const store = newScriptedStore(m.scheduler, { retryDelay: 5, maxHeldPerKey: 1, onOverflow: (value) => overflowed.push(value) });
      m.expect(admissions(store, m.cold('-a--bc|', { a, b, c }), m.scheduler)).toBeObservable('-a------a-b-|', { a, b });
      m.flush();
      expect(overflowed).toEqual([c]);
    }),
  );
});
