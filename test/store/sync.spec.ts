// BarrierStore sync: 'auto' coalesces outcomes into one scheduled sync, 'manual' waits for store.sync().
import { Subject, queueScheduler, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import type { BarrierStore } from '../../src/index.js';
import { orderedDelivery } from '../../src/operators/index.js';
import { job, newStore, type Job } from '../support/jobs.js';
import { QUEUED_SYNC_BOUND, queuedSyncBound } from '../../src/store/sync.js';
import { newScheduler, advanceTo, Entry, report } from '../support/store-harness.js';

/** What each sync applied, as `synced` events tell it. */
function appliedPerSync(store: BarrierStore<Job>): number[] {
  const applied: number[] = [];
  store.events$.subscribe((event) => {
    if (event.type === 'synced') applied.push(event.applied);
  });
  return applied;
}

describe('BarrierStore sync', () => {
  it("'auto': coalesces the outcomes queued in one turn into one sync on the scheduler, then re-tries the held jobs of the changed keys", () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 5 });
    const syncs = appliedPerSync(store);
    const entry = new Entry(store).push(job('k', 1), job('j', 1));
    report(store, job('k', 1), 'failed');
    report(store, job('j', 1), 'failed');
    entry.push(job('k', 2), job('j', 2));
    advanceTo(scheduler, 5);
    report(store, job('k', 1), 'succeeded');
    report(store, job('j', 1), 'succeeded');
    // Queued, not applied: the sync runs on the scheduler, not inside barrierState.
    expect(store.barrier.pending).toBe(2);
    expect(entry.admitted).toEqual(['k#1', 'j#1', 'k#1', 'j#1']);
    expect(scheduler.actions).toHaveLength(1);
    advanceTo(scheduler, 5);
    expect(syncs).toEqual([2]);
    expect(entry.admitted).toEqual(['k#1', 'j#1', 'k#1', 'j#1', 'k#2', 'j#2']);
  });

  it("'auto': a store.sync() called by hand applies at once and cancels the scheduled sync", () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 5 });
    const entry = new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed');
    entry.push(job('k', 2));
    advanceTo(scheduler, 5);
    report(store, job('k', 1), 'succeeded');
    expect(scheduler.actions).toHaveLength(1);
    expect(store.sync()).toBe(1);
    expect(entry.admitted).toEqual(['k#1', 'k#1', 'k#2']);
    expect(scheduler.actions).toHaveLength(0);
  });

  it("'auto': a synchronous burst keeps at most QUEUED_SYNC_BOUND outcomes queued, and schedules one sync for the whole burst", () => {
    const scheduler = newScheduler();
    // keyThreshold: every outcome is queued; one this large leaves the bound at QUEUED_SYNC_BOUND.
    const store = newStore({ scheduler, keyThreshold: 1000 });
    const applied = appliedPerSync(store);
    const entry = new Entry(store);
    const schedule = vi.spyOn(scheduler, 'schedule');
    let mostPending = 0;
    for (let id = 1; id <= 3 * QUEUED_SYNC_BOUND + 10; id++) {
      entry.push(job(`k${id % 50}`, id));
      report(store, job(`k${id % 50}`, id), 'succeeded');
      mostPending = Math.max(mostPending, store.barrier.pending);
    }
    // The bounded syncs leave the scheduled one in place: no timer per bound.
    // (The automatic sync is scheduled without a delay; the prune timer with one.)
    expect(schedule.mock.calls.filter(([, delay]) => delay === undefined)).toHaveLength(1);
    expect(mostPending).toBe(QUEUED_SYNC_BOUND - 1);
    expect(applied).toEqual([QUEUED_SYNC_BOUND, QUEUED_SYNC_BOUND, QUEUED_SYNC_BOUND]);
    advanceTo(scheduler, 1);
    expect(applied).toEqual([QUEUED_SYNC_BOUND, QUEUED_SYNC_BOUND, QUEUED_SYNC_BOUND, 10]);
    expect(store.barrier.pending).toBe(0);
    expect(store.barrier.size).toBe(0);
  });

  it("'auto': with a keyThreshold under twice QUEUED_SYNC_BOUND, the burst is synced every keyThreshold / 2 outcomes", () => {
    expect([0, 1, 2, 3, 200, 511, 512, 10_000].map(queuedSyncBound)).toEqual([256, 1, 1, 1, 100, 255, 256, 256]);
    const scheduler = newScheduler();
    const store = newStore({ scheduler, keyThreshold: 200 });
    const applied = appliedPerSync(store);
    const entry = new Entry(store);
    let mostPending = 0;
    for (let id = 1; id <= 250; id++) {
      entry.push(job(`k${id % 50}`, id));
      report(store, job(`k${id % 50}`, id), 'succeeded');
      mostPending = Math.max(mostPending, store.barrier.pending);
    }
    expect(mostPending).toBe(99);
    expect(applied).toEqual([100, 100]);
    advanceTo(scheduler, 1);
    expect(applied).toEqual([100, 100, 50]);
    expect(store.barrier.size).toBe(0);
  });

  it("'auto': a bounded sync re-tries the held jobs of the keys it applied outcomes for", () => {
    const scheduler = newScheduler();
    // keyThreshold: every outcome is queued, the other keys' included.
    const store = newStore({ scheduler, retryDelay: 1, keyThreshold: 1000 });
    const entry = new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed');
    entry.push(job('k', 2));
    advanceTo(scheduler, 1);
    expect(entry.admitted).toEqual(['k#1', 'k#1']);
    report(store, job('k', 1), 'succeeded');
    // Other keys' outcomes fill the queue up to the bound, in the same turn.
    for (let id = 1; id < QUEUED_SYNC_BOUND; id++) {
      expect(entry.admitted).not.toContain('k#2');
      entry.push(job(`o${id}`, id));
      report(store, job(`o${id}`, id), 'succeeded');
    }
    expect(store.barrier.pending).toBe(0);
    expect(entry.admitted).toContain('k#2');
  });

  it("'manual': every sync re-tries the keys of all the outcomes queued since the last one, however many, the last one's included", () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, sync: 'manual', retryDelay: 1, keyThreshold: 10_000 });
    const entry = new Entry(store);
    // Rounds of growing size (past the four bounds' worth of keys a sync
    // keeps its array for): k's job held behind its failed one, other keys'
    // outcomes, then k's retry succeeding as the last outcome queued.
    let id = 0;
    let time = 0;
    for (const others of [3, 2_000, 5, 1_100]) {
      const failing = ++id;
      entry.push(job('k', failing));
      report(store, job('k', failing), 'failed');
      entry.push(job('k', ++id));
      advanceTo(scheduler, ++time);
      for (let i = 0; i < others; i++) {
        entry.push(job(`o${i}`, ++id));
        report(store, job(`o${i}`, id), 'succeeded');
      }
      report(store, job('k', failing), 'succeeded');
      expect(entry.admitted).not.toContain(`k#${failing + 1}`);
      expect(store.sync()).toBe(others + 1);
      expect(entry.admitted).toContain(`k#${failing + 1}`);
      report(store, job('k', failing + 1), 'succeeded');
      store.sync();
    }
    expect(store.stats()).toMatchObject({ held: 0, total: 0, queued: 0 });
  });

  it("'manual': schedules no sync and releases nothing until store.sync() is called", () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, sync: 'manual', retryDelay: 5 });
    const entry = new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed');
    entry.push(job('k', 2));
    advanceTo(scheduler, 5);
    report(store, job('k', 1), 'succeeded');
    advanceTo(scheduler, 1_000);
    expect(scheduler.actions).toHaveLength(0);
    expect(entry.admitted).toEqual(['k#1', 'k#1']);
    expect(store.stats()).toMatchObject({ held: 1, queued: 1 });
    expect(store.sync()).toBe(1);
    expect(entry.admitted).toEqual(['k#1', 'k#1', 'k#2']);
    expect(store.stats()).toMatchObject({ held: 0, queued: 0, records: 0 });
  });
});

