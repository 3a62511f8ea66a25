// Test 2 of issue 13: start with one worker, add two mid-run, then close()
// one. Partitions move by hand-over (the next owner starts at once, not after
// the lease), no job is delivered twice, and each key's order is kept.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PgJobQueue } from '../../src/postgres/index.js';
import { usePostgres, waitFor } from './support/database.js';
import { orderViolations, startReceiver, type Receiver } from './support/receiver.js';
import { killAll, spawnWorker, type WorkerProcess } from './support/worker-processes.js';

const JOBS = 12_000;
const PARTITIONS = 8;
// Long, so a takeover that waited it would show; a hand-over does not wait.
const LEASE = 10_000;

const server = usePostgres();
let receiver: Receiver;
let pool: pg.Pool;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  receiver = await startReceiver(() => ({ outcome: 'succeeded', delay: 5 }));
  pool = new pg.Pool({ connectionString: server().url, max: 4 });
  pool.on('error', () => {});
});
afterAll(async () => {
  await killAll(workers);
  await receiver.close();
  await pool.end();
});

const start = (name: string) => {
  const worker = spawnWorker({
    url: server().url,
    queue: 'scale',
    partitions: PARTITIONS,
    receiver: receiver.url,
    workerId: name,
    lease: LEASE,
    heartbeat: 300,
    timeout: 10_000,
    maxAttempts: 5,
    concurrency: 16,
  });
  workers.push(worker);
  return worker;
};

it('scales out from one worker to three and in by closing one: hand-overs, no job twice, order kept', async () => {
  const queue = new PgJobQueue<{ n: number }>({ pool, queue: 'scale', partitions: PARTITIONS });
  await queue.migrate();
  await queue.enqueue(Array.from({ length: JOBS }, (_, n) => ({ key: `key-${n % 400}`, payload: { n } })));
  const first = start('s1');
  await waitFor('a quarter delivered by one worker', () => receiver.log.length >= JOBS / 4, 60_000);
  expect(first.partitions).toHaveLength(PARTITIONS);
  const [second, third] = [start('s2'), start('s3')];
  await waitFor('three workers sharing', () => second.partitions.length > 0 && third.partitions.length > 0 && first.partitions.length < PARTITIONS, 60_000);
  await waitFor('half delivered', () => receiver.log.length >= JOBS / 2, 60_000);
  const closing = Date.now();
  await first.close();
  const closedIn = Date.now() - closing;
  expect(await first.exited).toBe(0);
  expect(first.partitions).toEqual([]);
  await waitFor('every job terminal', async () => (await queue.counts()).pending === 0, 120_000);
  console.log(`scale: s1 closed (handed everything over) in ${closedIn} ms; ${receiver.log.length} deliveries for ${JOBS} jobs`);

  expect(await queue.counts()).toEqual({ pending: 0, succeeded: JOBS, aborted: 0, filtered: 0 });
  const ids = receiver.log.map((entry) => entry.id);
  expect(new Set(ids).size).toBe(JOBS);
  expect(ids).toHaveLength(JOBS);
  expect(orderViolations(receiver.log)).toEqual([]);
  expect(second.partitions.length + third.partitions.length).toBe(PARTITIONS);

  // Where a partition changed hands with work left, the next owner went on without waiting the lease.
  const byPartition = new Map<number, { worker: string; at: number }[]>();
  for (const entry of receiver.log) {
    const list = byPartition.get(entry.partition) ?? [];
    list.push(entry);
    byPartition.set(entry.partition, list);
  }
  let handOvers = 0;
  for (const entries of byPartition.values()) {
    for (let i = 1; i < entries.length; i++) {
      if (entries[i]!.worker === entries[i - 1]!.worker) continue;
      handOvers++;
      expect(entries[i]!.at - entries[i - 1]!.at).toBeLessThan(LEASE / 2);
    }
  }
  expect(handOvers).toBeGreaterThanOrEqual(2);
  expect(workers.flatMap((w) => w.errors)).toEqual([]);
  await Promise.all([second.close(), third.close()]);
  await queue.close();
}, 180_000);
