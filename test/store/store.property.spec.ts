import fc from 'fast-check';
import { Observable, concatMap, interval, map, merge, of, takeUntil, tap, timer, Subject, type SchedulerLike } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { BarrierStore, type BarrierStoreStats, type JobState, type JobStatus } from '../../src/index.js';
import { barrierEnter, barrierState, barrierWait, concatMapByKey } from '../../src/operators/index.js';

// Random pipelines
//   source → barrierEnter → concatMapByKey(barrierWait → outcome after a latency → barrierState)
// over random job sets, in virtual time. Each property runs the same kind of
// simulation and checks one invariant of reactive.md's guarantees.

type Terminal = 'succeeded' | 'aborted' | 'filtered';

/** One attempt: what it reports and after how many frames (-1: synchronously). */
interface Attempt {
  state: 'failed' | Terminal;
  latency: number;
}

interface PlannedJob {
  key: string;
  id: number;
  /** Frame the source emits it. */
  at: number;
  /** Every attempt but the last fails. */
  attempts: Attempt[];
  /** Which source emits it: 'A' or 'B'. */
  source: 'A' | 'B';
}

interface Scenario {
  jobs: PlannedJob[];
  retryDelay: number | 'linear';
  concurrencyLimit: number;
  /** 0: sync 'auto'; n > 0: sync 'manual', store.sync() every n frames. */
  manualSyncEvery: number;
  concurrency: number;
}

interface Run {
  completed: boolean;
  error: unknown;
  /** Per key, terminal outcomes in the order they were reported. */
  terminalsByKey: Map<string, { id: number; state: JobState }[]>;
  terminalCounts: Map<PlannedJob, number>;
  terminalStates: Map<PlannedJob, JobState>;
  /** Jobs that passed barrierWait while an earlier job of their key was not terminal. */
  deliveredEarly: string[];
  /** Jobs emitted by an entrance other than the one of their source. */
  wrongEntrance: string[];
  statsAtCompletion: BarrierStoreStats | undefined;
  /** Scheduled actions left when the pipeline completed (sync 'auto' only). */
  actionsAtCompletion: number;
  /** At completion with sync 'auto'; with sync 'manual', after the owner's next store.sync(). */
  barrierSize: number;
  barrierPending: number;
}

const describeJob = (job: PlannedJob): string => `${job.key}#${job.id}`;

// --- arbitraries -----------------------------------------------------------

const latencyArb = fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 5 }));

const attemptsArb: fc.Arbitrary<Attempt[]> = fc
  .tuple(
    fc.constantFrom(0, 0, 0, 1, 1, 2, 3),
    fc.constantFrom<Terminal>('succeeded', 'succeeded', 'succeeded', 'aborted', 'filtered'),
    fc.array(latencyArb, { minLength: 4, maxLength: 4 }),
  )
  .map(([failures, last, latencies]) =>
    [...Array<'failed'>(failures).fill('failed'), last].map((state, i) => ({ state, latency: latencies[i] ?? 0 })),
  );

/** One key's jobs: ascending ids, non-decreasing arrival frames. */
function keyJobsArb(key: string): fc.Arbitrary<PlannedJob[]> {
  return fc
    .tuple(
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 6 }),
      fc.array(fc.record({ idGap: fc.integer({ min: 1, max: 3 }), wait: fc.integer({ min: 0, max: 4 }), attempts: attemptsArb }), {
        minLength: 1,
        maxLength: 5,
      }),
    )
    .map(([firstId, start, planned]) => {
      let id = firstId - 1;
      let at = start;
      return planned.map(({ idGap, wait, attempts }) => {
        id += idGap;
        at += wait;
        return { key, id, at, attempts, source: 'A' as const };
      });
    });
}

const keysArb: fc.Arbitrary<PlannedJob[][]> = fc
  .integer({ min: 2, max: 6 })
  .chain((count) => fc.tuple(...Array.from({ length: count }, (_, i) => keyJobsArb(`k${i}`))));

const settingsArb = fc.record({
  retryDelay: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.constant('linear' as const)),
  concurrencyLimit: fc.integer({ min: 0, max: 2 }),
  manualSyncEvery: fc.constantFrom(0, 0, 1, 3, 5),
  concurrency: fc.constantFrom(1, 2, 4, Infinity),
});

/** Arrival order over all keys: by frame, then key, then id (so each key's ids ascend). */
function byArrival(a: PlannedJob, b: PlannedJob): number {
  return a.at - b.at || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) || a.id - b.id;
}

/** One source emits every job. */
const oneSourceArb: fc.Arbitrary<Scenario> = fc
  .tuple(keysArb, settingsArb)
  .map(([keys, settings]) => ({ jobs: keys.flat().sort(byArrival), ...settings }));

