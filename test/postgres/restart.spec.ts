// Test 4 of issue 13: the database restarts mid-run. Every connection ends
// with 57P01; the workers pause (no crash: every pool and client has an
// 'error' listener), resume when it is back, and finish every job, with each
// key's deliveries in id order.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PgJobQueue } from '../../src/postgres/index.js';
import { usePostgres, waitFor } from './support/database.js';
import { orderViolations, startReceiver, type Receiver } from './support/receiver.js';
import { killAll, spawnWorker, type WorkerProcess } from './support/worker-processes.js';

const JOBS = 6_000;
const LEASE = 2_000;

const server = usePostgres();
let receiver: Receiver;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  // Every 40th job fails once: attempt counts are committed across the restart too.
  receiver = await startReceiver((id, attempt) => ({ outcome: id % 40 === 0 && attempt === 1 ? 'failed' : 'succeeded', delay: 2 }));
});
afterAll(async () => {
  await killAll(workers);
  await receiver.close();
});

async function withPool<R>(use: (pool: pg.Pool) => Promise<R>): Promise<R> {
  const pool = new pg.Pool({ connectionString: server().url, max: 2 });
  pool.on('error', () => {});
  try {
    return await use(pool);
  } finally {
    await pool.end();
  }
}

it('a database restart pauses the workers, which resume and finish every job in order', async () => {
  await withPool(async (pool) => {
    const queue = new PgJobQueue<{ n: number }>({ pool, queue: 'restart', partitions: 8 });
    await queue.migrate();
    await queue.enqueue(Array.from({ length: JOBS }, (_, n) => ({ key: `key-${n % 300}`, payload: { n } })));
  });
  for (const name of ['r1', 'r2']) {
    workers.push(
      spawnWorker({
        url: server().url,
        queue: 'restart',
        partitions: 8,
        receiver: receiver.url,
        workerId: name,
        lease: LEASE,
        heartbeat: 400,
        timeout: 10_000,
        maxAttempts: 5,
        concurrency: 32,
      }),
    );
  }
  await waitFor('a third delivered', () => receiver.log.length >= JOBS / 3, 60_000);
  const before = receiver.log.length;
  const downAt = Date.now();
  await server().restart({ downFor: 1_000 });
  const backAt = Date.now();
  expect(before).toBeLessThan(JOBS);

  const counts = () => withPool((pool) => new PgJobQueue({ pool, queue: 'restart', partitions: 8 }).counts());
  await waitFor('every job terminal', async () => (await counts()).pending === 0, 120_000);
  expect(await counts()).toEqual({ pending: 0, succeeded: JOBS, aborted: 0, filtered: 0 });
  expect(receiver.log.some((entry) => entry.at > backAt)).toBe(true);
  // Paused while the server was away (after a moment's grace for requests already sent).
  expect(receiver.log.filter((entry) => entry.at > downAt + 300 && entry.at < backAt)).toEqual([]);
  expect(orderViolations(receiver.log)).toEqual([]);
  // Attempts as scripted, plus at most one for a delivery cut by the restart.
  const attempts = await withPool(async (pool) => {
    const { rows } = await pool.query<{ id: string; attempts: number }>(`SELECT id, attempts FROM rx_barrier_jobs WHERE queue = 'restart'`);
    return rows;
  });
  const wrong = attempts.filter((row) => {
    const scripted = Number(row.id) % 40 === 0 ? 2 : 1;
    return row.attempts < scripted || row.attempts > scripted + 1;
  });
  expect(wrong).toEqual([]);
  // Both processes lived through it.
  expect(workers.map((w) => w.process.exitCode)).toEqual([null, null]);
  await Promise.all(workers.map((w) => w.close()));
}, 180_000);
