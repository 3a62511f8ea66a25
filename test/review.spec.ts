import { delay, map, of, queueScheduler, range, Subject, take } from 'rxjs';
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
