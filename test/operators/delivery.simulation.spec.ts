/**
 * The scripted delivery simulation, the way the original router is tested end
 * to end: many users, many jobs each, interleaved; every job has a script of
 * outcomes, and `deliver` plays one step of it per call after a random
 * latency. The runs happen once per describe block; each `it` then checks one
 * invariant over all of them.
 */
import {
  asyncScheduler,
  concatMap,
  EMPTY,
  finalize,
  from,
  map,
  mergeMap,
  of,
  throwError,
  timer,
  VirtualTimeScheduler,
  type Observable,
  type SchedulerAction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BarrierStore, type BarrierStoreStats, type BarrierSnapshot, type DeliveryResult } from '../../src/index.js';
import { orderedDelivery, type DeliveryContext, type DeliveryOutcome } from '../../src/operators/index.js';
import { mulberry32 as prng } from '../support/random.js';

interface Job {
  user: string;
  id: number;
}

/** One step of a job's script: an outcome, or one of the ways an attempt can fail. */
type Step = DeliveryOutcome | 'error' | 'throw' | 'empty';
const TERMINAL: ReadonlySet<Step> = new Set(['succeeded', 'aborted', 'filtered']);
const FAILURES: readonly Step[] = ['failed', 'error', 'throw', 'empty'];

interface SimulationConfig {
  seed: number;
  users: number;
  jobsPerUser: number;
  concurrency: number;
  concurrencyLimit: number;
  keyThreshold: number;
  sync: 'auto' | 'manual';
  /** With `sync: 'manual'`, how often the owner calls `store.sync()`. */
  syncEvery: number;
  maxAttempts: number;
  retryDelay: number | ((attempt: number) => number);
  maxLatency: number;
  maxGap: number;
  /** How many `orderedDelivery` pipelines share the store, each with its own users. */
  pipelines: number;
  /** How long each pipeline after the first waits before subscribing. */
  pipelineDelay: number;
}

type Invariant =
  | 'ascending'
  | 'afterTerminal'
  | 'afterUnfinishedEarlier'
  | 'concurrency'
  | 'attempts'
  | 'oneResult'
  | 'cleanStore'
  | 'completes'
  | 'afterUnsubscribe';

interface SimulationRun {
  config: SimulationConfig;
  violations: Record<Invariant, string[]>;
  /** How often each kind of step was played, to show the scripts exercised it. */
  played: Record<string, number>;
  abortedByMaxAttempts: number;
  deliveries: number;
}


function scriptFor(random: () => number): Step[] {
  const pick = <V>(values: readonly V[]): V => values[Math.floor(random() * values.length)]!;
  const templates: Step[][] = [
    ['succeeded'],
    ['succeeded'],
    ['filtered'],
    ['failed', 'failed', 'succeeded'],
    ['failed', 'aborted'],
    ['error', 'succeeded'],
    ['throw', 'filtered'],
    ['empty', 'failed', 'succeeded'],
  ];
  if (random() < 0.6) return [...pick(templates)];
  // Any number of failures, possibly more than maxAttempts, then an outcome.
  const failures = Math.floor(random() * 7);
  const script = Array.from({ length: failures }, () => pick(FAILURES));
  script.push(pick(['succeeded', 'aborted', 'filtered'] as const));
  return script;
}

/** What a job's result must be, given its script and maxAttempts. */
function expectedOutcome(script: Step[], maxAttempts: number): { state: DeliveryResult<Job>['state']; attempts: number } {
  const terminalAt = script.findIndex((step) => TERMINAL.has(step));
  if (terminalAt < maxAttempts) return { state: script[terminalAt] as DeliveryResult<Job>['state'], attempts: terminalAt + 1 };
  return { state: 'aborted', attempts: maxAttempts };
}

/**
 * Runs one simulation. With `unsubscribeAt`, the subscriber unsubscribes at
 * that time instead of waiting for completion.
 */
