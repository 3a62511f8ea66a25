// BarrierStore: jobs whose entrance closed before they finished (orphans), and jobs re-read by a new pipeline.
import { Subject, of, delay, map, VirtualTimeScheduler, type Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { JobState, JobStatus } from '../../src/index.js';
import { barrierEnter, barrierState, barrierWait, concatMapByKey, orderedDelivery } from '../../src/operators/index.js';
import { job, newStore, type Job } from '../support/jobs.js';
import { newScheduler, advanceTo, Entry, deliverUntil, orderedPipeline, report } from '../support/store-harness.js';

describe('BarrierStore: entrances that close before their jobs finish', () => {
  it('regression: an outcome of a closed entrance\'s job was counted against a later entrance, completing it early', () => {
    const store = newStore({ scheduler: newScheduler() });
    const statuses = new Subject<JobStatus<Job>>();
    // An executor in its own pipeline, outliving the first entrance.
    const executor = statuses.pipe(barrierState(store)).subscribe();
    const first = new Entry(store).push(job('x', 1));
    first.close();
    const second = new Entry(store).push(job('y', 1)).end();
    expect(store.stats().keys).toBe(1); // tracked: an unknown outcome could be the orphan's
    statuses.next({ job: job('x', 1), state: 'succeeded' });
    expect(second.completed).toBe(false);
    statuses.next({ job: job('y', 1), state: 'succeeded' });
    expect(second.completed).toBe(true);
    executor.unsubscribe();
  });

  it('keeps an orphan until its outcome comes, tracking new jobs meanwhile; then a new job takes the untracked path again', () => {
    const store = newStore({ scheduler: newScheduler() });
    new Entry(store).push(job('x', 1)).close();
    const next = new Entry(store).push(job('z', 1));
    expect(next.admitted).toEqual(['z#1']);
    expect(store.stats()).toMatchObject({ admitted: 1, keys: 1 });
    report(store, job('x', 1), 'succeeded'); // the orphan's outcome, from an executor elsewhere
    report(store, job('z', 1), 'succeeded');
    next.push(job('z', 2));
    expect(store.stats()).toMatchObject({ admitted: 1, keys: 0 });
  });
});

describe('BarrierStore: orphans of a closed entrance beside a live untracked one', () => {
  it("regression: a closed entrance's tracked job was credited to the live entrance, which completed early and dropped its own failed job", () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 5 });
    const statuses = new Subject<JobStatus<Job>>();
    const executor = statuses.pipe(barrierState(store)).subscribe();
    const live = new Entry(store).push(job('a', 1)); // alone: untracked
    const closing = new Entry(store).push(job('b', 1)); // two entrances: tracked
    closing.close();
    live.end();
    statuses.next({ job: job('b', 1), state: 'succeeded' });
    expect(live.completed).toBe(false);
    statuses.next({ job: job('a', 1), state: 'failed' });
    expect(store.stats().retrying).toBe(1);
    advanceTo(scheduler, 10);
    expect(live.admitted).toEqual(['a#1', 'a#1']); // retried through its own entrance
    statuses.next({ job: job('a', 1), state: 'succeeded' });
    advanceTo(scheduler, 11);
    expect(live.completed).toBe(true);
    expect(store.barrier.size).toBe(0);
    executor.unsubscribe();
  });
});

