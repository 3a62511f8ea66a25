// BarrierStore: what unsubscribing an entrance hands back to the barrier, cancels and drops.
import { Subject, of, map, VirtualTimeScheduler } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JobStatus } from '../../src/index.js';
import { barrierEnter, barrierState, barrierWait, concatMapByKey } from '../../src/operators/index.js';
import { job, newStore, type Job } from '../support/jobs.js';
import { newScheduler, advanceTo, Entry, report } from '../support/store-harness.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('BarrierStore unsubscribe', () => {
  it('calls leave for every admitted unfinished job the barrier recorded, leaving no record behind', () => {
    const store = newStore({ scheduler: newScheduler(), keyThreshold: 10 });
    const leave = vi.spyOn(store.barrier, 'leave');
    const entry = new Entry(store).push(job('k', 1), job('k', 2), job('j', 1));
    report(store, job('k', 1), 'succeeded');
    expect(store.barrier.size).toBe(2);
    entry.close();
    expect(leave.mock.calls.sort()).toEqual([
      ['j', 1],
      ['k', 2],
    ]);
    expect(store.barrier.size).toBe(0);
    expect(store.stats()).toMatchObject({ admitted: 0, total: 0, keys: 0, entrances: 0 });
  });

  it('calls leave for jobs admitted while the key drains after an abort', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, concurrencyLimit: 1, retryDelay: 5 });
    const entry = new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed');
    entry.push(job('k', 2), job('k', 3));
    advanceTo(scheduler, 5);
    report(store, job('k', 1), 'aborted');
    advanceTo(scheduler, 5);
    expect(entry.admitted).toEqual(['k#1', 'k#1', 'k#2']);
    expect(store.barrier.snapshot().records).toEqual([
      { key: 'k', mode: 'enabled', modeSince: 0, failedJobId: null, concurrent: null, draining: [2] },
    ]);
    const leave = vi.spyOn(store.barrier, 'leave');
    entry.close();
    expect(leave.mock.calls).toEqual([['k', 2]]);
    expect(store.barrier.snapshot().records[0]?.draining).toEqual([]);
    expect(store.stats()).toMatchObject({ held: 0, admitted: 0, keys: 0 });
  });

  it('cancels retry timers, the pending sync and pruning: no scheduled action is left', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, keyThreshold: 10, retryDelay: 5 });
    const entry = new Entry(store).push(job('k', 1), job('j', 1));
    report(store, job('k', 1), 'failed');
    report(store, job('j', 1), 'succeeded');
    expect(scheduler.actions.length).toBeGreaterThanOrEqual(3); // retry, sync, prune
    entry.close();
    expect(scheduler.actions).toHaveLength(0);
    expect(store.stats()).toMatchObject({ retrying: 0, queued: 0 });
  });

  it('drops held jobs with their bookkeeping', () => {
    const store = newStore({ scheduler: newScheduler() });
    const entry = new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed');
    entry.push(job('k', 2), job('k', 3));
    entry.close();
    expect(store.stats()).toMatchObject({ held: 0, retrying: 0, admitted: 0, total: 0, keys: 0 });
  });

  it('forgets jobs admitted on the untracked path: the barrier recorded nothing to leave', () => {
    const store = newStore({ scheduler: newScheduler() });
    const leave = vi.spyOn(store.barrier, 'leave');
    new Entry(store).push(job('k', 1), job('j', 1)).close();
    expect(leave).not.toHaveBeenCalled();
    expect(store.stats()).toMatchObject({ admitted: 0, total: 0, entrances: 0 });
  });

  it("keeps a failed job recorded: another entrance's job of its key stays held until the failed job is entered again", () => {
    // Regression: a job older than every held job of its key (here the failed
    // job, redelivered) was held behind them and never tried, so the key
    // stayed blocked for good.
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 5 });
    const first = new Entry(store);
    const second = new Entry(store);
    first.push(job('k', 1));
    report(store, job('k', 1), 'failed');
    second.push(job('k', 2));
    first.close();
    advanceTo(scheduler, 100);
    expect(store.barrier.peek('k')).toBe(1);
    expect(second.admitted).toEqual([]);
    expect(store.stats()).toMatchObject({ held: 1, retrying: 0 });

    second.push(job('k', 1)); // redelivered by the source
    expect(second.admitted).toEqual(['k#1']);
    report(store, job('k', 1), 'succeeded');
    advanceTo(scheduler, 100);
    expect(second.admitted).toEqual(['k#1', 'k#2']);
  });

  it("re-tries the other entrances' held jobs when leave frees a drain slot", () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, concurrencyLimit: 1, retryDelay: 5 });
    const first = new Entry(store);
    const second = new Entry(store);
    first.push(job('k', 1));
    report(store, job('k', 1), 'failed');
    advanceTo(scheduler, 5);
    report(store, job('k', 1), 'aborted');
    advanceTo(scheduler, 5);
    first.push(job('k', 2)); // takes the one drain slot
    second.push(job('k', 3));
    expect(second.admitted).toEqual([]);
    first.close();
    expect(second.admitted).toEqual(['k#3']);
  });

  it('closes an entrance that shares a key with 150,000 held jobs of another without throwing (a spread past the argument limit threw RangeError)', () => {
    // closeEntrance rebuilt the key's list with splice(0, n, ...kept): a
    // RangeError past V8's argument limit, leaving the store half cleaned.
    const scheduler = new VirtualTimeScheduler();
    const store = newStore({ scheduler, retryDelay: 1_000 });
    const entered = new Subject<Job>();
    entered
      .pipe(
        concatMapByKey(
          (value) => value.key,
          (value) =>
            of(value).pipe(
              barrierWait(store),
              map((admitted): JobStatus<Job> => ({ job: admitted, state: admitted.id === 1 ? 'failed' : 'succeeded' })),
              barrierState(store),
            ),
        ),
      )
      .subscribe();
    const a = new Subject<Job>();
    const b = new Subject<Job>();
    const subscriptionA = a.pipe(barrierEnter(store)).subscribe((value) => entered.next(value));
    b.pipe(barrierEnter(store)).subscribe((value) => entered.next(value));
    a.next(job('k', 1)); // fails: waits for its retry
    a.next(job('k', 2)); // held
    const n = 150_000;
    for (let id = 3; id < n + 3; id++) b.next(job('k', id)); // held
    expect(store.stats().held).toBe(n + 1);
    expect(() => subscriptionA.unsubscribe()).not.toThrow();
    expect(store.stats()).toMatchObject({ held: n, retrying: 0, entrances: 1 });
  });
});
