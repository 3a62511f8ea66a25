import { delay, map, of, queueScheduler, range, Subject, take, VirtualTimeScheduler, type Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { BarrierStore, type BarrierStoreOptions, type JobState, type JobStatus } from '../src/index.js';
import { barrierEnter } from '../src/operators/barrier-enter.js';
import { barrierState } from '../src/operators/barrier-state.js';
import { barrierWait } from '../src/operators/barrier-wait.js';
import { concatMapByKey } from '../src/operators/concat-map-by-key.js';
import { orderedDelivery } from '../src/operators/ordered-delivery.js';

interface Job {
  key: string;
  id: number;
}

const job = (key: string, id: number): Job => ({ key, id });

function newStore(options: Partial<BarrierStoreOptions<Job>>): BarrierStore<Job> {
  return new BarrierStore<Job>({ key: (value) => value.key, jobId: (value) => value.id, ...options });
}

describe('review: a synchronous scheduler (queueScheduler) runs zero-delay work inside schedule()', () => {
  it('the automatic sync is not left pending for good: the entrance completes and later held jobs are released', () => {
    const store = newStore({ scheduler: queueScheduler, retryDelay: 0 });
    const failedOnce = new Set<string>();
    const results: string[] = [];
    let completed = false;
    const source = new Subject<Job>();
    source
      .pipe(
        orderedDelivery(store, {
          deliver: (value) => {
            const name = `${value.key}#${value.id}`;
            if (value.id === 1 && !failedOnce.has(name)) {
              failedOnce.add(name);
              return 'failed';
            }
            return 'succeeded';
          },
        }),
      )
      .subscribe({ next: (result) => results.push(`${result.key}#${result.jobId}`), complete: () => (completed = true) });
    source.next(job('a', 1));
    source.next(job('a', 2));
    source.next(job('b', 1));
    source.next(job('b', 2));
    source.complete();
    expect(results.sort()).toEqual(['a#1', 'a#2', 'b#1', 'b#2']);
    expect(completed).toBe(true);
  });

  it('a retry that already ran is not cancelled again on unsubscribe (retrying never goes negative)', () => {
    const store = newStore({ scheduler: queueScheduler, retryDelay: 0 });
    const executor = new Subject<JobStatus<Job>>();
    executor.pipe(barrierState(store)).subscribe();
    const source = new Subject<Job>();
    const admitted: number[] = [];
    const subscription = source.pipe(barrierEnter(store)).subscribe((value) => admitted.push(value.id));
    source.next(job('k', 1));
    executor.next({ job: job('k', 1), state: 'failed' });
    expect(admitted).toEqual([1, 1]); // re-admitted at once
    subscription.unsubscribe();
    expect(store.stats()).toMatchObject({ retrying: 0, admitted: 0, held: 0, keys: 0 });
  });
});

describe('review: barrierEnter stops a synchronous source once its subscriber is gone', () => {
  it('admits nothing after downstream unsubscribed inside next (take(1) over a synchronous source)', () => {
    const scheduler = new TestScheduler(() => undefined);
    let keyCalls = 0;
    const store = new BarrierStore<Job>({
      key: (value) => {
        keyCalls++;
        return value.key;
      },
      jobId: (value) => value.id,
      scheduler,
    });
    const admitted: number[] = [];
    store.events$.subscribe((event) => {
      if (event.type === 'admitted') admitted.push(event.jobId);
    });
    const seen: number[] = [];
    range(1, 1000)
      .pipe(map((id) => job(`k${id}`, id)), barrierEnter(store), take(1))
      .subscribe((value) => seen.push(value.id));
    expect(seen).toEqual([1]);
    expect(admitted).toEqual([1]);
    expect(keyCalls).toBe(1);
  });
});

describe('review: periodic prune also covers records made when held jobs are released', () => {
  it('a key disabled while its paused jobs are released is pruned while the store stays subscribed', () => {
    const scheduler = new TestScheduler(() => undefined);
    scheduler.maxFrames = Infinity;
    const store = newStore({ scheduler, keyThreshold: 1, disabledDuration: 10, halfEnabledDuration: 10 });
    const executor = new Subject<JobStatus<Job>>();
    executor.pipe(barrierState(store)).subscribe();
    const source = new Subject<Job>();
    const admitted: number[] = [];
    source.pipe(barrierEnter(store)).subscribe((value) => admitted.push(value.id));
    store.pause('k');
    source.next(job('k', 1));
    source.next(job('k', 2));
    store.resume('k'); // job 2 trips keyThreshold 1: the key is disabled
    expect(admitted).toEqual([1, 2]);
    expect(store.barrier.disabled('k')).toBe(true);
    executor.next({ job: job('k', 1), state: 'succeeded' });
    executor.next({ job: job('k', 2), state: 'succeeded' });
    scheduler.maxFrames = 200;
    scheduler.flush();
    // disabled -> halfEnabled -> enabled and deleted, well within 200 ms of durations of 10
    expect(store.barrier.size).toBe(0);
  });
});

describe('review: orphans outlive the moment between two inners of an executor in another pipeline', () => {
  it("an executor's queued job of a closed entrance is accepted as an orphan, not rejected as never admitted", () => {
    const scheduler = new TestScheduler(() => undefined);
    scheduler.maxFrames = Infinity;
    const store = newStore({ scheduler });
    const admitted = new Subject<Job>();
    const source = new Subject<Job>();
    const entrance = source.pipe(barrierEnter(store)).subscribe(admitted);
    const settled: string[] = [];
    let failure: unknown;
    // The documented composition, with the executor in its own pipeline: one job at a time.
    admitted
      .pipe(
        concatMapByKey(
          () => 'one lane',
          (value) =>
            of(value).pipe(
              barrierWait(store),
              delay(10, scheduler),
              map((sent) => ({ job: sent, state: 'succeeded' as JobState })),
              barrierState(store),
            ),
          1,
        ),
      )
      .subscribe({ next: (status) => settled.push(`${status.job.key}#${status.job.id}`), error: (error: unknown) => (failure = error) });
    source.next(job('a', 1));
    source.next(job('b', 1)); // queued in the executor behind a#1
    entrance.unsubscribe(); // both are orphans now; the executor goes on
    scheduler.flush();
    expect(failure).toBeUndefined();
    expect(settled).toEqual(['a#1', 'b#1']);
    expect(store.stats()).toMatchObject({ total: 0, keys: 0, records: 0 });
  });
});

describe('review 2: a snapshot restored with queued outcomes', () => {
  it('re-tries the held jobs of the keys those outcomes touch once they are applied', () => {
    const scheduler = new VirtualTimeScheduler();
    const store = newStore({
      scheduler,
      snapshot: {
        version: 1,
        records: [{ key: 'a', mode: 'enabled', modeSince: 0, failedJobId: 1, concurrent: null, draining: null }],
        queue: [{ key: 'a', jobId: 1, state: 'succeeded' }],
      },
    });
    const source = new Subject<Job>();
    const results: string[] = [];
    let completed = false;
    source.pipe(orderedDelivery(store, { deliver: () => 'succeeded' })).subscribe({
      next: (result) => results.push(`${result.key}#${result.jobId}`),
      complete: () => (completed = true),
    });
    source.next(job('a', 2)); // held: a#1 is still failed until the restored 'succeeded' is applied
    source.complete();
    scheduler.flush();
    expect(results).toEqual(['a#2']);
    expect(completed).toBe(true);
    expect(store.stats().total).toBe(0);
  });

  it('with manual sync, the first store.sync() applies them and releases the key', () => {
    const store = newStore({
      sync: 'manual',
      snapshot: {
        version: 1,
        records: [{ key: 'a', mode: 'enabled', modeSince: 0, failedJobId: 1, concurrent: null, draining: null }],
        queue: [{ key: 'a', jobId: 1, state: 'succeeded' }],
      },
    });
    const results: number[] = [];
    of(job('a', 2))
      .pipe(orderedDelivery(store, { deliver: () => 'succeeded' }))
      .subscribe((result) => results.push(result.jobId));
    expect(results).toEqual([]);
    expect(store.sync()).toBe(1);
    expect(results).toEqual([2]);
  });
});

describe('review 2: maxHeldPerKey when the key\'s failed job comes back through a new entrance', () => {
  it('the newest held job makes room: the failed job is held first in line and the key moves on', () => {
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

  it('without onOverflow, the stream errors naming the newest job, not the failed one', () => {
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
});

describe('review 2: an entrance closed by user code that runs while the store is busy', () => {
  it('closed during an admission (an events$ handler): no ticket or record is left behind', () => {
    const scheduler = new VirtualTimeScheduler();
    const store = newStore({ scheduler, keyThreshold: 5 });
    const first = new Subject<Job>();
    let subscription: Subscription | undefined;
    const stopper = store.events$.subscribe((event) => {
      if (event.type === 'recordCreated') subscription?.unsubscribe();
    });
    subscription = first.pipe(orderedDelivery(store, { deliver: () => 'succeeded' })).subscribe();
    first.next(job('a', 1));
    stopper.unsubscribe();
    scheduler.flush();
    expect(store.stats()).toMatchObject({ admitted: 0, total: 0, records: 0 });
    expect(String(store.barrier)).toBe('Barrier 0 keys, 0 pending');

    const results: number[] = [];
    let completed = false;
    const second = new Subject<Job>();
    second.pipe(orderedDelivery(store, { deliver: () => 'succeeded' })).subscribe({
      next: (result) => results.push(result.jobId),
      complete: () => (completed = true),
    });
    second.next(job('a', 1));
    second.complete();
    scheduler.flush();
    expect(results).toEqual([1]);
    expect(completed).toBe(true);
  });

  it('closed by orderingDisabled during an admission: nothing is admitted for the closed entrance', () => {
    let subscription: Subscription | undefined;
    const store = newStore({
      keyThreshold: 5, // with 0, a key with no record is admitted without asking orderingDisabled
      orderingDisabled: () => {
        subscription?.unsubscribe();
        return false;
      },
    });
    const seen: Job[] = [];
    const source = new Subject<Job>();
    subscription = source.pipe(barrierEnter(store)).subscribe((value) => seen.push(value));
    source.next(job('a', 1));
    expect(seen).toEqual([]);
    expect(store.stats()).toMatchObject({ admitted: 0, total: 0, entrances: 0, records: 0 });
  });

  it('closed by a synchronous sync inside a report: the reported job is not counted twice', () => {
    // keyThreshold makes every job a record, so 'succeeded' is queued and,
    // on queueScheduler, synced at once, inside report(); that sync releases
    // b#2, whose subscriber unsubscribes the pipeline that a#1 belongs to.
    const store = newStore({ scheduler: queueScheduler, keyThreshold: 5, retryDelay: 0 });
    const source = new Subject<Job>();
    const reports: JobStatus<Job>[] = [];
    const admitted: Job[] = [];
    let subscription: Subscription | undefined;
    subscription = source.pipe(barrierEnter(store)).subscribe((value) => {
      admitted.push(value);
      if (value.key === 'b' && value.id === 2) subscription?.unsubscribe();
    });
    const statuses = new Subject<JobStatus<Job>>();
    statuses.pipe(barrierState(store)).subscribe((status) => reports.push(status));
    source.next(job('a', 1));
    source.next(job('b', 1));
    statuses.next({ job: job('b', 1), state: 'failed' }); // b#1 retries at once
    source.next(job('b', 2)); // held behind b#1
    statuses.next({ job: job('b', 1), state: 'succeeded' }); // sync: releases b#2, which unsubscribes
    expect(admitted.map((value) => `${value.key}#${value.id}`)).toEqual(['a#1', 'b#1', 'b#1', 'b#2']);
    // a#1's entrance is gone; its outcome still arrives and must be absorbed once.
    statuses.next({ job: job('a', 1), state: 'succeeded' });
    expect(store.stats()).toMatchObject({ admitted: 0, held: 0, retrying: 0, total: 0 });
    expect(reports.length).toBe(3);
  });
});