/**
 * Two sources: each key goes to A, to B, or is split (a prefix of its ids
 * to A, the rest to B). Arrival frames are made strictly increasing so the
 * two sources never emit in the same frame: each key's ids still become
 * visible in ascending order across both.
 */
const twoSourcesArb: fc.Arbitrary<Scenario> = fc
  .tuple(keysArb, settingsArb)
  .chain(([keys, settings]) =>
    fc
      .array(fc.tuple(fc.constantFrom('A', 'B', 'split'), fc.nat()), { minLength: keys.length, maxLength: keys.length })
      .map((owners) => {
        const jobs = keys.flatMap((keyJobs, k) => {
          const [owner, cut] = owners[k] ?? ['A', 0];
          const prefix = owner === 'A' ? keyJobs.length : owner === 'B' ? 0 : 1 + (cut % keyJobs.length);
          return keyJobs.map((job, i) => ({ ...job, source: i < prefix ? ('A' as const) : ('B' as const) }));
        });
        jobs.sort(byArrival);
        let last = -1;
        for (const job of jobs) last = job.at = Math.max(job.at, last + 1);
        return { jobs, ...settings };
      }),
  );

// --- simulation ------------------------------------------------------------

function timeline(scheduler: SchedulerLike, jobs: PlannedJob[]): Observable<PlannedJob> {
  return new Observable<PlannedJob>((subscriber) => {
    const end = jobs.reduce((latest, job) => Math.max(latest, job.at), 0) + 1;
    for (const job of jobs) subscriber.add(scheduler.schedule(() => subscriber.next(job), job.at));
    subscriber.add(scheduler.schedule(() => subscriber.complete(), end));
  });
}

function simulate(scenario: Scenario, sources: 1 | 2): Run {
  const scheduler = new TestScheduler(() => undefined);
  scheduler.maxFrames = 100_000;
  const store = new BarrierStore<PlannedJob>({
    key: (job) => job.key,
    jobId: (job) => job.id,
    scheduler,
    retryDelay: scenario.retryDelay === 'linear' ? (attempt) => 2 * attempt : scenario.retryDelay,
    concurrencyLimit: scenario.concurrencyLimit,
    sync: scenario.manualSyncEvery > 0 ? 'manual' : 'auto',
  });
  const run: Run = {
    completed: false,
    error: undefined,
    terminalsByKey: new Map(),
    terminalCounts: new Map(),
    terminalStates: new Map(),
    deliveredEarly: [],
    wrongEntrance: [],
    statsAtCompletion: undefined,
    actionsAtCompletion: -1,
    barrierSize: -1,
    barrierPending: -1,
  };
  const attemptsMade = new Map<PlannedJob, number>();
  const isTerminal = (job: PlannedJob): boolean => (run.terminalCounts.get(job) ?? 0) > 0;

  const attempt = (job: PlannedJob): Observable<JobStatus<PlannedJob>> => {
    const made = attemptsMade.get(job) ?? 0;
    attemptsMade.set(job, made + 1);
    const planned = job.attempts[Math.min(made, job.attempts.length - 1)] ?? { state: 'succeeded', latency: 0 };
    const status: JobStatus<PlannedJob> = { job, state: planned.state };
    return planned.latency < 0 ? of(status) : timer(planned.latency, scheduler).pipe(map(() => status));
  };
  const worker = (job: PlannedJob): Observable<JobStatus<PlannedJob>> =>
    of(job).pipe(
      barrierWait(store),
      tap((sent) => {
        const early = scenario.jobs.filter((other) => other.key === sent.key && other.id < sent.id && !isTerminal(other));
        if (early.length > 0) run.deliveredEarly.push(`${describeJob(sent)} before ${early.map(describeJob).join(', ')}`);
      }),
      concatMap(attempt),
      barrierState(store),
      tap((status) => {
        if (status.state === 'failed') return;
        run.terminalCounts.set(status.job, (run.terminalCounts.get(status.job) ?? 0) + 1);
        run.terminalStates.set(status.job, status.state);
        const terminals = run.terminalsByKey.get(status.job.key) ?? [];
        terminals.push({ id: status.job.id, state: status.state });
        run.terminalsByKey.set(status.job.key, terminals);
      }),
    );
  const entrance = (name: 'A' | 'B'): Observable<PlannedJob> =>
    timeline(
      scheduler,
      scenario.jobs.filter((job) => job.source === name),
    ).pipe(
      barrierEnter(store),
      tap((job) => {
        if (job.source !== name) run.wrongEntrance.push(`${describeJob(job)} out of ${name}`);
      }),
    );

  const done = new Subject<void>();
  if (scenario.manualSyncEvery > 0) {
    interval(scenario.manualSyncEvery, scheduler)
      .pipe(takeUntil(done))
      .subscribe(() => store.sync());
  }
  const admitted$ = sources === 1 ? entrance('A') : merge(entrance('A'), entrance('B'));
  admitted$.pipe(concatMapByKey((job) => job.key, worker, scenario.concurrency)).subscribe({
    error: (error: unknown) => {
      run.error = error;
      done.next();
    },
    complete: () => {
      run.completed = true;
      run.statsAtCompletion = store.stats();
      run.actionsAtCompletion = scheduler.actions.length;
      run.barrierSize = store.barrier.size;
      run.barrierPending = store.barrier.pending;
      done.next();
    },
  });
  scheduler.flush();
  if (scenario.manualSyncEvery > 0) {
    // Completion does not wait for a manual sync: look after the owner's next one.
    store.sync();
    run.barrierSize = store.barrier.size;
    run.barrierPending = store.barrier.pending;
  }
  return run;
}

