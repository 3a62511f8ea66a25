// Test 3 of issue 13: a worker whose lock connection is cut
// (pg_terminate_backend) stops delivering at once, well within its lease;
// another takes its partitions over after the lease; and a commit carrying a
// stale epoch (a zombie's late commit) is refused and changes nothing.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgJobQueue, PgOutcomeCommitter, tableName } from '../../src/postgres/index.js';
import { sleep, usePostgres, waitFor } from './support/database.js';
import { orderViolations, startReceiver, type Receiver } from './support/receiver.js';
import { killAll, spawnWorker, type WorkerProcess } from './support/worker-processes.js';

const PARTITIONS = 8;
const LEASE = 3_000;
const HEARTBEAT = 500;

const server = usePostgres();
let receiver: Receiver;
let pool: pg.Pool;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  // Slow enough that both workers are busy when the connection is cut.
  receiver = await startReceiver(() => ({ outcome: 'succeeded', delay: 10 }));
  pool = new pg.Pool({ connectionString: server().url, max: 4 });
  pool.on('error', () => {});
});
afterAll(async () => {
  await killAll(workers);
  await receiver.close();
  await pool.end();
});

describe('a worker cut off from the database', () => {
  it('stops delivering at once; another takes its partitions over only after the lease', async () => {
    const queue = new PgJobQueue<{ n: number }>({ pool, queue: 'cut-off', partitions: PARTITIONS });
    await queue.migrate();
    await queue.enqueue(Array.from({ length: 8_000 }, (_, n) => ({ key: `key-${n % 200}`, payload: { n } })));
    for (const name of ['a', 'b']) {
      workers.push(
        spawnWorker({
          url: server().url,
          queue: 'cut-off',
          partitions: PARTITIONS,
          receiver: receiver.url,
          workerId: name,
          lease: LEASE,
          heartbeat: HEARTBEAT,
          timeout: 10_000,
          maxAttempts: 5,
          concurrency: 16,
        }),
      );
    }
    const [a, b] = workers as [WorkerProcess, WorkerProcess];
    await waitFor('both workers delivering', () => a.partitions.length > 0 && b.partitions.length > 0 && receiver.log.some((e) => e.worker === 'a'), 60_000);
    const cut = new Set(a.partitions);
    const { rows } = await pool.query<{ terminated: boolean }>(
      `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE application_name LIKE 'rxb:%:a'`,
    );
    expect(rows).toEqual([{ terminated: true }]);
    const cutAt = Date.now();
    // The premise: a's partitions still had work when it was cut off.
    const left = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM rx_barrier_jobs WHERE queue = 'cut-off' AND state = 'pending' AND partition = ANY($1::int[])`,
      [[...cut]],
    );
    expect(left.rows[0]!.n).toBeGreaterThan(100);
    await waitFor('every job terminal', async () => (await queue.counts()).pending === 0, 120_000);

    // a stopped at once: nothing from it after a moment's grace (requests already on the wire), until the lease is over.
    const fromA = receiver.log.filter((e) => e.worker === 'a' && e.at > cutAt + 250 && e.at < cutAt + LEASE);
    expect(fromA).toEqual([]);
    // b took a's partitions over, after the lease.
    const takenOver = receiver.log.filter((e) => e.worker === 'b' && cut.has(e.partition) && e.at > cutAt);
    expect(takenOver.length).toBeGreaterThan(0);
    expect(takenOver[0]!.at - cutAt).toBeGreaterThanOrEqual(LEASE);
    console.log(`cut-off: b delivered from a's partitions ${takenOver[0]!.at - cutAt} ms after the cut (lease ${LEASE} ms)`);
    expect(orderViolations(receiver.log)).toEqual([]);
    expect(a.process.exitCode).toBeNull();
    await Promise.all(workers.map((w) => w.close()));
    await queue.close();
  }, 180_000);

  it('refuses a commit whose epoch is older than the partition’s, and changes nothing', async () => {
    const queue = new PgJobQueue<{ n: number }>({ pool, queue: 'zombie', partitions: 2 });
    await queue.migrate();
    const [id] = await queue.enqueue([{ key: 'k', payload: { n: 1 } }]);
    const table = tableName('rx_barrier_jobs');
    const { rows } = await pool.query<{ partition: number; epoch: string }>(
      `SELECT j.partition, p.epoch::text AS epoch FROM rx_barrier_jobs j JOIN rx_barrier_jobs_partitions p USING (queue, partition) WHERE j.id = $1`,
      [id],
    );
    const { partition, epoch } = rows[0]!;
    // A takeover bumps the epoch; the zombie still commits under the old one.
    await pool.query(`UPDATE rx_barrier_jobs_partitions SET epoch = epoch + 1 WHERE queue = 'zombie' AND partition = $1`, [partition]);
    const committer = new PgOutcomeCommitter(pool, table, 'zombie');
    expect(await committer.commit({ id: id!, partition, epoch, state: 'succeeded', attempts: 1 })).toBe(false);
    expect(await committer.commit({ id: id!, partition, epoch, state: 'failed', attempts: 1 })).toBe(false);
    const after = await pool.query<{ state: string; attempts: number }>(`SELECT state, attempts FROM rx_barrier_jobs WHERE id = $1`, [id]);
    expect(after.rows).toEqual([{ state: 'pending', attempts: 0 }]);
    // Under the current epoch the same commit goes through.
    expect(await committer.commit({ id: id!, partition, epoch: String(Number(epoch) + 1), state: 'succeeded', attempts: 1 })).toBe(true);
    committer.close();
    await queue.close();
  });

  it('a takeover racing a commit: the commit either lands before the bump or is refused', async () => {
    const queue = new PgJobQueue<{ n: number }>({ pool, queue: 'race', partitions: 1 });
    await queue.migrate();
    const ids = await queue.enqueue(Array.from({ length: 200 }, (_, n) => ({ key: `k${n}`, payload: { n } })));
    const committer = new PgOutcomeCommitter(pool, tableName('rx_barrier_jobs'), 'race');
    const bumper = await pool.connect();
    try {
      // The bump holds the partition row while commits queue behind it.
      await bumper.query('BEGIN');
      await bumper.query(`UPDATE rx_barrier_jobs_partitions SET epoch = epoch + 1 WHERE queue = 'race' AND partition = 0`);
      const pending = ids.map((id) => committer.commit({ id, partition: 0, epoch: '0', state: 'succeeded', attempts: 1 }));
      await sleep(200);
      await bumper.query('COMMIT');
      expect(await Promise.all(pending)).toEqual(ids.map(() => false));
    } finally {
      bumper.release();
    }
    expect((await queue.counts()).pending).toBe(200);
    committer.close();
    await queue.close();
  });
});
