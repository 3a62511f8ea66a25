import { describe, expect, it } from 'vitest';
import { Barrier, type BarrierSnapshot } from '../../src/index.js';
import { mulberry32 } from '../support/random.js';

// A deterministic re-creation of how the event router drives its barrier:
// jobs appear over time in id order; a pickup loop syncs the barrier and
// offers every pending job to `enter` in id order; a sequential worker per
// key asks `wait` before each attempt and reports failures at once; a commit
// loop persists terminal outcomes and only then reports them. Every random
// choice comes from a seeded PRNG, so a failing seed can be replayed.


type Terminal = 'succeeded' | 'aborted' | 'filtered';

interface Job {
  key: string;
  id: number;
  status: 'pending' | 'queued' | 'committing' | 'done';
  failures: number;
  outcome?: Terminal;
}

interface SimulationSettings {
  seed: number;
  keyCount: number;
  concurrencyLimit: number;
  /** A broken worker that sends without asking `wait`: the checks must catch it. */
  ignoreWait?: boolean;
}

interface SimulationReport {
  rounds: number;
  jobs: number;
  attempts: number;
  failures: number;
}

/** A job fails at most this many times; after that it must succeed, be filtered or be aborted. */
const MAX_FAILURES = 3;
const FAILURE_PROBABILITY = 0.3;
const WORKER_STEP_PROBABILITY = 0.7;

class SimulationError extends Error {
  constructor(settings: SimulationSettings, message: string) {
    super(`${message} (seed ${settings.seed}, ${settings.keyCount} keys, concurrencyLimit ${settings.concurrencyLimit})`);
  }
}

function simulate(settings: SimulationSettings): SimulationReport {
  const { seed, keyCount, concurrencyLimit } = settings;
  const fail = (message: string): never => {
    throw new SimulationError(settings, message);
  };
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  let round = 0;
  // Illegal sequences throw (the default): a correct router never makes one.
  const barrier = new Barrier({ concurrencyLimit, metadata: { seed }, now: () => round });

  const keys = Array.from({ length: keyCount }, (_, i) => `user-${i}`);
  const totalJobs = keyCount * (1 + Math.floor(random() * 8));
  const maxRounds = 60 + totalJobs * (MAX_FAILURES + 2) * 4;
  const jobs: Job[] = [];
  const workerQueues = new Map<string, Job[]>(keys.map((key) => [key, []]));
  const commitBuffer: Job[] = [];
  const attempted = new Map<string, number[]>(keys.map((key) => [key, []]));
  const committed = new Map<string, Job[]>(keys.map((key) => [key, []]));
  // Per key, the jobs admitted since its failed job was aborted and still
  // running: the drain limit caps their number until some job of the key ends.
  const drainAdmitted = new Map<string, Set<number> | null>(keys.map((key) => [key, null]));
  let attempts = 0;
  let failures = 0;

  const inFlight = (key: string) =>
    workerQueues.get(key)!.length > 0 || commitBuffer.some((job) => job.key === key);

  while (jobs.length < totalJobs || jobs.some((job) => job.status !== 'done')) {
    if (++round > maxRounds) {
      const stuck = jobs.filter((job) => job.status !== 'done').map((job) => `${job.key}#${job.id}:${job.status}`);
      fail(`not finished after ${maxRounds} rounds; stuck: ${stuck.join(', ')}; barrier: ${barrier}`);
    }

    // New jobs become visible, with increasing ids.
    const arriving = Math.min(totalJobs - jobs.length, Math.floor(random() * 4));
    for (let i = 0; i < arriving; i++) {
      jobs.push({ key: pick(keys), id: jobs.length + 1, status: 'pending', failures: 0 });
    }

    // Pickup: sync first, then offer every pending job in id order.
    barrier.sync();
    const idleWithPending = new Map<string, Job>();
    for (const job of jobs) {
      if (job.status === 'pending' && !idleWithPending.has(job.key) && !inFlight(job.key)) idleWithPending.set(job.key, job);
    }
    for (const job of jobs) {
      if (job.status !== 'pending') continue;
      if (barrier.enter(job.key, job.id).accepted) {
        job.status = 'queued';
        workerQueues.get(job.key)!.push(job);
        const draining = drainAdmitted.get(job.key)!;
        draining?.add(job.id);
        if (draining && draining.size > concurrencyLimit) {
          fail(`key ${job.key} runs ${[...draining].join(', ')} while draining, above the limit`);
        }
      }
    }
    // Liveness: a key with pending jobs and nothing in flight gets its lowest one in.
    for (const [key, lowest] of idleWithPending) {
      if (lowest.status !== 'queued') {
        fail(`key ${key} is stuck: job ${lowest.id} was rejected with nothing in flight; barrier: ${barrier}`);
      }
    }

    // Workers: one per key, sequential, each doing a random number of steps.
    for (const key of keys) {
      const queue = workerQueues.get(key)!;
      while (queue.length > 0 && random() < WORKER_STEP_PROBABILITY) {
        const job = queue.shift()!;
        if (!settings.ignoreWait && barrier.wait(key, job.id).wait) {
          barrier.stateChanged(key, job.id, 'waiting');
          job.status = 'pending';
          drainAdmitted.get(key)?.delete(job.id);
          continue;
        }
        attempts++;
        const history = attempted.get(key)!;
        if (history.length > 0 && history[history.length - 1]! > job.id) {
          fail(`key ${key} attempted job ${job.id} after job ${history[history.length - 1]}`);
        }
        history.push(job.id);
        if (job.failures < MAX_FAILURES && random() < FAILURE_PROBABILITY) {
          job.failures++;
          failures++;
          barrier.stateChanged(key, job.id, 'failed');
          job.status = 'pending';
          drainAdmitted.set(key, null);
          continue;
        }
        const draw = random();
        job.outcome = draw < 0.65 ? 'succeeded' : draw < 0.9 ? 'aborted' : 'filtered';
        job.status = 'committing';
        commitBuffer.push(job);
      }
    }

    // Commit loop: persists a random prefix of the outcomes, then reports them.
    const commits = Math.floor(random() * (commitBuffer.length + 1));
    for (const job of commitBuffer.splice(0, commits)) {
      job.status = 'done';
      committed.get(job.key)!.push(job);
      barrier.stateChanged(job.key, job.id, job.outcome!);
      const abortOfFailedJob = job.outcome === 'aborted' && job.failures > 0;
      drainAdmitted.set(job.key, abortOfFailedJob && concurrencyLimit > 0 ? new Set() : null);
    }
  }

  barrier.sync();
  if (barrier.pending !== 0) fail(`${barrier.pending} commands still pending after the final sync`);

  for (const key of keys) {
    const ids = committed.get(key)!.map((job) => job.id);
    for (let i = 1; i < ids.length; i++) {
      if (ids[i - 1]! >= ids[i]!) fail(`key ${key} committed out of order: ${ids.join(', ')}`);
    }
    const expected = jobs.filter((job) => job.key === key).map((job) => job.id);
    if (ids.join() !== expected.join()) fail(`key ${key} committed ${ids.join(', ')} instead of ${expected.join(', ')}`);
  }

  // What the barrier still holds: per barrier.md, a key whose last terminal
  // outcome was the abort of its failed job keeps an empty draining set
  // (with a limit), until some later job of the key ends. Nothing else.
  const leftover: BarrierSnapshot['records'] = [];
  for (const key of keys) {
    const last = committed.get(key)!.at(-1);
    if (concurrencyLimit > 0 && last !== undefined && last.outcome === 'aborted' && last.failures > 0) {
      leftover.push({ key, mode: 'enabled', modeSince: 0, failedJobId: null, concurrent: null, draining: [] });
    }
  }
  const records = [...barrier.snapshot().records].sort((a, b) => a.key.localeCompare(b.key));
  leftover.sort((a, b) => a.key.localeCompare(b.key));
  if (JSON.stringify(records) !== JSON.stringify(leftover)) {
    fail(`barrier left ${JSON.stringify(records)}, expected ${JSON.stringify(leftover)}`);
  }

  return { rounds: round, jobs: jobs.length, attempts, failures };
}