describe('BarrierStore sync: user code and synchronous schedulers', () => {
  it('runs the automatic sync that queueScheduler executes inside schedule(): the entrance completes and later held jobs are released (it was left pending for good)', () => {
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

  it('releases every held job when an events$ handler calls store.sync() during a sync (a nested sync stranded them)', () => {
    const scheduler = new VirtualTimeScheduler();
    const store = newStore({ scheduler, sync: 'manual', concurrencyLimit: 1, retryDelay: 1 });
    const results: string[] = [];
    let completed = false;
    let nested = false;
    const watcher = store.events$.subscribe((event) => {
      // e.g. a metrics/ops handler that syncs again right after a sync that applied something
      if (event.type === 'synced' && event.applied > 0 && !nested) {
        nested = true;
        store.sync();
      }
    });
    const source = new Subject<Job>();
    source
      .pipe(orderedDelivery(store, { deliver: (value, { attempt }) => (value.id !== 1 ? 'succeeded' : attempt === 1 ? 'failed' : 'aborted') }))
      .subscribe({ next: (result) => results.push(`${result.jobId}:${result.state}`), complete: () => (completed = true) });
    source.next(job('a', 1)); // fails; retried at 1, then aborted (queued): the key drains one job at a time
    source.next(job('a', 2)); // held
    source.next(job('a', 3)); // held
    source.complete();
    scheduler.flush();
    for (let i = 0; i < 5; i++) store.sync(); // the owner keeps syncing
    watcher.unsubscribe();
    expect(results).toEqual(['1:aborted', '2:succeeded', '3:succeeded']);
    expect(completed).toBe(true);
  });
});
