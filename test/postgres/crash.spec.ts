// Test 1 of issue 13: three worker processes, one killed with kill -9 at
// about a third. Every job ends terminal as scripted, each key's deliveries
// reach the receiver in id order (repeats allowed, never after a later job),
// attempts are as scripted plus at most one per takeover, and the takeover
// waits the lease and no more than a heartbeat or so beyond it.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PgJobQueue } from '../../src/postgres/index.js';
import { usePostgres, waitFor } from './support/database.js';
import { orderViolations, startReceiver, type Receiver, type Scripted } from './support/receiver.js';
import { killAll, spawnWorker, type WorkerProcess } from './support/worker-processes.js';

const JOBS = 20_000;
const KEYS = 500;
const PARTITIONS = 16;
// Generous for a loaded 2-core machine: a late heartbeat must not cost a live worker its lease.
const LEASE = 3_000;
const HEARTBEAT = 500;
const TIMEOUT = 1_500;
const MAX_ATTEMPTS = 3;

/** The receiver's answer to each attempt of each job. */
// The special jobs are spread over keys (499 and 251 are prime to the 500
// keys), so no single key carries a long serial chain of slow attempts.
function script(id: number, attempt: number): Scripted {
  if (id % 251 === 5) return { outcome: 'failed' }; // fails every time: aborted after MAX_ATTEMPTS
  if (id % 499 === 4) {
    // The first attempt answers past the timeout: the worker counts it failed.
    return attempt === 1 ? { outcome: 'succeeded', delay: TIMEOUT + 300 } : { outcome: 'succeeded' };
  }
  switch (id % 50) {
    case 1:
      return { outcome: attempt === 1 ? 'failed' : 'succeeded' };
    case 2:
      return { outcome: 'aborted' };
    case 3:
      return { outcome: 'filtered' };
    default:
      return { outcome: 'succeeded' };
  }
}

/** What the table must say of each job at the end, by the script. */
function expected(id: number): { state: string; attempts: number } {
  if (id % 251 === 5) return { state: 'aborted', attempts: MAX_ATTEMPTS };
  if (id % 499 === 4) return { state: 'succeeded', attempts: 2 };
  switch (id % 50) {
    case 1:
      return { state: 'succeeded', attempts: 2 };
    case 2:
      return { state: 'aborted', attempts: 1 };
    case 3:
      return { state: 'filtered', attempts: 1 };
    default:
      return { state: 'succeeded', attempts: 1 };
  }
}

const server = usePostgres();
let receiver: Receiver;
let pool: pg.Pool;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  receiver = await startReceiver(script);
  pool = new pg.Pool({ connectionString: server().url, max: 4 });
  pool.on('error', () => {});
});
afterAll(async () => {
  await killAll(workers);
  await receiver.close();
  await pool.end();
});

it('kill -9 of one of three workers: nothing lost, order per key kept, attempts as scripted plus one per takeover', async () => {
  const queue = new PgJobQueue<{ n: number }>({ pool, queue: 'crash', partitions: PARTITIONS });
  await queue.migrate();
  for (let start = 0; start < JOBS; start += 2_000) {
    await queue.enqueue(Array.from({ length: 2_000 }, (_, i) => ({ key: `key-${(start + i) % KEYS}`, payload: { n: start + i } })));
  }
  for (const name of ['w1', 'w2', 'w3']) {
    workers.push(
      spawnWorker({
        url: server().url,
        queue: 'crash',
        partitions: PARTITIONS,
        receiver: receiver.url,
        workerId: name,
        lease: LEASE,
        heartbeat: HEARTBEAT,
        timeout: TIMEOUT,
        maxAttempts: MAX_ATTEMPTS,
        concurrency: 64,
      }),
    );
  }
  const finished = async () => {
    const { succeeded, aborted, filtered } = await queue.counts();
    return succeeded + aborted + filtered;
  };
  await waitFor('a third of the jobs', async () => (await finished()) >= JOBS / 3 && workers.every((w) => w.partitions.length > 0), 120_000);
  const victim = workers[0]!;
  const taken = new Set(victim.partitions);
  const killedAt = Date.now();
  victim.kill();
  await victim.exited;
  await waitFor('every job terminal', async () => (await queue.counts()).pending === 0, 180_000);

  // Takeover: the first delivery from the dead worker's partitions by another worker.
  const firstAfter = receiver.log.find((entry) => entry.at > killedAt && taken.has(entry.partition) && entry.worker !== victim.id);
  expect(firstAfter).toBeDefined();
  const takeover = firstAfter!.at - killedAt;
  console.log(`crash: takeover after ${takeover} ms (lease ${LEASE} ms, heartbeat ${HEARTBEAT} ms); ${receiver.log.length} deliveries for ${JOBS} jobs`);
  expect(takeover).toBeGreaterThanOrEqual(LEASE);
  expect(takeover).toBeLessThan(LEASE + 10 * HEARTBEAT + 2_000);

  expect(orderViolations(receiver.log)).toEqual([]);

  const { rows } = await pool.query<{ id: string; state: string; attempts: number; partition: number }>(
    `SELECT id, state, attempts, partition FROM rx_barrier_jobs WHERE queue = 'crash' ORDER BY id`,
  );
  expect(rows).toHaveLength(JOBS);
  const wrong: string[] = [];
  for (const row of rows) {
    const id = Number(row.id);
    const want = expected(id);
    const extra = taken.has(row.partition) ? 1 : 0;
    if (row.state !== want.state || row.attempts < want.attempts || row.attempts > want.attempts + extra) {
      wrong.push(`job ${id}: ${row.state} after ${row.attempts} attempts, scripted ${want.state} after ${want.attempts}`);
    }
  }
  expect(wrong).toEqual([]);

  // Each job's attempt numbers as the receiver saw them: 1, 2, … with a repeat only after a takeover.
  const attempts = new Map<number, number[]>();
  for (const entry of receiver.log) {
    const list = attempts.get(entry.id);
    if (list === undefined) attempts.set(entry.id, [entry.attempt]);
    else list.push(entry.attempt);
  }
  const badNumbers = [...attempts].filter(([, list]) => list[0] !== 1 || list.some((n, i) => i > 0 && n !== list[i - 1]! + 1 && n !== list[i - 1]));
  expect(badNumbers).toEqual([]);
  const survivors = workers.slice(1);
  expect(survivors.flatMap((w) => w.errors)).toEqual([]);
  await Promise.all(survivors.map((w) => w.close()));
  await queue.close();
}, 240_000);
