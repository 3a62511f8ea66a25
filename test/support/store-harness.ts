// Drives a store from outside, as the store specs do: a TestScheduler that
// runs to a frame, one barrierEnter subscription (Entry), barrierWait and
// barrierState on one job, and orderedDelivery pipelines fed by a Subject.
import { Subject, of, type Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { expect } from 'vitest';
import type { BarrierStore, BarrierStoreEvent, JobState, JobStatus } from '../../src/index.js';
import { barrierEnter, barrierState, barrierWait, orderedDelivery, type DeliveryContext, type DeliveryOutcome } from '../../src/operators/index.js';
import { label, type Job } from './jobs.js';

/** A TestScheduler that compares with toEqual and runs any number of frames. */
export function newScheduler(): TestScheduler {
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  scheduler.maxFrames = Infinity;
  return scheduler;
}

/** Runs every scheduled action due at or before `frame`, then sets the clock to `frame`. */
export function advanceTo(scheduler: TestScheduler, frame: number): void {
  const { maxFrames } = scheduler;
  scheduler.maxFrames = frame;
  scheduler.flush();
  scheduler.maxFrames = maxFrames;
  scheduler.frame = frame;
}

/**
 * One `barrierEnter` subscription over a Subject, recording what it emits.
 * Outcomes are reported from outside, as an executor in another pipeline
 * would: `wait` runs a job through barrierWait, `report` a status through
 * barrierState.
 */
export class Entry {
  readonly source = new Subject<Job>();
  readonly admitted: string[] = [];
  completed = false;
  error: unknown = undefined;
  readonly subscription: Subscription;

  constructor(readonly store: BarrierStore<Job>) {
    this.subscription = this.source.pipe(barrierEnter(store)).subscribe({
      next: (value) => this.admitted.push(label(value)),
      error: (error: unknown) => (this.error = error),
      complete: () => (this.completed = true),
    });
  }

  push(...values: Job[]): this {
    for (const value of values) this.source.next(value);
    return this;
  }

  end(): this {
    this.source.complete();
    return this;
  }

  close(): void {
    this.subscription.unsubscribe();
  }
}

/** barrierWait on one job: whether it passed. Throws what the operator errored with. */
export function wait(store: BarrierStore<Job>, value: Job): boolean {
  let passed = false;
  let failure: unknown;
  of(value)
    .pipe(barrierWait(store))
    .subscribe({ next: () => (passed = true), error: (error: unknown) => (failure = error) });
  if (failure !== undefined) throw failure;
  return passed;
}

/** barrierState on one status. Throws what the operator errored with. */
export function report(store: BarrierStore<Job>, value: Job, state: JobState, error?: unknown): void {
  let failure: unknown;
  const status: JobStatus<Job> = error === undefined ? { job: value, state } : { job: value, state, error };
  of(status)
    .pipe(barrierState(store))
    .subscribe({ error: (caught: unknown) => (failure = caught) });
  if (failure !== undefined) throw failure;
}

/**
 * Feeds `value` to a new orderedDelivery pipeline on `store` that an events$
 * handler unsubscribes at the first event of `type`; the handler is gone after.
 */
export function deliverUntil(store: BarrierStore<Job>, type: BarrierStoreEvent<Job>['type'], value: Job, outcome: DeliveryOutcome): void {
  const source = new Subject<Job>();
  let subscription: Subscription | undefined;
  const watcher = store.events$.subscribe((event) => {
    if (event.type === type) subscription?.unsubscribe();
  });
  subscription = source.pipe(orderedDelivery(store, { deliver: () => outcome })).subscribe();
  source.next(value);
  watcher.unsubscribe();
}

/** A new orderedDelivery pipeline on `store` fed by a Subject: the ids it delivered, and whether it completed. */
export function orderedPipeline(store: BarrierStore<Job>, deliver: (value: Job, context: DeliveryContext) => DeliveryOutcome = () => 'succeeded') {
  const source = new Subject<Job>();
  const out = { source, results: [] as number[], completed: false };
  source.pipe(orderedDelivery(store, { deliver })).subscribe({
    next: (result) => out.results.push(result.jobId),
    complete: () => (out.completed = true),
  });
  return out;
}
