// BarrierStore started from a saved barrier (the snapshot option).
import { Subject, of, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Barrier } from '../../src/index.js';
import { orderedDelivery } from '../../src/operators/index.js';
import { job, newStore, type Job } from '../support/jobs.js';
import { newScheduler, advanceTo, Entry, report } from '../support/store-harness.js';

describe('BarrierStore: starting from a saved barrier', () => {
  it('restores the snapshot option, so a failed job saved before a restart still holds its key', () => {
    const before = newStore({ scheduler: newScheduler() });
    new Entry(before).push(job('k', 1));
    report(before, job('k', 1), 'failed');
    const saved = JSON.parse(JSON.stringify(before.barrier.snapshot())) as ReturnType<Barrier['snapshot']>;

    const scheduler = newScheduler();
    const after = newStore({ scheduler, snapshot: saved });
    expect(after.barrier.peek('k')).toBe(1);
    const entry = new Entry(after).push(job('k', 2));
    expect(entry.admitted).toEqual([]); // held behind the restored failed job
    entry.push(job('k', 1)); // the failed job, fed again first in line
    expect(entry.admitted).toEqual(['k#1']);
    report(after, job('k', 1), 'succeeded');
    advanceTo(scheduler, 1);
    expect(entry.admitted).toEqual(['k#1', 'k#2']);
  });

  it('rejects a malformed snapshot option with the TypeError fromSnapshot gives', () => {
    expect(() => newStore({ scheduler: newScheduler(), snapshot: { version: 2 } as never })).toThrow(/invalid barrier snapshot: version must be 1/);
  });

  it('applies the queued outcomes of a restored snapshot, then re-tries the held jobs of the keys they touch', () => {
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

  it('applies the queued outcomes of a restored snapshot at the first store.sync() with manual sync, releasing the key', () => {
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
