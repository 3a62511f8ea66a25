// BarrierStore: held jobs are released in id order, and a job arriving meanwhile never overtakes them.
import { describe, expect, it } from 'vitest';
import { job, newStore } from '../support/jobs.js';
import { newScheduler, advanceTo, Entry, report } from '../support/store-harness.js';

describe('BarrierStore hold and release: a held job is never overtaken', () => {
  it("holds a job that arrives while its key's held jobs are being released behind them", () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 5 });
    const entry = new Entry(store).push(job('k', 1));
    // The source reacts to the release of k#2 by emitting k#4 at once.
    store.events$.subscribe((event) => {
      if (event.type === 'released' && event.jobId === 2) entry.push(job('k', 4));
    });
    report(store, job('k', 1), 'failed');
    entry.push(job('k', 2), job('k', 3));
    advanceTo(scheduler, 5);
    report(store, job('k', 1), 'succeeded');
    advanceTo(scheduler, 5);
    expect(entry.admitted).toEqual(['k#1', 'k#1', 'k#2', 'k#3', 'k#4']);
  });
});
