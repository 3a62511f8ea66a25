/**
 * The admission operator of issue 3 beside its floor: per job,
 * `barrierEnter(store)` alone (no rejections) against a plain RxJS `filter`
 * doing one `Map.get` on a map that holds none of the keys, over the same
 * 1,000,000 pre-made jobs (10,000 keys in round robin, ids increasing) from
 * the same synchronous source, each subscriber only counting. Target: at
 * most 2× the filter.
 *
 * `barrierEnter` without `barrierState` downstream never completes (nothing
 * reports its jobs terminal): each run unsubscribes after the source is
 * exhausted. On the no-record path an admitted job is only counted, so the
 * allocation rows check that it allocates nothing per job and retains
 * nothing per admitted job.
 */
import { filter, from, Observable, type Subscriber } from 'rxjs';
import { barrierEnter, BarrierStore } from './lib.js';
import {
  assert,
  countGcs,
  gcNow,
  heapUsed,
  measure,
  timedTogether,
  timeRuns,
  type BenchOptions,
  type Measurement,
  type Row,
  type Suite,
  type Task,
} from './harness.js';

const KEYS = 10_000;

interface Job {
  readonly key: string;
  readonly id: number;
}

function makeJobs(count: number): Job[] {
  const keys: string[] = [];
  for (let i = 0; i < KEYS; i++) keys.push(`key-${i}`);
  const jobs: Job[] = [];
  for (let i = 0; i < count; i++) jobs.push({ key: keys[i % KEYS]!, id: i + 1 });
  return jobs;
}

const newStore = (): BarrierStore<Job> =>
  new BarrierStore<Job>({ key: (job) => job.key, jobId: (job) => job.id, concurrencyLimit: 1 });

/** The floor: `filter` with one Map.get miss per job. */
function filterRun(map: Map<string, number>, jobs: readonly Job[]): number {
  let passed = 0;
  from(jobs)
    .pipe(filter((job) => map.get(job.key) === undefined))
    .subscribe(() => {
      passed++;
    });
  return passed;
}

/** `barrierEnter` alone; returns how many jobs came out before unsubscribing. */
function enterRun(store: BarrierStore<Job>, jobs: readonly Job[]): number {
  let passed = 0;
  const subscription = from(jobs)
    .pipe(barrierEnter(store))
    .subscribe(() => {
      passed++;
    });
  const { admitted, keys, records, held } = store.stats();
  assert(admitted === jobs.length && keys === 0 && records === 0 && held === 0, 'every job admitted untracked, no key state');
  subscription.unsubscribe();
  return passed;
}

/**
 * A synchronous source the caller drives (`push.next(job)`), so that heap
 * use can be read between chunks of jobs. To the operator it is the same as
 * `from(jobs)`: values arrive synchronously through a subscriber.
 */
function drivenSource(): { source: Observable<Job>; push: () => Subscriber<Job> } {
  let subscriber: Subscriber<Job> | undefined;
  const source = new Observable<Job>((s) => {
    subscriber = s;
  });
  return { source, push: () => subscriber! };
}

/**
 * Allocation check of one pipeline over `options.jobs` jobs: a fifth warms
 * up; the next fifth goes in 10,000-job chunks whose heapUsed growth (no GC
 * inside) estimates bytes per job; the remaining three fifths run while GCs
 * are counted. Retained is heapUsed after gc() at the end, subscription
 * still open, minus heapUsed after gc() before subscribing.
 */
async function allocations(options: BenchOptions, kind: 'enter' | 'filter'): Promise<Measurement> {
  const jobs = makeJobs(options.jobs);
  const store = newStore();
  const map = new Map<string, number>();
  const { source, push } = drivenSource();
  let passed = 0;
  gcNow();
  const before = heapUsed();
  const pipeline = kind === 'enter' ? source.pipe(barrierEnter(store)) : source.pipe(filter((job) => map.get(job.key) === undefined));
  const subscription = pipeline.subscribe(() => {
    passed++;
  });
  const sink = push();
  const fifth = Math.floor(jobs.length / 5);
  let i = 0;
  for (; i < fifth; i++) sink.next(jobs[i]!);
  gcNow();
  const warm = heapUsed();

  const chunk = 10_000;
  let grown = 0;
  let counted = 0;
  while (i < 2 * fifth) {
    const end = Math.min(i + chunk, 2 * fifth);
    const start = heapUsed();
    for (; i < end; i++) sink.next(jobs[i]!);
    const delta = heapUsed() - start;
    if (delta >= 0) {
      grown += delta;
      counted += chunk;
    }
  }
  const counting = jobs.length - i;
  const gcs = await countGcs(() => {
    for (; i < jobs.length; i++) sink.next(jobs[i]!);
  });
  gcNow();
  const after = heapUsed();
  const retained = after - before;
  /** Retained growth per job after the warm-up: what each admitted job leaves behind. */
  const slope = (after - warm) / (jobs.length - fifth);
  assert(passed === jobs.length, `${passed} of ${jobs.length} jobs passed`);
  if (kind === 'enter') assert(store.stats().admitted === jobs.length, 'every job admitted');
  subscription.unsubscribe();
  return {
    minorGcs: gcs.minorGcs,
    majorGcs: gcs.majorGcs,
    ...(counted === 0 ? {} : { bytesPerJob: grown / counted }),
    figures: { counting, retained, slope, jobs: jobs.length },
  };
}

