// Test 6 of issue 13: enqueue inside the caller's transaction (the outbox),
// and the visibility rule: a job is read only once no transaction that could
// still commit a lower id of its partition is running.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf, PgJobQueue, type PgJob } from '../../src/postgres/index.js';
import { sleep, usePostgres, waitFor } from './support/database.js';

const server = usePostgres();
let pool: pg.Pool;

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: server().url, max: 6 });
  pool.on('error', () => {});
});
afterAll(async () => {
  await pool.end();
});

async function freshQueue(name: string): Promise<PgJobQueue<{ n: number }>> {
  const queue = new PgJobQueue<{ n: number }>({ pool, queue: name, partitions: 8 });
  await queue.migrate();
  return queue;
}

/** A key of another partition than `key`'s. */
function keyOutside(key: string, partitions: number): string {
  for (let i = 0; ; i++) if (partitionOf(`other-${i}`, partitions) !== partitionOf(key, partitions)) return `other-${i}`;
}

describe('enqueue in a transaction', () => {
  it('leaves nothing when the transaction rolls back, and the jobs when it commits', async () => {
    const queue = await freshQueue('rollback');
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const ids = await queue.enqueue([{ key: 'a', payload: { n: 1 } }, { key: 'b', payload: { n: 2 } }], { client });
      expect(ids).toHaveLength(2);
      await client.query('ROLLBACK');
      expect(await queue.counts()).toEqual({ pending: 0, succeeded: 0, aborted: 0, filtered: 0 });
      await client.query('BEGIN');
      await queue.enqueue([{ key: 'a', payload: { n: 3 } }], { client });
      await client.query('COMMIT');
      expect(await queue.counts()).toEqual({ pending: 1, succeeded: 0, aborted: 0, filtered: 0 });
    } finally {
      client.release();
    }
    await queue.close();
  });

  it('returns ascending ids in the order the jobs were given', async () => {
    const queue = await freshQueue('order');
    const ids = await queue.enqueue(Array.from({ length: 300 }, (_, n) => ({ key: `k${n % 7}`, payload: { n } })));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const { rows } = await pool.query<{ id: string; n: number }>(
      `SELECT id, (payload->>'n')::int AS n FROM rx_barrier_jobs WHERE queue = 'order' ORDER BY id`,
    );
    expect(rows.map((row) => row.n)).toEqual(Array.from({ length: 300 }, (_, n) => n));
    expect(rows.map((row) => Number(row.id))).toEqual(ids);
    await queue.close();
  });
});

describe('visibility of concurrent producers', () => {
  it('delivers a key in id order when a producer with the lower id holds its transaction open after other writes', async () => {
    const queue = await freshQueue('visibility');
    const delivered: number[] = [];
    queue.work({ lease: 1_000, heartbeat: 100, pollInterval: 20, deliver: (job) => (delivered.push(job.id), 'succeeded') });
    const early = await pool.connect();
    const late = await pool.connect();
    try {
      // Producer A writes something else first (an older transaction id), then takes the lower id of key k.
      await early.query('BEGIN');
      await early.query('CREATE TEMP TABLE unrelated (x int)');
      await early.query('INSERT INTO unrelated VALUES (1)');
      const [lower] = await queue.enqueue([{ key: 'k', payload: { n: 1 } }], { client: early });
      // Producer B, same key: it waits for A's commit (one partition's producers take ids in commit order).
      await late.query('BEGIN');
      let higher: number | undefined;
      const lateEnqueue = queue.enqueue([{ key: 'k', payload: { n: 2 } }], { client: late }).then(([id]) => (higher = id));
      // Producer C, another partition, commits meanwhile with a higher id: delivered without waiting for A.
      const [other] = await queue.enqueue([{ key: keyOutside('k', 8), payload: { n: 3 } }]);
      expect(other).toBeGreaterThan(lower!);
      await waitFor('the other partition’s job', () => delivered.includes(other!));
      await sleep(100);
      expect(higher).toBeUndefined();
      expect(delivered).toEqual([other]);
      await early.query('COMMIT');
      await lateEnqueue;
      await late.query('COMMIT');
      expect(higher).toBeGreaterThan(lower!);
      await waitFor('both jobs of k', () => delivered.length === 3);
      expect(delivered).toEqual([other, lower, higher]);
    } finally {
      early.release();
      late.release();
      await queue.close();
    }
  });

  it('keeps a job whose attempt count was updated visible, ahead of the later jobs of its key', async () => {
    const queue = await freshQueue('updated');
    const log: { id: number; attempt: number }[] = [];
    const [first, second] = await queue.enqueue([
      { key: 'k', payload: { n: 1 } },
      { key: 'k', payload: { n: 2 } },
    ]);
    const worker = queue.work({
      lease: 1_000,
      heartbeat: 100,
      pollInterval: 20,
      retryDelay: 50,
      deliver: (job: PgJob<{ n: number }>, { attempt }) => {
        log.push({ id: job.id, attempt });
        return job.id === first && attempt === 1 ? 'failed' : 'succeeded';
      },
    });
    await waitFor('both jobs', async () => (await queue.counts()).succeeded === 2);
    expect(log).toEqual([
      { id: first, attempt: 1 },
      { id: first, attempt: 2 },
      { id: second, attempt: 1 },
    ]);
    const { rows } = await pool.query<{ id: string; attempts: number }>(
      `SELECT id, attempts FROM rx_barrier_jobs WHERE queue = 'updated' ORDER BY id`,
    );
    expect(rows.map((row) => row.attempts)).toEqual([2, 1]);
    await worker.close();
    await queue.close();
  });
});