function simulate(config: SimulationConfig, scheduler: SchedulerLike, unsubscribeAt?: number): { start: () => Promise<SimulationRun> } {
  const random = prng(config.seed);
  const violations: Record<Invariant, string[]> = {
    ascending: [],
    afterTerminal: [],
    afterUnfinishedEarlier: [],
    concurrency: [],
    attempts: [],
    oneResult: [],
    cleanStore: [],
    completes: [],
    afterUnsubscribe: [],
  };
  const played: Record<string, number> = {};
  const run: SimulationRun = { config, violations, played, abortedByMaxAttempts: 0, deliveries: 0 };
  const name = (job: Job): string => `${job.user}#${job.id}`;

  // Every user's jobs in ascending id order, interleaved at random.
  const queues = Array.from({ length: config.users }, (_, u) =>
    Array.from({ length: config.jobsPerUser }, (_, i): Job => ({ user: `user-${u}`, id: i + 1 })),
  );
  const all = queues.flat();
  const arrivals: { job: Job; gap: number }[] = [];
  const open = queues.map((queue) => [...queue]);
  while (arrivals.length < all.length) {
    const nonEmpty = open.filter((queue) => queue.length > 0);
    const queue = nonEmpty[Math.floor(random() * nonEmpty.length)]!;
    // Mostly bursts in one frame; sometimes a pause.
    arrivals.push({ job: queue.shift()!, gap: random() < 0.7 ? 0 : 1 + Math.floor(random() * config.maxGap) });
  }
  const scripts = new Map(all.map((job) => [job, scriptFor(random)] as const));
  const consumed = new Map<Job, number>();
  const attemptErrors = new Map<Job, unknown[]>();
  const results = new Map<Job, DeliveryResult<Job>[]>();
  const finished = new Map<string, Set<number>>();
  const lastResultId = new Map<string, number>();
  const runningPerUser = new Map<string, number>();
  let inFlight = 0;
  let unsubscribed = false;

  const store = new BarrierStore<Job>({
    key: (job) => job.user,
    jobId: (job) => job.id,
    scheduler,
    sync: config.sync,
    concurrencyLimit: config.concurrencyLimit,
    keyThreshold: config.keyThreshold,
  });

  const deliver = (job: Job, { attempt }: DeliveryContext): Observable<DeliveryOutcome> => {
    run.deliveries++;
    if (unsubscribed) violations.afterUnsubscribe.push(`${name(job)} delivered after unsubscribing`);
    const script = scripts.get(job)!;
    const used = consumed.get(job) ?? 0;
    if (results.has(job)) violations.afterTerminal.push(`${name(job)} delivered (attempt ${attempt}) after its result`);
    if (used >= script.length) violations.afterTerminal.push(`${name(job)} delivered past the end of its script`);
    if (attempt !== used + 1) violations.attempts.push(`${name(job)}: deliver got attempt ${attempt} on call ${used + 1}`);
    const done = finished.get(job.user);
    for (let earlier = 1; earlier < job.id; earlier++) {
      if (done?.has(earlier) !== true) {
        violations.afterUnfinishedEarlier.push(`${name(job)} delivered while job ${earlier} of ${job.user} was unfinished`);
        break;
      }
    }
    const step = script[Math.min(used, script.length - 1)]!;
    consumed.set(job, used + 1);
    played[step] = (played[step] ?? 0) + 1;
    const error = new Error(`${name(job)} attempt ${attempt}: ${step}`);
    const errors = attemptErrors.get(job) ?? [];
    errors.push(step === 'error' || step === 'throw' ? error : undefined);
    attemptErrors.set(job, errors);
    if (step === 'throw') throw error;

    const perUser = (runningPerUser.get(job.user) ?? 0) + 1;
    runningPerUser.set(job.user, perUser);
    inFlight++;
    if (perUser > 1) violations.concurrency.push(`${perUser} deliveries of ${job.user} at once`);
    const limit = config.concurrency * config.pipelines;
    if (inFlight > limit) violations.concurrency.push(`${inFlight} deliveries at once, ${config.pipelines} x concurrency ${config.concurrency}`);
    const outcome: Observable<DeliveryOutcome> =
      step === 'error' ? throwError(() => error) : step === 'empty' ? EMPTY : of(step);
    const latency = Math.floor(random() * (config.maxLatency + 1));
    // A latency of 0 is sometimes synchronous, sometimes the same frame later.
    const delayed = latency === 0 && random() < 0.5 ? outcome : timer(latency, scheduler).pipe(mergeMap(() => outcome));
    return delayed.pipe(
      finalize(() => {
        runningPerUser.set(job.user, runningPerUser.get(job.user)! - 1);
        inFlight--;
      }),
    );
  };

  const onResult = (result: DeliveryResult<Job>): void => {
    const { job } = result;
    const seen = results.get(job) ?? [];
    seen.push(result);
    results.set(job, seen);
    if (seen.length > 1) violations.oneResult.push(`${name(job)} has ${seen.length} results`);
    const last = lastResultId.get(job.user) ?? 0;
    if (result.jobId <= last) violations.ascending.push(`${job.user}: result of job ${result.jobId} after job ${last}`);
    lastResultId.set(job.user, Math.max(last, result.jobId));
    let done = finished.get(job.user);
    if (done === undefined) finished.set(job.user, (done = new Set()));
    done.add(job.id);

    const script = scripts.get(job)!;
    const expected = expectedOutcome(script, config.maxAttempts);
    const used = consumed.get(job) ?? 0;
    if (result.state !== expected.state) violations.oneResult.push(`${name(job)} ended ${result.state}, script says ${expected.state}`);
    if (result.attempts !== expected.attempts || used !== expected.attempts) {
      violations.attempts.push(`${name(job)}: ${result.attempts} attempts reported, ${used} played, ${expected.attempts} expected`);
    }
    if (result.key !== job.user || result.jobId !== job.id) violations.oneResult.push(`${name(job)}: result names ${result.key}#${result.jobId}`);
    const lastStep = script[used - 1]!;
    const failedLast = result.state === 'aborted' && !TERMINAL.has(lastStep);
    if (failedLast) run.abortedByMaxAttempts++;
    if (failedLast && lastStep === 'empty') {
      // orderedDelivery makes this error itself.
      const message = `deliver completed without an outcome for job ${JSON.stringify(job)}`;
      if (!(result.error instanceof Error) || result.error.message !== message) {
        violations.attempts.push(`${name(job)}: error ${String(result.error)}, expected "${message}"`);
      }
    } else {
      const errorExpected = failedLast ? attemptErrors.get(job)?.[used - 1] : undefined;
      if (result.error !== errorExpected || ('error' in result && errorExpected === undefined)) {
        violations.attempts.push(`${name(job)}: error ${String(result.error)}, expected ${String(errorExpected)}`);
      }
    }
  };

  const verifyEnd = (completed: boolean, failure: unknown): SimulationRun => {
    if (failure !== undefined) violations.completes.push(`errored: ${String(failure)}`);
    if (!completed) violations.completes.push('did not complete');
    for (const job of all) if (!results.has(job)) violations.oneResult.push(`${name(job)} has no result`);
    if (config.sync === 'manual') store.sync();
    const stats: BarrierStoreStats = store.stats();
    const leftover = { held: stats.held, retrying: stats.retrying, admitted: stats.admitted, total: stats.total, queued: stats.queued, keys: stats.keys, entrances: stats.entrances };
    if (Object.values(leftover).some((count) => count !== 0)) violations.cleanStore.push(`left over: ${JSON.stringify(leftover)}`);
    // Only the drain-limit record after an abort may stay, with nothing running.
    const snapshot: BarrierSnapshot = store.barrier.snapshot();
    for (const record of snapshot.records) {
      const drainRemnant =
        config.concurrencyLimit > 0 &&
        record.mode === 'enabled' &&
        record.failedJobId === null &&
        (record.concurrent === null || record.concurrent.length === 0) &&
        record.draining !== null &&
        record.draining.length === 0;
      if (!drainRemnant) violations.cleanStore.push(`record left: ${JSON.stringify(record)}`);
    }
    return run;
  };

  /** After unsubscribing mid-way: every admitted job left, nothing held; failed jobs stay recorded. */
  const verifyUnsubscribed = (): SimulationRun => {
    // Commands queued before unsubscribing are the sync owner's to apply.
    if (config.sync === 'manual') store.sync();
    const stats = store.stats();
    const leftover = { held: stats.held, retrying: stats.retrying, admitted: stats.admitted, total: stats.total, keys: stats.keys, entrances: stats.entrances };
    if (Object.values(leftover).some((count) => count !== 0)) violations.cleanStore.push(`left over: ${JSON.stringify(leftover)}`);
    for (const record of store.barrier.snapshot().records) {
      if ((record.concurrent?.length ?? 0) > 0 || (record.draining?.length ?? 0) > 0) {
        violations.cleanStore.push(`running jobs left in the barrier: ${JSON.stringify(record)}`);
      }
    }
    if (inFlight !== 0) violations.cleanStore.push(`${inFlight} deliveries still subscribed`);
    return run;
  };

  const start = (): Promise<SimulationRun> =>
    new Promise((resolve) => {
      let completed = false;
      let failure: unknown;
      let finish = (): void => undefined;
      if (config.sync === 'manual') {
        // One owner syncs now and then, until the pipeline is over.
        const syncAction = scheduler.schedule(function (this: SchedulerAction<undefined>) {
          if (completed || failure !== undefined) return;
          store.sync();
          this.schedule(undefined, config.syncEvery);
        }, config.syncEvery);
        finish = () => syncAction.unsubscribe();
      }
      // Users are split over the pipelines, which share the store; each
      // pipeline after the first subscribes a little later, so the store
      // meets a second entrance mid-run.
      let running = config.pipelines;
      const subscriptions: Subscription[] = [];
      const subscribePipeline = (pipeline: number): void => {
        if (unsubscribed || failure !== undefined) return;
        const mine = arrivals.filter(({ job }) => Number(job.user.slice('user-'.length)) % config.pipelines === pipeline);
        const subscription = from(mine)
          .pipe(
            concatMap(({ job, gap }) => (gap === 0 ? of(job) : timer(gap, scheduler).pipe(map(() => job)))),
            orderedDelivery(store, { deliver, concurrency: config.concurrency, maxAttempts: config.maxAttempts, retryDelay: config.retryDelay }),
          )
          .subscribe({
            next: onResult,
            // The store is checked once the pipelines have torn down, not
            // from inside their last notification.
            error: (error: unknown) => {
              failure = error;
              finish();
              for (const other of subscriptions) other.unsubscribe();
              void Promise.resolve().then(() => resolve(verifyEnd(completed, failure)));
            },
            complete: () => {
              if (--running > 0) return;
              completed = true;
              finish();
              void Promise.resolve().then(() => resolve(verifyEnd(completed, failure)));
            },
          });
        subscriptions.push(subscription);
      };
      subscribePipeline(0);
      for (let pipeline = 1; pipeline < config.pipelines; pipeline++) {
        scheduler.schedule(() => subscribePipeline(pipeline), pipeline * config.pipelineDelay);
      }
      if (unsubscribeAt !== undefined) {
        scheduler.schedule(() => {
          if (completed || failure !== undefined) return;
          unsubscribed = true;
          for (const subscription of subscriptions) subscription.unsubscribe();
          finish();
        }, unsubscribeAt);
      }
      // In virtual time, whatever did not finish is checked once the clock stops.
      if (scheduler instanceof VirtualTimeScheduler) {
        scheduler.flush();
        if (unsubscribed) resolve(verifyUnsubscribed());
        else if (!completed && failure === undefined) {
          finish();
          resolve(verifyEnd(completed, failure));
        }
      }
    });
  return { start };
}

