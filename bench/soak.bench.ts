/**
 * The soak run of issue 4: 10,000,000 jobs over 100,000 keys through
 * `pull` + `orderedDelivery`, with the store's highWaterMark at 10,000.
 * Memory must stay flat: bounded by the high-water mark, not growing with
 * the number of jobs or keys.
 *
 * The source is a batch function that makes jobs on demand (ids ascending,
 * keys in round robin, so every key has a job every 100,000). `deliver`
 * returns `of('failed')` for 3% of the jobs on their first attempt and
 * `of('succeeded')` otherwise; a failed job is retried after the store's
 * retryDelay of 1 ms on asyncScheduler (a real timer), and meanwhile its
 * key has a barrier record that holds back any later job of the key.
 *
 * Two variants:
 * - sync: `deliver` settles at once (`of(…)`): every job that does not fail
 *   is terminal before the next one enters.
 * - microtask: `deliver` settles on a later microtask (`Promise.resolve`),
 *   so up to `concurrency` deliveries are in flight and admitted jobs queue
 *   in the store.
 *
 * In both, what fills the store up to the high-water mark is the failed
 * jobs: the batch function resolves without I/O, so `pull`'s loop (a batch,
 * its jobs, the next batch) runs on microtasks alone and the retry timers
 * and the automatic sync (macrotasks on asyncScheduler) only get to run
 * once `pressure$` has stopped `pull`. Then they run, the store drains to
 * half the mark, and `pull` goes on. So the run exercises the backpressure
 * loop throughout, and the high-water mark is what bounds memory; without
 * one, a source like this would hold every failed job until it ended:
 * `pull` never yields to the scheduler while its source answers without I/O.
 *
 * Samples: heapUsed after gc() at the start and after every tenth of the
 * jobs (from inside the result subscriber, the pipeline in full flight), and
 * heapUsed without gc every 10,000 results for the peak. Flatness: max −
 * min of the post-gc samples taken in flight over the second half.
 */
import { of, type Observable } from 'rxjs';
import { BarrierStore, orderedDelivery, pull, type DeliveryContext, type DeliveryOutcome, type PullBatch } from './lib.js';
import { assert, gcNow, heapUsed, mb, measure, type BenchOptions, type Measurement, type Row, type Suite, type Task } from './harness.js';

const KEYS = 100_000;
const HIGH_WATER_MARK = 10_000;
const CONCURRENCY = 64;
/** The job ids that fail once: 3 in 100. */
const fails = (id: number): boolean => id % 100 < 3;
const FLAT_LIMIT = 5 * 2 ** 20;

interface Job {
  readonly key: string;
  readonly id: number;
}

type Variant = 'sync' | 'microtask';

const SUCCEEDED = of<DeliveryOutcome>('succeeded');
const FAILED = of<DeliveryOutcome>('failed');
const SUCCEEDED_LATER = (): Promise<DeliveryOutcome> => Promise.resolve('succeeded');
const FAILED_LATER = (): Promise<DeliveryOutcome> => Promise.resolve('failed');

async function soak(total: number, variant: Variant): Promise<Measurement> {
  const keys: string[] = [];
  for (let i = 0; i < KEYS; i++) keys.push(`user-${i}`);
  const store = new BarrierStore<Job>({
    key: (job) => job.key,
    jobId: (job) => job.id,
    concurrencyLimit: 1,
    highWaterMark: HIGH_WATER_MARK,
    retryDelay: 1,
  });

  let made = 0;
  const batch: PullBatch<Job> = async (demand) => {
    if (made >= total) return null;
    const n = Math.min(demand, total - made);
    const jobs = new Array<Job>(n);
    for (let i = 0; i < n; i++) {
      jobs[i] = { key: keys[made % KEYS]!, id: made + 1 };
      made++;
    }
    return jobs;
  };
  const deliver: (job: Job, context: DeliveryContext) => Observable<DeliveryOutcome> | Promise<DeliveryOutcome> =
    variant === 'sync'
      ? (job: Job, { attempt }: DeliveryContext): Observable<DeliveryOutcome> => (attempt === 1 && fails(job.id) ? FAILED : SUCCEEDED)
      : (job: Job, { attempt }: DeliveryContext): Promise<DeliveryOutcome> => (attempt === 1 && fails(job.id) ? FAILED_LATER() : SUCCEEDED_LATER());

  let pressured = 0;
  const pressure = store.pressure$.subscribe((full) => {
    if (full) pressured++;
  });

  const every = Math.max(1, Math.floor(total / 10));
  gcNow();
  const start = heapUsed();
  const samples: number[] = [start];
  const totals: number[] = [0];
  let peak = start;
  let maxInStore = 0;
  let results = 0;
  let attempts = 0;
  let lastId = new Map<string, number>();
  let outOfOrder = 0;
  const began = process.hrtime.bigint();
  let gcTime = 0n;

  await new Promise<void>((resolve, reject) => {
    pull(batch, store, { batchSize: 1000 })
      .pipe(orderedDelivery(store, { deliver, concurrency: CONCURRENCY, maxAttempts: 5 }))
      .subscribe({
        next: (result) => {
          attempts += result.attempts;
          // Per key, results in ascending id order (a cheap self-check).
          const previous = lastId.get(result.key) ?? 0;
          if (result.jobId <= previous) outOfOrder++;
          lastId.set(result.key, result.jobId);
          if (++results % 10_000 === 0) {
            peak = Math.max(peak, heapUsed());
            maxInStore = Math.max(maxInStore, store.stats().total);
          }
          if (results % every === 0) {
            const t = process.hrtime.bigint();
            gcNow();
            samples.push(heapUsed());
            totals.push(store.stats().total);
            gcTime += process.hrtime.bigint() - t;
          }
        },
        error: reject,
        complete: resolve,
      });
  });
  const elapsed = Number(process.hrtime.bigint() - began - gcTime);
  pressure.unsubscribe();
  // The self-check's own map (100,000 keys) is not the pipeline's.
  lastId = new Map();
  gcNow();
  const end = heapUsed();

  let expectedAttempts = total;
  for (let id = 1; id <= total; id++) if (fails(id)) expectedAttempts++;
  assert(results === total, `${results} of ${total} results`);
  assert(attempts === expectedAttempts, `${attempts} attempts, expected ${expectedAttempts}`);
  assert(outOfOrder === 0, `${outOfOrder} results out of order`);
  const stats = store.stats();
  assert(stats.total === 0 && stats.keys === 0 && stats.records === 0, `store left ${JSON.stringify(stats)}`);

  return {
    runs: [elapsed / total],
    figures: { samples, totals, peak: peak - start, start, end: end - start, maxInStore, pressured },
  };
}

