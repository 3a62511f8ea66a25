// BarrierStore: when an entrance completes.
import { describe, expect, it } from 'vitest';
import { job, newStore } from '../support/jobs.js';
import { newScheduler, advanceTo, Entry, report } from '../support/store-harness.js';

describe('BarrierStore completion', () => {
  it('completes an entrance once its source completed and every job it admitted is terminal', () => {
    const store = newStore({ scheduler: newScheduler() });
    const entry = new Entry(store).push(job('k', 1), job('j', 1)).end();
    expect(entry.completed).toBe(false);
    report(store, job('k', 1), 'succeeded');
    expect(entry.completed).toBe(false);
    report(store, job('j', 1), 'aborted');
    expect(entry.completed).toBe(true);
  });

  it('completes an entrance whose source completed empty at once', () => {
    const entry = new Entry(newStore({ scheduler: newScheduler() })).end();
    expect(entry.completed).toBe(true);
  });

  it('stays open while a job is retrying, and while a job is held', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 5 });
    const entry = new Entry(store).push(job('k', 1)).end();
    report(store, job('k', 1), 'failed');
    expect(store.stats().retrying).toBe(1);
    expect(entry.completed).toBe(false);
    store.pause('k');
    advanceTo(scheduler, 5);
    expect(store.stats().held).toBe(1);
    expect(entry.completed).toBe(false);
    store.resume('k');
    report(store, job('k', 1), 'succeeded');
    expect(entry.completed).toBe(false);
    advanceTo(scheduler, 5);
    expect(entry.completed).toBe(true);
  });

  it('runs the pending automatic sync before completing, so the barrier is clean when it completes', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 5 });
    const entry = new Entry(store).push(job('k', 1)).end();
    let barrierAtCompletion = '';
    store.events$.subscribe(() => undefined);
    entry.subscription.add(() => (barrierAtCompletion = String(store.barrier)));
    report(store, job('k', 1), 'failed');
    advanceTo(scheduler, 5);
    report(store, job('k', 1), 'succeeded');
    expect(entry.completed).toBe(false);
    advanceTo(scheduler, 5);
    expect(entry.completed).toBe(true);
    expect(barrierAtCompletion).toBe('Barrier 0 keys, 0 pending');
  });

  it('never completes when no outcome is reported through barrierState', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler });
    const entry = new Entry(store).push(job('k', 1)).end();
    advanceTo(scheduler, 1_000_000);
    expect(entry.completed).toBe(false);
    expect(store.stats().admitted).toBe(1);
  });
});