function randomConfig(seed: number): SimulationConfig {
  const random = prng(seed * 7919);
  const pick = <V>(values: readonly V[]): V => values[Math.floor(random() * values.length)]!;
  const retryDelays: SimulationConfig['retryDelay'][] = [0, 1, 3, 10, (attempt) => attempt, (attempt) => 2 ** attempt];
  return {
    seed,
    users: 2 + Math.floor(random() * 10),
    jobsPerUser: 1 + Math.floor(random() * 15),
    concurrency: pick([1, 2, 3, 5, 8, Infinity]),
    concurrencyLimit: seed % 3,
    // A threshold no user reaches: the barrier records every job, ordering stays on.
    keyThreshold: pick([0, 0, 1_000]),
    sync: seed % 2 === 0 ? 'auto' : 'manual',
    syncEvery: 1 + Math.floor(random() * 7),
    maxAttempts: pick([1, 2, 3, 4, 5, Infinity]),
    retryDelay: pick(retryDelays),
    maxLatency: pick([0, 2, 5]),
    maxGap: pick([1, 3, 8]),
    pipelines: pick([1, 1, 2, 3]),
    pipelineDelay: Math.floor(random() * 10),
  };
}

const SEEDS = 300;

function checkInvariants(label: string, runs: () => SimulationRun[]): void {
  const failing = (invariant: Invariant): string[] =>
    runs()
      .filter((run) => run.violations[invariant].length > 0)
      .map((run) => `seed ${run.config.seed} ${JSON.stringify(run.config)}: ${run.violations[invariant].slice(0, 3).join('; ')}`)
      .slice(0, 5);

  it(`${label}: the stream completes without error`, () => {
    expect(failing('completes')).toEqual([]);
  });
  it(`${label}: per user, results come out in strictly ascending job id`, () => {
    expect(failing('ascending')).toEqual([]);
  });
  it(`${label}: no job is delivered after its terminal outcome`, () => {
    expect(failing('afterTerminal')).toEqual([]);
  });
  it(`${label}: no job is delivered while an earlier job of its user is unfinished`, () => {
    expect(failing('afterUnfinishedEarlier')).toEqual([]);
  });
  it(`${label}: never two deliveries of a user at once, never more than concurrency in all`, () => {
    expect(failing('concurrency')).toEqual([]);
  });
  it(`${label}: attempts equal the script up to its terminal outcome, or maxAttempts, and the last error is kept`, () => {
    expect(failing('attempts')).toEqual([]);
  });
  it(`${label}: every job gets exactly one result, in the state its script ends in`, () => {
    expect(failing('oneResult')).toEqual([]);
  });
  it(`${label}: afterwards nothing is held, retrying or admitted, and only drain-limit records remain`, () => {
    expect(failing('cleanStore')).toEqual([]);
  });
  it(`${label}: the scripts played every kind of step, and some jobs ran out of attempts`, () => {
    const played: Record<string, number> = {};
    for (const run of runs()) for (const [step, count] of Object.entries(run.played)) played[step] = (played[step] ?? 0) + count;
    for (const step of ['succeeded', 'failed', 'aborted', 'filtered', 'error', 'throw', 'empty']) expect(played[step] ?? 0).toBeGreaterThan(0);
    expect(runs().reduce((sum, run) => sum + run.abortedByMaxAttempts, 0)).toBeGreaterThan(0);
  });
}

