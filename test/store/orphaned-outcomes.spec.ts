import { delay, map, of, Subject, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { BarrierStore, type JobState, type JobStatus } from '../../src/index.js';
import { barrierEnter, barrierState, barrierWait, concatMapByKey } from '../../src/operators/index.js';

interface Job {
  key: string;
  id: number;
}

const job = (key: string, id: number): Job => ({ key, id });

describe('the outcome of a job whose entrance closed belongs to no other entrance', () => {
  it('a re-subscribed entrance is not credited with an orphan in transit to an executor in another pipeline', () => {
    const scheduler = new VirtualTimeScheduler();
    const store = new BarrierStore<Job>({ key: (value) => value.key, jobId: (value) => value.id, scheduler });
    const admitted = new Subject<Job>();
    const settled: string[] = [];
    let executorError: unknown;
    // The executor lives in its own pipeline, 5 ms downstream of the entrances.
    admitted
      .pipe(
        delay(5, scheduler),
        concatMapByKey(
          (value) => value.key,
          (value) =>
            of(value).pipe(
              barrierWait(store),
              delay(1, scheduler),
              map((sent): JobStatus<Job> => ({ job: sent, state: 'succeeded' as JobState })),
              barrierState(store),
            ),
        ),
      )
      .subscribe({ next: (status) => settled.push(`${status.job.key}#${status.job.id}`), error: (e: unknown) => (executorError = e) });

    const first = new Subject<Job>();
    const entranceA = first.pipe(barrierEnter(store)).subscribe((value) => admitted.next(value));
    first.next(job('a', 1));
    entranceA.unsubscribe(); // a#1 is in transit: an orphan now

    const second = new Subject<Job>();
    let completedB = false;
    second.pipe(barrierEnter(store)).subscribe({ next: (value) => admitted.next(value), complete: () => (completedB = true) });
    second.next(job('b', 1));
    second.complete();
    scheduler.flush();

    expect(executorError).toBeUndefined();
    expect(settled).toEqual(['a#1', 'b#1']);
    expect(completedB).toBe(true);
    expect(store.stats()).toMatchObject({ total: 0, admitted: 0 });
  });

  it('entrance B completes only once its own job is done, not at the orphan\'s outcome', () => {
    const scheduler = new VirtualTimeScheduler();
    const store = new BarrierStore<Job>({ key: (value) => value.key, jobId: (value) => value.id, scheduler });
    const admitted = new Subject<Job>();
    admitted
      .pipe(
        delay(5, scheduler),
        concatMapByKey(
          (value) => value.key,
          (value) =>
            of(value).pipe(
              barrierWait(store),
              delay(value.key === 'b' ? 10 : 1, scheduler),
              map((sent): JobStatus<Job> => ({ job: sent, state: 'succeeded' as JobState })),
              barrierState(store),
            ),
        ),
      )
      .subscribe();
    const first = new Subject<Job>();
    const entranceA = first.pipe(barrierEnter(store)).subscribe((value) => admitted.next(value));
    first.next(job('a', 1));
    entranceA.unsubscribe();
    const second = new Subject<Job>();
    let completedAt: number | undefined;
    second.pipe(barrierEnter(store)).subscribe({ next: (value) => admitted.next(value), complete: () => (completedAt = scheduler.now()) });
    second.next(job('b', 1));
    second.complete();
    scheduler.flush();
    expect(completedAt).toBe(15); // b#1 reaches the executor at 5 and takes 10 ms
  });
});
