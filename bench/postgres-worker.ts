/**
 * One process of the `postgres` suite (bench/postgres.bench.ts): fills a
 * queue, works one, or measures enqueue-to-delivery latency, for one of the
 * three systems on PostgreSQL: rx-barrier's durable queue (the build in
 * dist/, as users load it), graphile-worker with one named queue per key,
 * pg-boss with groups (`groupConcurrency: 1`). Started by the suite with
 * `node --import tsx` and an IPC channel; not meant to be run by hand.
 *
 * Messages to the parent: `ready` (connected, not yet working), `first`
 * (the wall-clock time of the first delivery), `progress` (deliveries so
 * far), `filled`, `latency` (samples), `stopped`. From the parent: `go`
 * (start working), `stop` (shut down gracefully).
 */
import { performance } from 'node:perf_hooks';
import { of } from 'rxjs';

export type System = 'rx-barrier' | 'graphile-worker' | 'pg-boss';

export interface WorkerArgs {
  readonly system: System;
  readonly role: 'fill' | 'work' | 'latency';
  readonly url: string;
  /** Jobs to fill, or to expect when working. */
  readonly jobs: number;
  readonly keys: number;
  /** Latency: single enqueues, and the pause between them in ms. */
  readonly samples?: number;
  readonly spacing?: number;
}

export type ToParent =
  | { type: 'ready' }
  | { type: 'first'; at: number }
  /** `unordered`: jobs this process started after a later (or the same) job of their key. */
  | { type: 'progress'; done: number; unordered: number }
  | { type: 'filled'; ms: number }
  | { type: 'latency'; samples: number[] }
  | { type: 'stopped' };

export type ToChild = { type: 'go' } | { type: 'stop' };

/** Wall-clock ms with sub-ms resolution, comparable between processes. */
export const wallClock = (): number => performance.timeOrigin + performance.now();

/** Jobs in id order, keys in round robin: the workload every system drains. */
export function keyOf(index: number, keys: number): string {
  return `key-${index % keys}`;
}

/** The queue name pg-boss and rx-barrier use, the task identifier graphile-worker uses. */
const QUEUE = 'bench';
/** Jobs per bulk insert while filling. */
const CHUNK = 5_000;
/** How many deliveries between two progress messages. */
const PROGRESS_EVERY = 1_000;

// ---- settings of each system, also printed in the suite's notes ----------

/** graphile-worker: per process. localQueue stays off: it breaks a named queue's serial order (graphile/worker#621). */
export const GRAPHILE_SETTINGS = {
  concurrency: 24,
  maxPoolSize: 25,
  pollInterval: 2_000,
  preset: { worker: { useNodeTime: true, preparedStatements: true, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
} as const;

/** pg-boss: per process. */
export const PGBOSS_SETTINGS = {
  batchSize: 100,
  groupConcurrency: 1,
  pollingIntervalSeconds: 0.5,
  burstWhenBatchFull: true,
  localConcurrency: 4,
} as const;

/** rx-barrier: per process; everything else at the library's defaults. */
export const RX_SETTINGS = { concurrency: 256 } as const;

// ---- the process -----------------------------------------------------------

interface Driver {
  fill(): Promise<void>;
  /** Connects (untimed). `work` then starts delivering. */
  prepare(): Promise<void>;
  /**
   * Starts working: `started` when the job function is called (with the
   * job's index in the workload), `done` when it has finished (rx-barrier:
   * once committed).
   */
  work(started: (index: number) => void, done: () => void): Promise<void>;
  /** Enqueues one job and resolves when it has been handed to the job function, with the ms in between. */
  latency(samples: number, spacing: number): Promise<number[]>;
  stop(): Promise<void>;
}

const send = (message: ToParent): void => {
  process.send?.(message);
};

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '') as WorkerArgs;
  if (process.send === undefined) throw new Error('bench/postgres-worker.ts is started by bench/postgres.bench.ts');
  const driver = await drivers[args.system](args);
  if (args.role === 'fill') {
    const started = wallClock();
    await driver.fill();
    send({ type: 'filled', ms: wallClock() - started });
    await driver.stop();
    return;
  }
  if (args.role === 'latency') {
    await driver.prepare();
    send({ type: 'latency', samples: await driver.latency(args.samples ?? 200, args.spacing ?? 20) });
    await driver.stop();
    return;
  }
  await driver.prepare();
  const go = new Promise<void>((resolve) => process.on('message', (m: ToChild) => m.type === 'go' && resolve()));
  const stop = new Promise<void>((resolve) => process.on('message', (m: ToChild) => m.type === 'stop' && resolve()));
  send({ type: 'ready' });
  await go;
  let first = true;
  let done = 0;
  // A self-check of per-key order, within this process: the highest index started per key.
  const lastStarted = new Int32Array(args.keys).fill(-1);
  let unordered = 0;
  await driver.work(
    (index) => {
      if (first) send({ type: 'first', at: wallClock() });
      first = false;
      const key = index % args.keys;
      if (index <= lastStarted[key]!) unordered++;
      else lastStarted[key] = index;
    },
    () => {
      if (++done % PROGRESS_EVERY === 0) send({ type: 'progress', done, unordered });
    },
  );
  const progress = setInterval(() => send({ type: 'progress', done, unordered }), 200);
  await stop;
  clearInterval(progress);
  send({ type: 'progress', done, unordered });
  await driver.stop();
  send({ type: 'stopped' });
}

// ---- rx-barrier ----------------------------------------------------------------

type Durable = typeof import('../src/postgres/index.js');
const DURABLE = new URL('../dist/postgres/index.js', import.meta.url);

