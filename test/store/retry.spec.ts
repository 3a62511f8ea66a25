// BarrierStore retry: when a failed job comes back, its delay, and retries that must not be lost or repeated.
import { Subject, map, queueScheduler, timer, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/index.js';
import { barrierEnter, barrierState, orderedDelivery, type DeliveryOutcome } from '../../src/operators/index.js';
import { job, newStore, type Job } from '../support/jobs.js';
import { newScheduler, advanceTo, Entry, report } from '../support/store-harness.js';

describe('BarrierStore retry', () => {
  it('a retry that comes after a later failed job of its key is held until that job is resolved, not lost', () => {
    const scheduler = newScheduler();
    const illegal: string[] = [];
    const store = newStore({
      scheduler,
      keyThreshold: 2,
      disabledDuration: 1,
      halfEnabledDuration: 1,
      retryDelay: 10,
      onIllegalSequence: (error) => illegal.push(`${error.location} ${error.jobId} after ${error.previousFailedJobId}`),
    });
    const entry = new Entry(store).push(job('k', 1), job('k', 2), job('k', 3)); // 3 trips the threshold: disabled
    report(store, job('k', 1), 'failed'); // ignored by the disabled barrier; retried at 10
    report(store, job('k', 2), 'succeeded');
    report(store, job('k', 3), 'succeeded');
    advanceTo(scheduler, 2);
    entry.push(job('k', 4)); // half-enabled now
    report(store, job('k', 4), 'failed'); // the key's failed job; retried at 12
    advanceTo(scheduler, 11); // 1's retry: the key is enabled again, and 1 < failed 4
    expect(illegal).toEqual([]); // the store holds 1 rather than enter it out of order
    expect(entry.admitted).toEqual(['k#1', 'k#2', 'k#3', 'k#4']);
    expect(store.stats()).toMatchObject({ held: 1, retrying: 1 });
    advanceTo(scheduler, 13); // 4's retry goes first; 1 stays held behind it
    expect(entry.admitted).toEqual(['k#1', 'k#2', 'k#3', 'k#4', 'k#4']);
    expect(store.stats()).toMatchObject({ held: 1, retrying: 0, admitted: 1 });
    report(store, job('k', 4), 'succeeded');
    advanceTo(scheduler, 14);
    expect(entry.admitted).toEqual(['k#1', 'k#2', 'k#3', 'k#4', 'k#4', 'k#1']);
    report(store, job('k', 1), 'succeeded');
    entry.end();
    advanceTo(scheduler, 15);
    expect(entry.completed).toBe(true);
    expect(store.stats()).toMatchObject({ held: 0, retrying: 0, admitted: 0 });
  });

  it('retries a job that failed while its key was disabled after the later failed job, without an IllegalJobSequenceError', () => {
    const scheduler = new VirtualTimeScheduler();
    const store = newStore({ scheduler, keyThreshold: 1, disabledDuration: 10, halfEnabledDuration: 10, retryDelay: 100 });
    const source = new Subject<Job>();
    const attempts = new Map<number, number>();
    const results: string[] = [];
    let error: unknown;
    let completed = false;
    source
      .pipe(
        orderedDelivery(store, {
          deliver: (value) => {
            const attempt = (attempts.get(value.id) ?? 0) + 1;
            attempts.set(value.id, attempt);
            // First attempts fail: k#1 at 5 (key disabled), k#2 at 50 (key enabled again).
            return timer(value.id === 1 ? 5 : 50, scheduler).pipe(map((): DeliveryOutcome => (attempt === 1 ? 'failed' : 'succeeded')));
          },
        }),
      )
      .subscribe({ next: (r) => results.push(`${r.jobId}:${r.state}`), error: (e: unknown) => (error = e), complete: () => (completed = true) });
    source.next(job('k', 1));
    source.next(job('k', 2)); // keyThreshold 1: the key is disabled
    source.complete();
    scheduler.flush();
    expect(error).toBeUndefined();
    expect(results).toEqual(['2:succeeded', '1:succeeded']); // 2 was the key's failed job: it goes first
    expect(completed).toBe(true);
  });

  it("caps a retry delay over 2^31 - 1 ms at the timers' limit (about 24.8 days) instead of firing after 1 ms", async () => {
    const store = newStore();
    const failures: number[] = [];
    let calls = 0;
    const watcher = store.events$.subscribe((event) => {
      if (event.type === 'failed') failures.push(event.retryIn);
    });
    const source = new Subject<Job>();
    const subscription = source
      .pipe(orderedDelivery(store, { deliver: () => (calls++, 'failed'), retryDelay: () => 2 ** 31, maxAttempts: Infinity }))
      .subscribe();
    source.next(job('a', 1));
    await new Promise((resolve) => setTimeout(resolve, 100));
    subscription.unsubscribe();
    watcher.unsubscribe();
    expect(calls).toBe(1);
    expect(failures).toEqual([2 ** 31 - 1]);
  });

  it('does not cancel again on unsubscribe a retry that already ran on queueScheduler (retrying never goes negative)', () => {
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