describe('BarrierStore: jobs whose entrance closed (orphans) and jobs re-read by a new pipeline', () => {
  it("accepts an executor's queued job of a closed entrance as an orphan between two inners, instead of rejecting it as never admitted", () => {
    const scheduler = new TestScheduler(() => undefined);
    scheduler.maxFrames = Infinity;
    const store = newStore({ scheduler });
    const admitted = new Subject<Job>();
    const source = new Subject<Job>();
    const entrance = source.pipe(barrierEnter(store)).subscribe(admitted);
    const settled: string[] = [];
    let failure: unknown;
    // The documented composition, with the executor in its own pipeline: one job at a time.
    admitted
      .pipe(
        concatMapByKey(
          () => 'one lane',
          (value) =>
            of(value).pipe(
              barrierWait(store),
              delay(10, scheduler),
              map((sent) => ({ job: sent, state: 'succeeded' as JobState })),
              barrierState(store),
            ),
          1,
        ),
      )
      .subscribe({ next: (status) => settled.push(`${status.job.key}#${status.job.id}`), error: (error: unknown) => (failure = error) });
    source.next(job('a', 1));
    source.next(job('b', 1)); // queued in the executor behind a#1
    entrance.unsubscribe(); // both are orphans now; the executor goes on
    scheduler.flush();
    expect(failure).toBeUndefined();
    expect(settled).toEqual(['a#1', 'b#1']);
    expect(store.stats()).toMatchObject({ total: 0, keys: 0, records: 0 });
  });

  it('emits no failed event promising a retry to a job whose entrance closed during its delivery', () => {
    const scheduler = new VirtualTimeScheduler();
    const store = newStore({ scheduler });
    const failed: number[] = [];
    store.events$.subscribe((event) => {
      if (event.type === 'failed') failed.push(event.jobId);
    });
    const source = new Subject<Job>();
    let calls = 0;
    const subscription: Subscription = source
      .pipe(
        orderedDelivery(store, {
          deliver: () => {
            calls++;
            subscription.unsubscribe();
            return 'failed';
          },
          retryDelay: 10,
        }),
      )
      .subscribe();
    source.next(job('a', 1));
    scheduler.flush();
    expect(calls).toBe(1);
    expect(failed).toEqual([]);
    expect(store.stats()).toMatchObject({ retrying: 0, total: 0 });
  });

  it('completes a new pipeline that re-reads a failed job whose pipeline an events$ handler closed', () => {
    const scheduler = new VirtualTimeScheduler();
    const store = newStore({ scheduler, retryDelay: 5 });
    deliverUntil(store, 'failed', job('a', 1), 'failed');
    scheduler.flush();
    const again = orderedPipeline(store);
    again.source.next(job('a', 1));
    again.source.complete();
    scheduler.flush();
    expect(again.results).toEqual([1]);
    expect(again.completed).toBe(true);
  });

  it("does not spin on the closed pipeline's retry timer once a new pipeline re-read its failed job", () => {
    const scheduler = new VirtualTimeScheduler();
    let illegal = 0;
    const store = newStore({
      scheduler,
      retryDelay: 5,
      // Throwing is what 'throw' mode does; give up after 1000 calls so the test ends.
      onIllegalSequence: (error) => {
        if (++illegal < 1000) throw error;
      },
    });
    deliverUntil(store, 'failed', job('a', 1), 'failed'); // fails; its pipeline is unsubscribed by the handler
    // A new pipeline re-reads a#1 (succeeds) and a#2 (fails, retried at 6).
    const again = new Subject<Job>();
    again
      .pipe(orderedDelivery(store, { deliver: (value, { attempt }) => (value.id === 2 && attempt === 1 ? 'failed' : 'succeeded') }))
      .subscribe();
    again.next(job('a', 1));
    again.next(job('a', 2));
    scheduler.flush(); // at 5 the closed pipeline's retry timer of a#1 fires
    expect(illegal).toBeLessThan(2);
  });

  it('completes a new pipeline that re-reads a job an old pipeline dropped', () => {
    const scheduler = new VirtualTimeScheduler();
    const store = newStore({ scheduler });
    const never = new Subject<'succeeded'>();
    const s1 = new Subject<Job>();
    const s2 = new Subject<Job>();
    const p1 = s1.pipe(orderedDelivery(store, { deliver: () => never })).subscribe();
    s2.pipe(orderedDelivery(store, { deliver: () => 'succeeded' })).subscribe();
    s1.next(job('a', 1)); // two entrances: tracked; its delivery hangs
    p1.unsubscribe(); // a#1 is dropped (left) with its pipeline
    const third = orderedPipeline(store);
    s2.complete(); // the second pipeline finishes: the third is now the only one
    third.source.next(job('a', 1)); // the dropped job, re-read from its source
    third.source.complete();
    scheduler.flush();
    expect(third.results).toEqual([1]);
    expect(third.completed).toBe(true);
    expect(store.stats()).toMatchObject({ admitted: 0, total: 0 });
  });

  it('retries a re-read job of a dropped pipeline when it fails, instead of dropping it as an orphan', () => {
    const scheduler = new VirtualTimeScheduler();
    const store = newStore({ scheduler, retryDelay: 5 });
    const never = new Subject<'succeeded'>();
    const s1 = new Subject<Job>();
    const s2 = new Subject<Job>();
    const p1 = s1.pipe(orderedDelivery(store, { deliver: () => never })).subscribe();
    s2.pipe(orderedDelivery(store, { deliver: () => 'succeeded' })).subscribe();
    s1.next(job('a', 1));
    p1.unsubscribe();
    const s3 = new Subject<Job>();
    const results: string[] = [];
    let completed = false;
    s3.pipe(orderedDelivery(store, { deliver: (_value, { attempt }) => (attempt === 1 ? 'failed' : 'succeeded') })).subscribe({
      next: (result) => results.push(`${result.jobId}:${result.state}:${result.attempts}`),
      complete: () => (completed = true),
    });
    s2.complete();
    s3.next(job('a', 1)); // fails once, must be retried
    s3.next(job('a', 2));
    s3.complete();
    scheduler.flush();
    expect(results).toEqual(['1:succeeded:2', '2:succeeded:2']); // every first attempt fails
    expect(completed).toBe(true);
  });
});
