// BarrierStore: what the store keeps per key, and when it forgets a key.
import { describe, expect, it } from 'vitest';
import { job, newStore } from '../support/jobs.js';
import { newScheduler, advanceTo, Entry, wait, report } from '../support/store-harness.js';

describe('BarrierStore per-key bookkeeping', () => {
  it('keeps nothing per key for jobs admitted with no record through a single entrance', () => {
    const store = newStore({ scheduler: newScheduler() });
    const entry = new Entry(store);
    for (let i = 0; i < 100; i++) entry.push(job(`key-${i}`, 1));
    expect(store.stats()).toMatchObject({ admitted: 100, keys: 0, records: 0 });
  });

  it('deletes a key once it has nothing held, retrying, running or paused', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 5 });
    const entry = new Entry(store);
    for (let i = 0; i < 20; i++) entry.push(job(`key-${i}`, 1), job(`key-${i}`, 2));
    for (let i = 0; i < 20; i++) report(store, job(`key-${i}`, 1), 'failed');
    for (let i = 0; i < 20; i++) expect(wait(store, job(`key-${i}`, 2))).toBe(false);
    expect(store.stats()).toMatchObject({ keys: 20, held: 20, retrying: 20 });
    advanceTo(scheduler, 5);
    for (let i = 0; i < 20; i++) report(store, job(`key-${i}`, 1), 'succeeded');
    advanceTo(scheduler, 5);
    expect(store.stats()).toMatchObject({ keys: 20, admitted: 20, held: 0 });
    for (let i = 0; i < 20; i++) report(store, job(`key-${i}`, 2), 'succeeded');
    advanceTo(scheduler, 5);
    expect(store.stats()).toMatchObject({ keys: 0, records: 0, total: 0 });
  });

  it('deletes the record of a key recorded because of keyThreshold once its jobs are terminal', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, keyThreshold: 5 });
    const entry = new Entry(store).push(job('k', 1), job('k', 2));
    // Recorded by the barrier, but through the only entrance: counted, not tracked.
    expect(store.stats()).toMatchObject({ admitted: 2, keys: 0, records: 1 });
    report(store, job('k', 1), 'succeeded');
    report(store, job('k', 2), 'filtered');
    advanceTo(scheduler, 1);
    expect(store.stats()).toMatchObject({ keys: 0, records: 0 });
    entry.close();
  });
});
