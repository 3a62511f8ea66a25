// Shared by the marble specs of barrierEnter, barrierWait and barrierState:
// the pipeline of reactive.md built from the three operators, with each
// job's outcomes scripted on the job itself.
import { Observable, Subject, catchError, concatMap, map, of, tap, throwError, timer, type SchedulerLike } from 'rxjs';
import type { BarrierStore, BarrierStoreOptions, JobState, JobStatus } from '../../src/index.js';
import { barrierEnter, barrierState, barrierWait, concatMapByKey } from '../../src/operators/index.js';
import { newStore as newJobStore, type Job as PlainJob } from './jobs.js';

/** A test job (./jobs.ts) that also says what each attempt at it will report. */
export interface Job extends PlainJob {
  /** One letter per attempt: `s` succeeded, `f` failed, `a` aborted, `x` filtered, `w` waiting. */
  readonly outcomes: string;
  /** Frames each attempt takes. */
  readonly latency: number;
}

const STATES: Record<string, JobState> = { s: 'succeeded', f: 'failed', a: 'aborted', x: 'filtered', w: 'waiting' };

/** A job of `key` with id `id`; by default it succeeds at the first attempt, after 2 frames. */
export function job(key: string, id: number, outcomes = 's', latency = 2): Job {
  return { key, id, outcomes, latency };
}

/** A store of scripted jobs on `scheduler`. */
export function newStore(scheduler: SchedulerLike, options: Partial<BarrierStoreOptions<Job>> = {}): BarrierStore<Job> {
  return newJobStore<Job>({ scheduler, ...options });
}

/** `'IllegalJobSequenceError: illegal job sequence at …'`: errors as comparable marble values. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The error a stream ended with, as `name: message`, so it can be a marble value. */
export function withDescribedError<T>(source$: Observable<T>): Observable<T> {
  return source$.pipe(catchError((error: unknown) => throwError(() => describeError(error))));
}

export interface DeliveryPipeline {
  /** What `barrierEnter` emits: each admission, re-admissions included. */
  readonly admitted$: Observable<Job>;
  /** What `barrierWait` lets through: each attempt actually started. */
  readonly sent$: Observable<Job>;
  /** What `barrierState` passes on: every reported status, in order. Subscribing it runs the pipeline. */
  readonly settled$: Observable<JobStatus<Job>>;
}

/**
 * `source → barrierEnter → concatMapByKey(barrierWait → attempt → barrierState)`.
 * Each attempt waits `job.latency` frames, then reports the job's next
 * scripted outcome. `admitted$` and `sent$` mirror the stages as they happen:
 * subscribe them before `settled$`.
 */
export function deliveryPipeline(
  store: BarrierStore<Job>,
  source$: Observable<Job>,
  scheduler: SchedulerLike,
  concurrency = Infinity,
): DeliveryPipeline {
  const admitted = new Subject<Job>();
  const sent = new Subject<Job>();
  const attempts = new Map<Job, number>();
  const attempt = (value: Job): Observable<JobStatus<Job>> => {
    const number = attempts.get(value) ?? 0;
    attempts.set(value, number + 1);
    const letter = value.outcomes[Math.min(number, value.outcomes.length - 1)] ?? 's';
    const state = STATES[letter];
    if (state === undefined) throw new Error(`unknown outcome letter ${letter}`);
    return timer(value.latency, scheduler).pipe(map(() => ({ job: value, state })));
  };
  const settled$ = source$.pipe(
    barrierEnter(store),
    tap({ next: (value) => admitted.next(value), complete: () => admitted.complete(), error: (error: unknown) => admitted.error(error) }),
    concatMapByKey(
      (value) => value.key,
      (value) =>
        of(value).pipe(
          barrierWait(store),
          tap((passed) => sent.next(passed)),
          concatMap(attempt),
          barrierState(store),
        ),
      concurrency,
    ),
    tap({ complete: () => sent.complete(), error: (error: unknown) => sent.error(error) }),
  );
  return { admitted$: admitted.asObservable(), sent$: sent.asObservable(), settled$ };
}

/**
 * What `barrierEnter` emits when the whole delivery pipeline runs: subscribing
 * runs it, unsubscribing tears it down; an error anywhere in it errors this.
 */
export function admissions(
  store: BarrierStore<Job>,
  source$: Observable<Job>,
  scheduler: SchedulerLike,
  concurrency = Infinity,
): Observable<Job> {
  return new Observable<Job>((subscriber) => {
    const pipeline = deliveryPipeline(store, source$, scheduler, concurrency);
    const subscription = pipeline.admitted$.subscribe(subscriber);
    subscription.add(pipeline.settled$.subscribe({ error: (error: unknown) => subscriber.error(error) }));
    return subscription;
  });
}