async function rxBarrier(args: WorkerArgs): Promise<Driver> {
  const { PgJobQueue } = (await import(DURABLE.href)) as Durable;
  const queue = new PgJobQueue<{ i: number }>({ connectionString: args.url, queue: QUEUE });
  let worker: ReturnType<typeof queue.work> | undefined;
  return {
    async fill() {
      await queue.migrate();
      for (let start = 0; start < args.jobs; start += CHUNK) {
        const jobs = [];
        for (let i = start; i < Math.min(args.jobs, start + CHUNK); i++) jobs.push({ key: keyOf(i, args.keys), payload: { i } });
        await queue.enqueue(jobs);
      }
    },
    async prepare() {
      await queue.migrate();
    },
    async work(started, done) {
      worker = queue.work({
        ...RX_SETTINGS,
        deliver: (job) => {
          started(job.payload.i);
          return of('succeeded' as const);
        },
      });
      // A result is emitted once its outcome is committed.
      worker.results$.subscribe(() => done());
    },
    async latency(samples, spacing) {
      const started = new Map<number, number>();
      const waiting = new Map<number, (at: number) => void>();
      worker = queue.work({
        ...RX_SETTINGS,
        deliver: (job) => {
          const at = performance.now();
          const resolve = waiting.get(job.id);
          if (resolve === undefined) started.set(job.id, at);
          else resolve(at);
          return of('succeeded' as const);
        },
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      const result: number[] = [];
      for (let n = 0; n < samples; n++) {
        const t0 = performance.now();
        const delivered = new Promise<number>((resolve) => {
          // The id is known only once enqueue resolves: the delivery may come first.
          void queue.enqueue([{ key: keyOf(n, args.keys), payload: { i: n } }]).then(([id]) => {
            const early = started.get(id!);
            if (early !== undefined) resolve(early);
            else waiting.set(id!, resolve);
          });
        });
        result.push((await delivered) - t0);
        await new Promise((resolve) => setTimeout(resolve, spacing));
      }
      return result;
    },
    async stop() {
      await worker?.close();
      await queue.close();
    },
  };
}

// ---- graphile-worker -------------------------------------------------------

async function graphileWorker(args: WorkerArgs): Promise<Driver> {
  const { Logger, makeWorkerUtils, run } = await import('graphile-worker');
  // Errors only: its per-job and start-up logs would be measured too.
  const logger = new Logger(() => (level, message) => {
    if (level === 'error') console.error(`graphile-worker: ${message}`);
  });
  let runner: Awaited<ReturnType<typeof run>> | undefined;
  const utils = await makeWorkerUtils({ connectionString: args.url, logger });
  const start = async (task: (index: number) => void, after: () => void = () => {}): Promise<void> => {
    runner = await run({
      ...GRAPHILE_SETTINGS,
      connectionString: args.url,
      logger,
      noHandleSignals: true,
      taskList: {
        [QUEUE]: async (payload) => {
          task((payload as { i: number }).i);
          after();
        },
      },
    });
  };
  return {
    async fill() {
      await utils.migrate();
      for (let start = 0; start < args.jobs; start += CHUNK) {
        const specs = [];
        for (let i = start; i < Math.min(args.jobs, start + CHUNK); i++) {
          const key = keyOf(i, args.keys);
          specs.push({ identifier: QUEUE, payload: { i }, queueName: key });
        }
        await utils.addJobs(specs);
      }
    },
    async prepare() {
      await utils.migrate();
    },
    async work(started, done) {
      await start(started, done);
    },
    async latency(samples, spacing) {
      let resolveNext: ((at: number) => void) | undefined;
      await start(() => resolveNext?.(performance.now()));
      await new Promise((resolve) => setTimeout(resolve, 500));
      const result: number[] = [];
      for (let n = 0; n < samples; n++) {
        const delivered = new Promise<number>((resolve) => (resolveNext = resolve));
        const t0 = performance.now();
        await utils.addJob(QUEUE, { i: n }, { queueName: keyOf(n, args.keys) });
        result.push((await delivered) - t0);
        await new Promise((resolve) => setTimeout(resolve, spacing));
      }
      return result;
    },
    async stop() {
      await runner?.stop();
      await utils.release();
    },
  };
}

// ---- pg-boss -------------------------------------------------------------------

async function pgBoss(args: WorkerArgs): Promise<Driver> {
  const { PgBoss } = await import('pg-boss');
  const boss = new PgBoss({ connectionString: args.url, schedule: false, supervise: args.role === 'fill' });
  boss.on('error', (error: unknown) => console.error(`pg-boss: ${String(error)}`));
  return {
    async fill() {
      await boss.start();
      await boss.createQueue(QUEUE);
      for (let start = 0; start < args.jobs; start += CHUNK) {
        const jobs = [];
        for (let i = start; i < Math.min(args.jobs, start + CHUNK); i++) jobs.push({ data: { i }, group: { id: keyOf(i, args.keys) } });
        await boss.insert(QUEUE, jobs);
      }
    },
    async prepare() {
      await boss.start();
    },
    async work(started, done) {
      await boss.work<{ i: number }>(QUEUE, PGBOSS_SETTINGS, async (jobs) => {
        for (const job of jobs) {
          started(job.data.i);
          done();
        }
      });
    },
    latency() {
      return Promise.reject(new Error('pg-boss latency is not measured'));
    },
    async stop() {
      await boss.stop({ graceful: true, close: true });
    },
  };
}

const drivers: Record<System, (args: WorkerArgs) => Promise<Driver>> = {
  'rx-barrier': rxBarrier,
  'graphile-worker': graphileWorker,
  'pg-boss': pgBoss,
};

if (process.send !== undefined && import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.disconnect(),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