describe(`scripted delivery simulation in virtual time (${SEEDS} seeds)`, () => {
  const runs: SimulationRun[] = [];
  beforeAll(async () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      runs.push(await simulate(randomConfig(seed), new VirtualTimeScheduler()).start());
    }
  });

  it('covers concurrencyLimit 0, 1 and 2, both sync modes, bounded and unbounded concurrency, and stores shared by several pipelines', () => {
    expect(new Set(runs.map((run) => run.config.concurrencyLimit))).toEqual(new Set([0, 1, 2]));
    expect(new Set(runs.map((run) => run.config.sync))).toEqual(new Set(['auto', 'manual']));
    expect(runs.some((run) => run.config.concurrency === 1)).toBe(true);
    expect(runs.some((run) => run.config.concurrency === Infinity)).toBe(true);
    expect(runs.some((run) => run.config.pipelines > 1)).toBe(true);
  });
  checkInvariants('virtual time', () => runs);
});

describe('scripted delivery simulation in real time (20 users x 20 jobs, latencies 0-3 ms)', () => {
  const runs: SimulationRun[] = [];
  beforeAll(async () => {
    const config: SimulationConfig = {
      seed: 20_260_101,
      users: 20,
      jobsPerUser: 20,
      concurrency: 16,
      concurrencyLimit: 1,
      keyThreshold: 0,
      sync: 'auto',
      syncEvery: 1,
      maxAttempts: 4,
      retryDelay: (attempt) => attempt,
      maxLatency: 3,
      maxGap: 1,
      pipelines: 1,
      pipelineDelay: 0,
    };
    runs.push(await simulate(config, asyncScheduler).start());
  }, 5_000);

  checkInvariants('real time', () => runs);
});