export const tasks: Readonly<Record<string, Task>> = {
  sync: (options) => soak(options.soakJobs, 'sync'),
  microtask: (options) => soak(options.soakJobs, 'microtask'),
};

function rows(name: string, m: Measurement, total: number): Row[] {
  const f = m.figures as { samples: number[]; totals: number[]; peak: number; start: number; end: number; maxInStore: number; pressured: number };
  const base = f.samples[0]!;
  // Samples 1..9 are taken in full flight; the last one, at the last
  // result, with the store empty (its drop is not growth): flatness is
  // judged on the in-flight samples of the second half.
  const inFlight = f.samples.slice(0, -1);
  const secondHalf = inFlight.slice(Math.floor(inFlight.length / 2));
  const spread = Math.max(...secondHalf) - Math.min(...secondHalf);
  const millions = (total / 1e6).toLocaleString('en-US');
  return [
    {
      workload: `${name}: ${millions}M jobs, 100k keys`,
      nsPerJob: m.runs![0]!,
      note:
        `post-gc heap Δ per tenth: ${f.samples.slice(1).map((s) => ((s - base) / 2 ** 20).toFixed(1)).join(', ')} MB ` +
        `(start ${mb(base)}); peak +${mb(f.peak)}; after completion ${mb(f.end)}; ` +
        `store held ≤ ${f.maxInStore.toLocaleString('en-US')} jobs (at the samples: ${f.totals.slice(1).join(', ')}); ` +
        `pressure reached ${f.pressured}×`,
      target: `second half flat (max − min ≤ 5 MB); store ≤ ${HIGH_WATER_MARK.toLocaleString('en-US')}`,
      pass: spread <= FLAT_LIMIT && f.maxInStore <= HIGH_WATER_MARK + 1000,
    },
    {
      workload: `${name}: second-half spread`,
      note: `max − min of the post-gc heap samples in flight over the second half (${secondHalf.length} samples): ${mb(spread)}`,
    },
  ];
}

async function run(options: BenchOptions): Promise<Row[]> {
  const get = (name: string): Promise<Measurement> => measure(import.meta.url, tasks, name, options);
  return [
    ...rows('soak, sync deliver', await get('sync'), options.soakJobs),
    ...rows('soak, microtask deliver', await get('microtask'), options.soakJobs),
  ];
}

export const soakSuite: Suite = {
  name: 'soak',
  title: 'Soak: pull + orderedDelivery, highWaterMark 10,000 (issue 4)',
  notes: [
    'One run per variant, each in a fresh process. The source is a `pull` batch function (batchSize 1,000) that makes the jobs on demand: ids ascending, 100,000 keys in round robin. `deliver` fails 3% of the jobs once (ids ≡ 0, 1, 2 mod 100); the store retries them after its retryDelay of 1 ms on asyncScheduler (a real timer per failure, a barrier record per failing key meanwhile) and every run checks: one result per job, attempts = jobs + failures, per-key results in ascending id order, the store empty afterwards.',
    'sync: `deliver` returns `of(outcome)`, settled at once. microtask: `deliver` returns `Promise.resolve(outcome)`, so up to 64 deliveries are in flight and admitted jobs queue in the store.',
    'In both, the store fills up to the high-water mark with failed jobs waiting for their retry: the batch function resolves without I/O, so `pull` runs on microtasks alone and the 1 ms retry timers and the automatic sync (asyncScheduler macrotasks) run only once `pressure$` has stopped `pull` at 10,000; the store then drains to 5,000 and `pull` goes on ("pressure reached" counts these stops). So the backpressure loop runs throughout and the high-water mark is what bounds memory. Without a mark, such a source would keep every failed job (and anything held behind it) until the source ended: a fairness issue of `pull`, not of the barrier.',
    'ns/job is wall time over the run, the sampling GCs left out (it includes making the jobs and a per-key order check in the subscriber, whose 100,000-entry map is also in the heap samples, a constant). Samples: heapUsed after `gc()` at the start and after each tenth of the results, taken inside the result subscriber with the pipeline in full flight (the store holding up to 10,000 jobs); the table shows them relative to the start. Peak: the highest heapUsed, without gc, sampled every 10,000 results. "Store held" is `stats().total` (held + retrying + admitted). Flat means the post-gc heap samples taken in flight over the second half of the run (the tenths 5–9; the tenth at the last result, with the store empty, is left out) vary by at most 5 MB: nothing grows with the number of jobs or keys.',
    'Run alone with `npm run bench -- --only soak`; it is part of the full run (under a minute on the machine above).',
  ],
  run,
};