const SEEDS = 250;

describe('router simulation', () => {
  it('mulberry32 is deterministic per seed and spreads over [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const draws = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(draws);
    expect(mulberry32(43)()).not.toBe(draws[0]);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    expect(draws.filter((x) => x < 0.5).length).toBeGreaterThan(400);
    expect(draws.filter((x) => x < 0.5).length).toBeLessThan(600);
  });

  it.each([0, 1, 2, 5])(
    'concurrencyLimit %i: every job ends, per key in ascending order, no key is stuck, draining keys stay within the limit, the barrier ends empty but for drains',
    (concurrencyLimit) => {
      const totals = { rounds: 0, maxRounds: 0, jobs: 0, attempts: 0, failures: 0 };
      for (let seed = 1; seed <= SEEDS; seed++) {
        const keyCount = 1 + ((seed * 7) % 20);
        const report = simulate({ seed: seed * 1_000 + concurrencyLimit, keyCount, concurrencyLimit });
        totals.rounds += report.rounds;
        totals.maxRounds = Math.max(totals.maxRounds, report.rounds);
        totals.jobs += report.jobs;
        totals.attempts += report.attempts;
        totals.failures += report.failures;
      }
      // The runs did what they are for: many jobs, failures and retries.
      expect(totals.jobs).toBeGreaterThan(SEEDS * 10);
      expect(totals.failures).toBeGreaterThan(totals.jobs / 10);
      expect(totals.attempts).toBeGreaterThan(totals.jobs);
    },
  );

  it('a simulation with one key and one job ends', () => {
    for (const concurrencyLimit of [0, 1]) {
      expect(simulate({ seed: 7, keyCount: 1, concurrencyLimit }).jobs).toBeGreaterThanOrEqual(1);
    }
  });

  it('the checks catch a worker that sends without asking wait()', () => {
    let caught: unknown;
    for (let seed = 1; seed <= SEEDS && caught === undefined; seed++) {
      try {
        simulate({ seed, keyCount: 3, concurrencyLimit: 1, ignoreWait: true });
      } catch (error) {
        caught = error;
      }
    }
    expect(caught).toBeInstanceOf(Error);
    expect(String(caught)).toMatch(/out of order|attempted job|illegal job sequence/);
  });
});
