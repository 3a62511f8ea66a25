// BarrierStore: user code (events$ handlers, subscribers, orderingDisabled) running inside its bookkeeping.
import { Subject, queueScheduler, VirtualTimeScheduler, type Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/index.js';
import { barrierEnter, barrierState } from '../../src/operators/index.js';
import { job, newStore, type Job } from '../support/jobs.js';
import { newScheduler, advanceTo, Entry, report, deliverUntil, orderedPipeline } from '../support/store-harness.js';

describe('BarrierStore: user code running inside its bookkeeping', () => {
  it('regression: an events$ handler that closed the entrance during a release drove counts negative and left the job recorded', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, keyThreshold: 5, retryDelay: 1 });
    const entry = new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed');
    entry.push(job('k', 2)); // held behind the failed job
    advanceTo(scheduler, 1); // k#1 retried
    report(store, job('k', 1), 'succeeded');
    store.events$.subscribe((event) => {
      if (event.type === 'recordCreated') entry.close();
    });
    advanceTo(scheduler, 2); // the sync deletes k's record; releasing k#2 creates one
    expect(entry.admitted).toEqual(['k#1', 'k#1']);
    expect(store.stats()).toMatchObject({ held: 0, retrying: 0, admitted: 0, total: 0, keys: 0 });
    expect(store.barrier.size).toBe(0);
  });

  it('a failed event already counts the job as retrying', () => {
    const store = newStore({ scheduler: newScheduler(), retryDelay: 5 });
    const seen: number[] = [];
    store.events$.subscribe((event) => {
      if (event.type === 'failed') seen.push(store.stats().retrying);
    });
    new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed');
    expect(seen).toEqual([1]);
  });
});

describe('BarrierStore: an entrance closed by user code while the store is busy', () => {
  it('leaves no ticket or record behind when an events$ handler closes the entrance during an admission', () => {
    const scheduler = new VirtualTimeScheduler();
    const store = newStore({ scheduler, keyThreshold: 5 });
    deliverUntil(store, 'recordCreated', job('a', 1), 'succeeded');
    scheduler.flush();
    expect(store.stats()).toMatchObject({ admitted: 0, total: 0, records: 0 });
    expect(String(store.barrier)).toBe('Barrier 0 keys, 0 pending');

    const second = orderedPipeline(store);
    second.source.next(job('a', 1));
    second.source.complete();
    scheduler.flush();
    expect(second.results).toEqual([1]);
    expect(second.completed).toBe(true);
  });

  it('admits nothing for an entrance that orderingDisabled closes during an admission', () => {
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

  it('counts a reported job once when a synchronous sync inside the report closes its entrance', () => {
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

  it('leaves no job behind when an events$ handler unsubscribes the pipeline on a failed event', () => {
    const scheduler = new VirtualTimeScheduler();
    const store = newStore({ scheduler, retryDelay: 5 });
    deliverUntil(store, 'failed', job('a', 1), 'failed');
    scheduler.flush();
    // The failed record of a#1 stays (documented); the store must hold no job.
    expect(store.stats()).toMatchObject({ held: 0, retrying: 0, admitted: 0, total: 0, keys: 0, entrances: 0 });
  });
});
