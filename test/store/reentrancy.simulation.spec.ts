/**
 * User code that re-enters the store in the middle of its work: a `deliver`
 * that pushes the next job into the source (and so completes it) or calls
 * `store.sync()`, a result subscriber that syncs, `events$` handlers that
 * sync, pause and resume keys. Seeded runs on a synchronous scheduler
 * (queueScheduler, where syncs and zero-delay retries run inside the calls
 * that schedule them) and in virtual time; each `it` checks one invariant
 * over every run.
 */
import { delay, of, queueScheduler, Subject, VirtualTimeScheduler, type SchedulerLike } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  type BarrierRecordSnapshot,
  type BarrierStoreOptions,
  type BarrierStoreStats,
  type DeliveryResult,
} from '../../src/index.js';
import { orderedDelivery, type DeliveryOutcome } from '../../src/operators/index.js';
import { mulberry32 } from '../support/random.js';
import { newStore, type Job } from '../support/jobs.js';

interface Run {
  label: string;
  jobs: Job[];
  results: DeliveryResult<Job>[];
  overflowed: Job[];
  /** Deliveries made while an earlier job of the key was failed and not yet retried. */
  overtakes: string[];
  completed: boolean;
  error: unknown;
  stats: BarrierStoreStats;
  /** The barrier's records at the end. */
  records: BarrierRecordSnapshot[];
}

const OUTCOMES: readonly DeliveryOutcome[] = ['succeeded', 'succeeded', 'failed', 'failed', 'aborted', 'filtered'];

function simulate(seed: number, kind: 'queue' | 'virtual'): Run {
  const random = mulberry32(seed);
  const pick = <V>(values: readonly V[]): V => values[Math.floor(random() * values.length)]!;
  const virtual = kind === 'virtual' ? new VirtualTimeScheduler() : undefined;
  const scheduler: SchedulerLike = virtual ?? queueScheduler;
  const manual = kind === 'virtual' && random() < 0.5;
  const overflowed: Job[] = [];
  const options: Partial<BarrierStoreOptions<Job>> = {
    scheduler,
    sync: manual ? 'manual' : 'auto',
    concurrencyLimit: pick([0, 1]),
    retryDelay: kind === 'queue' ? 0 : pick([0, 1, 3]),
  };
  if (random() < 0.3) {
    options.maxHeldPerKey = pick([0, 1, 2]);
    options.onOverflow = (job) => overflowed.push(job);
  }
  const store = newStore(options);

  const keys = ['a', 'b', 'c'].slice(0, 1 + Math.floor(random() * 3));
  const jobs: Job[] = [];
  const lastId: Record<string, number> = {};
  for (let i = 0, n = 5 + Math.floor(random() * 20); i < n; i++) {
    const key = pick(keys);
    lastId[key] = (lastId[key] ?? 0) + 1;
    jobs.push({ key, id: lastId[key] });
  }

  const source = new Subject<Job>();
  let emitted = 0;
  const emitNext = (): void => {
    if (emitted < jobs.length) source.next(jobs[emitted++]!);
    else if (emitted++ === jobs.length) source.complete();
  };
  const pushFromDeliver = random() < 0.5;
  const syncFromDeliver = random() < 0.4;
  const syncFromResults = random() < 0.3;
  const handlers = random() < 0.5;
  const asyncDeliver = kind === 'virtual' && random() < 0.5;

  const failedNotRetried = new Map<string, Set<number>>();
  const overtakes: string[] = [];
  const run: Run = { label: `${kind} seed ${seed}`, jobs, results: [], overflowed, overtakes, completed: false, error: undefined, stats: store.stats(), records: [] };

  const watcher = handlers
    ? store.events$.subscribe((event) => {
        const roll = random();
        if (manual && roll < 0.2) store.sync();
        else if ('key' in event && roll < 0.25 && !store.paused(event.key)) {
          store.pause(event.key);
          // queueScheduler runs a delay > 0 on a real timer: after the run is over.
          scheduler.schedule(() => store.resume(event.key), virtual === undefined ? 0 : pick([0, 1, 2]));
        }
      })
    : undefined;

  source
    .pipe(
      orderedDelivery(store, {
        concurrency: pick([1, 2, 64]),
        maxAttempts: pick([2, 3, Infinity]),
        deliver: (job, { attempt }) => {
          const failed = failedNotRetried.get(job.key);
          for (const earlier of failed ?? []) if (earlier < job.id) overtakes.push(`${job.key}#${job.id} before ${job.key}#${earlier}`);
          failed?.delete(job.id);
          if (pushFromDeliver && random() < 0.5) emitNext();
          if (syncFromDeliver && random() < 0.5) store.sync();
          const outcome = attempt > 3 ? 'succeeded' : pick(OUTCOMES);
          if (outcome === 'failed') {
            if (failed === undefined) failedNotRetried.set(job.key, new Set([job.id]));
            else failed.add(job.id);
          }
          return asyncDeliver ? of(outcome).pipe(delay(pick([0, 1]), scheduler)) : outcome;
        },
      }),
    )
    .subscribe({
      next: (result) => {
        run.results.push(result);
        // Aborted at its last attempt: no retry will come.
        failedNotRetried.get(result.key)?.delete(result.jobId);
        if (syncFromResults && random() < 0.3) store.sync();
      },
      error: (error: unknown) => (run.error = error),
      complete: () => (run.completed = true),
    });

  for (let i = 0; i <= jobs.length; i++) emitNext();
  for (let round = 0; round < 50 && !run.completed && run.error === undefined; round++) {
    virtual?.flush();
    if (manual) store.sync();
  }
  watcher?.unsubscribe();
  // Resumes still scheduled, and (manual sync) outcomes reported after the
  // owner's last sync: a manual-sync pipeline completes without waiting for one.
  virtual?.flush();
  if (manual) store.sync();
  run.stats = store.stats();
  run.records = store.barrier.snapshot().records;
  // Frozen here: the checks run later, and nothing may change a run after it.
  return { ...run, results: [...run.results], overflowed: [...overflowed], overtakes: [...overtakes] };
}

