// BarrierStore: the periodic prune of idle records while subscribed.
import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/index.js';
import { barrierEnter, barrierState } from '../../src/operators/index.js';
import { job, newStore, type Job } from '../support/jobs.js';
import { newScheduler, advanceTo, Entry, report } from '../support/store-harness.js';

describe('BarrierStore pruning', () => {
  it('while subscribed, releases a key that went idle while disabled once its durations have passed, then schedules nothing', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, keyThreshold: 1, disabledDuration: 10, halfEnabledDuration: 5 });
    const entry = new Entry(store).push(job('k', 1), job('k', 2)); // k#2 trips keyThreshold 1
    report(store, job('k', 1), 'succeeded');
    report(store, job('k', 2), 'succeeded');
    advanceTo(scheduler, 1);
    expect(store.barrier.disabled('k')).toBe(true);
    advanceTo(scheduler, 20);
    expect(store.barrier.snapshot().records[0]?.mode).toBe('halfEnabled');
    advanceTo(scheduler, 30);
    expect(store.stats().records).toBe(0);
    expect(scheduler.actions).toHaveLength(0);
    entry.close();
  });

  it('prunes a key disabled while its paused jobs were released, while the store stays subscribed (records made by releases were never pruned)', () => {
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
