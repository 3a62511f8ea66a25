// BarrierStore pressure$: the high-water mark and its fall-back at half of it.
import { Subject, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/index.js';
import { barrierEnter, barrierState } from '../../src/operators/index.js';
import { job, newStore, type Job } from '../support/jobs.js';
import { newScheduler, Entry, report } from '../support/store-harness.js';

describe('BarrierStore pressure$', () => {
  it('says true once the store holds highWaterMark jobs and false again only at half of it', () => {
    const store = newStore({ scheduler: newScheduler(), highWaterMark: 4 });
    const pressure: boolean[] = [];
    store.pressure$.subscribe((value) => pressure.push(value));
    const entry = new Entry(store).push(job('a', 1), job('b', 1), job('c', 1));
    expect(pressure).toEqual([false]);
    entry.push(job('d', 1));
    expect(pressure).toEqual([false, true]);
    report(store, job('a', 1), 'succeeded'); // 3 left: still above half
    expect(pressure).toEqual([false, true]);
    report(store, job('b', 1), 'succeeded'); // 2 left: half
    expect(pressure).toEqual([false, true, false]);
    entry.push(job('e', 1)); // 3: below the mark again
    expect(pressure).toEqual([false, true, false]);
  });

  it('counts held and retrying jobs as well as admitted ones', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, highWaterMark: 3, retryDelay: 5 });
    const pressure: boolean[] = [];
    const entry = new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed');
    entry.push(job('k', 2));
    store.pressure$.subscribe((value) => pressure.push(value));
    expect(store.stats()).toMatchObject({ retrying: 1, held: 1, blocked: 1, total: 2 });
    expect(pressure).toEqual([false]);
    entry.push(job('k', 3)); // blocked behind k#1: not counted
    expect(pressure).toEqual([false]);
    entry.push(job('j', 1), job('j', 2));
    expect(pressure).toEqual([false, true]);
  });

  it('gives a late subscriber the current value', () => {
    const store = newStore({ scheduler: newScheduler(), highWaterMark: 1 });
    new Entry(store).push(job('k', 1));
    const pressure: boolean[] = [];
    store.pressure$.subscribe((value) => pressure.push(value));
    expect(pressure).toEqual([true]);
  });

  it('falls back to false once an eviction leaves the count at half the high-water mark', () => {
    const scheduler = new VirtualTimeScheduler();
    const overflowed: number[] = [];
    const store = newStore({ scheduler, highWaterMark: 2, maxHeldPerKey: 1, onOverflow: (value) => overflowed.push(value.id) });
    const pressure: boolean[] = [];
    store.pressure$.subscribe((value) => pressure.push(value));
    const statuses = new Subject<JobStatus<Job>>();
    statuses.pipe(barrierState(store)).subscribe();
    const first = new Subject<Job>();
    const firstSubscription = first.pipe(barrierEnter(store)).subscribe();
    const second = new Subject<Job>();
    const admitted: number[] = [];
    second.pipe(barrierEnter(store)).subscribe((value) => admitted.push(value.id));
    first.next(job('k', 1));
    statuses.next({ job: job('k', 1), state: 'failed' });
    second.next(job('k', 2)); // held behind the failed k#1
    firstSubscription.unsubscribe(); // k#1 stays the key's failed job
    scheduler.flush();
    second.next(job('k', 1)); // read again: k#2 is evicted, k#1 runs
    expect(admitted).toEqual([1]);
    expect(overflowed).toEqual([2]);
    expect(store.stats().total).toBe(1);
    expect(pressure.at(-1)).toBe(false);
  });
});