// --- properties --------------------------------------------------------------

const NUM_RUNS = 200;

/** Asserts `invariant` over random scenarios; a failure reports the scenario and the run. */
function holds(arbitrary: fc.Arbitrary<Scenario>, sources: 1 | 2, invariant: (scenario: Scenario, run: Run) => void): void {
  fc.assert(
    fc.property(arbitrary, (scenario) => {
      invariant(scenario, simulate(scenario, sources));
    }),
    { numRuns: NUM_RUNS },
  );
}

function completesWithoutError(_scenario: Scenario, run: Run): void {
  expect(run.error).toBeUndefined();
  expect(run.completed).toBe(true);
}

function terminalsAscendPerKey(_scenario: Scenario, run: Run): void {
  for (const [key, terminals] of run.terminalsByKey) {
    const ids = terminals.map((terminal) => terminal.id);
    expect(ids, `key ${key}`).toEqual([...ids].sort((x, y) => x - y));
  }
}

function earlierJobsTerminalAtDelivery(_scenario: Scenario, run: Run): void {
  expect(run.deliveredEarly).toEqual([]);
}

function exactlyOneTerminalEach(scenario: Scenario, run: Run): void {
  for (const job of scenario.jobs) {
    expect(run.terminalCounts.get(job) ?? 0, describeJob(job)).toBe(1);
    expect(run.terminalStates.get(job), describeJob(job)).toBe(job.attempts[job.attempts.length - 1]?.state);
  }
}

function storeEmptyAtCompletion(_scenario: Scenario, run: Run): void {
  expect(run.statsAtCompletion).toMatchObject({ held: 0, retrying: 0, admitted: 0, total: 0, keys: 0, paused: 0 });
}

function barrierCleanWithoutDrainLimit(scenario: Scenario, run: Run): void {
  if (scenario.concurrencyLimit !== 0) return;
  expect(run.barrierSize).toBe(0);
  expect(run.barrierPending).toBe(0);
  if (scenario.manualSyncEvery === 0) expect(run.actionsAtCompletion).toBe(0);
}

describe('store properties: one source, one entrance', () => {
  it('the pipeline completes without error', () => holds(oneSourceArb, 1, completesWithoutError));
  it('per key, terminal outcomes come out in ascending job-id order', () => holds(oneSourceArb, 1, terminalsAscendPerKey));
  it('when a job is about to be delivered, every earlier job of its key is terminal', () =>
    holds(oneSourceArb, 1, earlierJobsTerminalAtDelivery));
  it('every job reaches exactly one terminal outcome, the last of its script', () => holds(oneSourceArb, 1, exactlyOneTerminalEach));
  it('at completion the store holds nothing: no held, retrying or admitted job, no per-key bookkeeping', () =>
    holds(oneSourceArb, 1, storeEmptyAtCompletion));
  it('with concurrencyLimit 0, at completion the barrier has no record, no queued command, and nothing is scheduled', () =>
    holds(oneSourceArb, 1, barrierCleanWithoutDrainLimit));
});

describe('store properties: two sources, two entrances sharing one store', () => {
  it('the pipeline completes without error', () => holds(twoSourcesArb, 2, completesWithoutError));
  it('each job comes out of the entrance of its own source only', () =>
    holds(twoSourcesArb, 2, (_scenario, run) => expect(run.wrongEntrance).toEqual([])));
  it('per key, terminal outcomes come out in ascending job-id order', () => holds(twoSourcesArb, 2, terminalsAscendPerKey));
  it('when a job is about to be delivered, every earlier job of its key is terminal', () =>
    holds(twoSourcesArb, 2, earlierJobsTerminalAtDelivery));
  it('every job reaches exactly one terminal outcome, the last of its script', () => holds(twoSourcesArb, 2, exactlyOneTerminalEach));
  it('at completion the store holds nothing: no held, retrying or admitted job, no per-key bookkeeping', () =>
    holds(twoSourcesArb, 2, storeEmptyAtCompletion));
  it('with concurrencyLimit 0, at completion the barrier has no record, no queued command, and nothing is scheduled', () =>
    holds(twoSourcesArb, 2, barrierCleanWithoutDrainLimit));
});