export const tasks: Readonly<Record<string, Task>> = {
  filter: async (options) => {
    const jobs = makeJobs(options.jobs);
    const runs = await timeRuns(
      options,
      () => new Map<string, number>(),
      (map) => filterRun(map, jobs),
      (_, passed, count) => assert(passed === count, 'every job passed the filter'),
    );
    return { runs };
  },
  barrierEnter: async (options) => {
    const jobs = makeJobs(options.jobs);
    const runs = await timeRuns(
      options,
      newStore,
      (store) => enterRun(store, jobs),
      (store, passed, count) => {
        assert(passed === count, `${passed} of ${count} jobs admitted`);
        assert(store.stats().total === 0 && store.stats().entrances === 0, 'unsubscribing left nothing behind');
      },
    );
    return { runs };
  },
  allocationsEnter: (options) => allocations(options, 'enter'),
  allocationsFilter: (options) => allocations(options, 'filter'),
};


function allocationNote(m: Measurement): string {
  const f = m.figures as Record<string, number>;
  const perJob = m.bytesPerJob === undefined ? '?' : m.bytesPerJob.toFixed(1);
  const retained = f['retained']!;
  return (
    `${m.minorGcs} scavenges + ${m.majorGcs} major GCs in ${(f['counting']! / 1e3).toFixed(0)}k jobs; ≈${perJob} B/job; ` +
    `retained after ${(f['jobs']! / 1e6).toFixed(1)}M admitted jobs: ${(retained / 1024).toFixed(0)} KiB in all, ` +
    `${f['slope']!.toFixed(3)} B/job after the warm-up`
  );
}

/** The timed tasks and their rows' names. */
const WORKLOADS = {
  filter: 'floor: from(jobs).pipe(filter(1× Map.get miss))',
  barrierEnter: 'from(jobs).pipe(barrierEnter(store)), no rejections',
} as const;

async function run(options: BenchOptions): Promise<Row[]> {
  const get = (name: string): Promise<Measurement> => measure(import.meta.url, tasks, name, options);
  // Side by side: the ratio compares runs made seconds apart.
  const [floor, enter] = await timedTogether(import.meta.url, tasks, WORKLOADS, ['filter', 'barrierEnter'], options);
  const ae = await get('allocationsEnter');
  const af = await get('allocationsFilter');
  const slope = ae.figures!['slope'] as number;
  return [
    floor,
    {
      ...enter,
      ratio: enter.nsPerJob / floor.nsPerJob,
      ratioTo: 'filter floor',
      target: '≤ 2× filter floor',
      pass: enter.nsPerJob <= 2 * floor.nsPerJob,
    },
    {
      workload: 'allocations: barrierEnter, no-record path',
      note: allocationNote(ae),
      // A ticket or map entry per admitted job would retain 40 B/job or more;
      // below 1 B/job is JIT code and feedback, not the jobs.
      target: '0 scavenges; retained < 1 B/job',
      pass: ae.minorGcs === 0 && ae.majorGcs === 0 && slope < 1,
    },
    { workload: 'allocations: control, filter floor', note: allocationNote(af) },
  ];
}

export const operatorsSuite: Suite = {
  name: 'operators',
  timed: { moduleUrl: import.meta.url, workloads: WORKLOADS },
  title: 'Operators: barrierEnter (issue 3)',
  notes: [
    'Both pipelines take the same 1,000,000 pre-made jobs (10,000 keys in round robin, ids increasing) from `from(jobs)`, and their subscribers only count. The floor is the `filter` operator doing one `Map.get` per job on an empty map (a miss).',
    'The store has `concurrencyLimit: 1` and nothing else, no `events$` subscriber: the production hot path, where no key has a record and an admitted job is only counted (no ticket, no per-key state).',
    '`barrierEnter` without `barrierState` never completes, so each run unsubscribes once the source is exhausted (inside the timing; unsubscribing is O(1) here).',
    'Allocations: the same pipeline fed through a driven synchronous source; the GCs V8 reports during the last 60% of the jobs are counted (zero allocation fills no young generation, so no scavenge), B/job is heapUsed growth over 10,000-job chunks with no GC inside, and retained is heapUsed after `gc()` with all jobs admitted and the subscription still open, minus heapUsed after `gc()` before subscribing (in all: mostly compiled code and type feedback, a constant) and minus heapUsed after `gc()` once the first fifth had passed (per job: what each admitted job leaves behind).',
  ],
  run,
};