const runs: Run[] = [];
for (let seed = 1; seed <= 400; seed++) runs.push(simulate(seed, 'queue'));
for (let seed = 1; seed <= 400; seed++) runs.push(simulate(seed, 'virtual'));

const name = (job: { key: string; id?: number; jobId?: number }): string => `${job.key}#${job.id ?? job.jobId}`;

describe('re-entrant user code (800 seeded runs)', () => {
  it('every run ends without an error and completes', () => {
    const bad = runs.filter((run) => run.error !== undefined || !run.completed).map((run) => `${run.label}: ${String(run.error ?? 'not completed')}`);
    expect(bad).toEqual([]);
  });

  it('every job gets exactly one result or goes to onOverflow: none lost, none duplicated', () => {
    const bad: string[] = [];
    for (const run of runs) {
      const seen = new Map<string, number>();
      for (const result of run.results) seen.set(name(result), (seen.get(name(result)) ?? 0) + 1);
      for (const job of run.overflowed) seen.set(name(job), (seen.get(name(job)) ?? 0) + 1);
      for (const job of run.jobs) if (seen.get(name(job)) !== 1) bad.push(`${run.label}: ${name(job)} ×${seen.get(name(job)) ?? 0}`);
    }
    expect(bad).toEqual([]);
  });

  it('per key, results come out in ascending job-id order', () => {
    const bad: string[] = [];
    for (const run of runs) {
      const last = new Map<string, number>();
      for (const result of run.results) {
        if (result.jobId < (last.get(result.key) ?? 0)) bad.push(`${run.label}: ${name(result)}`);
        last.set(result.key, result.jobId);
      }
    }
    expect(bad).toEqual([]);
  });

  it('no job is delivered while an earlier job of its key waits for its retry', () => {
    expect(runs.flatMap((run) => run.overtakes.map((overtake) => `${run.label}: ${overtake}`))).toEqual([]);
  });

  it('the store is empty afterwards: nothing held, retrying or admitted, no key state, nothing queued', () => {
    const bad = runs
      .filter((run) => run.stats.total !== 0 || run.stats.keys !== 0 || run.stats.queued !== 0 || run.stats.entrances !== 0)
      .map((run) => `${run.label}: ${JSON.stringify(run.stats)}`);
    expect(bad).toEqual([]);
  });

  it('the only records left are the empty draining ones a key keeps after an abort (barrier.md)', () => {
    const drained = { mode: 'enabled', failedJobId: null, concurrent: null, draining: [] };
    const bad = runs.flatMap((run) =>
      run.records.filter((record) => JSON.stringify({ ...record, key: undefined, modeSince: undefined }) !== JSON.stringify({ ...drained })).map((record) => `${run.label}: ${JSON.stringify(record)}`),
    );
    expect(bad).toEqual([]);
  });

  it('the runs exercise what they are for: overflow, failures and pushes from deliver all happen', () => {
    expect(runs.some((run) => run.overflowed.length > 0)).toBe(true);
    expect(runs.some((run) => run.results.some((result) => result.attempts > 1))).toBe(true);
    expect(runs.filter((run) => run.completed).length).toBe(runs.length);
  });
});
