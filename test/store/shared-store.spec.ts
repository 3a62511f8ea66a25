// BarrierStore shared by several pipelines: entrances in one, executors in another.
import { Observable, Subject, merge, mergeMap, of, type Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { BarrierStore, type JobState, type JobStatus } from '../../src/index.js';
import { barrierEnter, barrierState, barrierWait, concatMapByKey } from '../../src/operators/index.js';
import { job, label, newStore, type Job } from '../support/jobs.js';
import { newScheduler, advanceTo, Entry, report } from '../support/store-harness.js';

describe('BarrierStore shared by several pipelines', () => {
  /** A per-key sequential executor over `jobs$`: each attempt takes `latency` frames and reports `outcome(job, attempt)`. */
  function executor(
    store: BarrierStore<Job>,
    jobs$: Observable<Job>,
    scheduler: TestScheduler,
    outcome: (value: Job, attempt: number) => JobState,
    latency = 2,
  ): { sent: string[]; settled: string[]; subscription: Subscription } {
    const sent: string[] = [];
    const settled: string[] = [];
    const attempts = new Map<string, number>();
    const subscription = jobs$
      .pipe(
        concatMapByKey(
          (value) => value.key,
          (value) =>
            of(value).pipe(
              barrierWait(store),
              mergeMap(
                () =>
                  new Observable<JobStatus<Job>>((subscriber) => {
                    sent.push(label(value));
                    const attempt = (attempts.get(label(value)) ?? 0) + 1;
                    attempts.set(label(value), attempt);
                    return scheduler.schedule(() => {
                      subscriber.next({ job: value, state: outcome(value, attempt) });
                      subscriber.complete();
                    }, latency);
                  }),
              ),
              barrierState(store),
            ),
        ),
      )
      .subscribe((status) => settled.push(`${label(status.job)} ${status.state}`));
    return { sent, settled, subscription };
  }

  it('runs the entrance in one pipeline and the executor in another', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 5 });
    const handOff = new Subject<Job>();
    // Pipeline one: the entrance hands what it admits to pipeline two.
    const source = new Subject<Job>();
    let completed = false;
    source.pipe(barrierEnter(store)).subscribe({ next: (value) => handOff.next(value), complete: () => (completed = true) });
    // Pipeline two: the executor.
    const run = executor(store, handOff, scheduler, (value, attempt) => (label(value) === 'k#1' && attempt === 1 ? 'failed' : 'succeeded'));
    source.next(job('k', 1));
    source.next(job('k', 2));
    source.next(job('j', 1));
    source.complete();
    advanceTo(scheduler, 100);
    expect(run.sent).toEqual(['k#1', 'j#1', 'k#1', 'k#2']);
    expect(run.settled).toEqual(['k#1 failed', 'j#1 succeeded', 'k#1 succeeded', 'k#2 succeeded']);
    expect(completed).toBe(true);
    expect(store.stats()).toMatchObject({ total: 0, keys: 0, records: 0, entrances: 0 });
  });

  it('gives each job back to the entrance that admitted it, and keeps one key in id order across two entrances', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 5 });
    const sourceA = new Subject<Job>();
    const sourceB = new Subject<Job>();
    const fromA: string[] = [];
    const fromB: string[] = [];
    const done: string[] = [];
    const entranceA = sourceA.pipe(barrierEnter(store));
    const entranceB = sourceB.pipe(barrierEnter(store));
    const both = merge(
      new Observable<Job>((subscriber) =>
        entranceA.subscribe({ next: (value) => (fromA.push(label(value)), subscriber.next(value)), complete: () => (done.push('A'), subscriber.complete()) }),
      ),
      new Observable<Job>((subscriber) =>
        entranceB.subscribe({ next: (value) => (fromB.push(label(value)), subscriber.next(value)), complete: () => (done.push('B'), subscriber.complete()) }),
      ),
    );
    const run = executor(store, both, scheduler, (value, attempt) => (value.id === 1 && attempt <= 2 ? 'failed' : 'succeeded'));
    sourceA.next(job('k', 1));
    sourceB.next(job('j', 1));
    advanceTo(scheduler, 3);
    sourceB.next(job('k', 2)); // k#1 failed at 2: held until it succeeds
    sourceA.complete();
    sourceB.complete();
    advanceTo(scheduler, 100);
    expect(fromA).toEqual(['k#1', 'k#1', 'k#1']);
    expect(fromB).toEqual(['j#1', 'j#1', 'j#1', 'k#2']);
    expect(run.settled.filter((line) => line.startsWith('k'))).toEqual(['k#1 failed', 'k#1 failed', 'k#1 succeeded', 'k#2 succeeded']);
    expect(done.sort()).toEqual(['A', 'B']);
    expect(store.stats()).toMatchObject({ total: 0, keys: 0, records: 0, entrances: 0 });
    run.subscription.unsubscribe();
  });

  it('accepts the outcome of a job whose entrance closed while an executor elsewhere was running it', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler });
    const first = new Entry(store);
    const second = new Entry(store); // two entrances: every job is tracked
    first.push(job('k', 1));
    first.close();
    expect(() => report(store, job('k', 1), 'succeeded')).not.toThrow();
    second.push(job('k', 2));
    report(store, job('k', 2), 'succeeded');
    second.end();
    expect(second.completed).toBe(true);
    expect(store.stats()).toMatchObject({ total: 0, keys: 0 });
  });
});