describe(`unsubscribing from the simulation at a random moment (virtual time, ${SEEDS} seeds)`, () => {
  const runs: SimulationRun[] = [];
  let unsubscribedRuns = 0;
  beforeAll(async () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const config = randomConfig(seed + 10_000);
      const run = await simulate(config, new VirtualTimeScheduler(), 1 + ((seed * 37) % 40)).start();
      if (run.violations.completes.length > 0 || run.deliveries > 0) runs.push(run);
      if (run.violations.afterUnsubscribe.length === 0 && !run.violations.completes.includes('did not complete')) unsubscribedRuns++;
    }
  });

  const failing = (invariant: Invariant): string[] =>
    runs
      .filter((run) => run.violations[invariant].length > 0)
      .map((run) => `seed ${run.config.seed}: ${run.violations[invariant].slice(0, 3).join('; ')}`)
      .slice(0, 5);

  it('nothing is delivered after unsubscribing', () => {
    expect(failing('afterUnsubscribe')).toEqual([]);
  });
  it('afterwards nothing is held, retrying or admitted, and the barrier has no running jobs left', () => {
    expect(failing('cleanStore')).toEqual([]);
  });
  it('before unsubscribing, per user, results came out in strictly ascending job id, one per job', () => {
    expect([...failing('ascending'), ...failing('oneResult').filter((line) => !line.includes('has no result'))]).toEqual([]);
  });
  it('the runs were cut off mid-way', () => {
    expect(unsubscribedRuns).toBeGreaterThan(SEEDS / 2);
  });
});
