// PgJobSource against a real server: reads in id order within the room it is
// given, leaves a throttled key's backlog in the table and reads it back in
// id order, and idles when it reads nothing.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgJobQueue, PgJobSource, tableName, type PgJob } from '../../src/postgres/index.js';
import { sleep, usePostgres, waitFor } from './support/database.js';

const server = usePostgres();
let pool: pg.Pool;

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: server().url, max: 4 });
  pool.on('error', () => {});
});
afterAll(async () => {
  await pool.end();
});

async function queueWith(name: string, jobs: { key: string; payload: number }[]): Promise<number[]> {
  const queue = new PgJobQueue<number>({ pool, queue: name, partitions: 1 });
  await queue.migrate();
  const ids = await queue.enqueue(jobs);
  await queue.close();
  return ids;
}

describe('PgJobSource', () => {
  it('reads no more runnable jobs than the high-water mark, in id order', async () => {
    const ids = await queueWith('room', Array.from({ length: 50 }, (_, n) => ({ key: `k${n}`, payload: n })));
    const source = new PgJobSource<number>(pool, tableName('rx_barrier_jobs'), 'room', { highWaterMark: 10, maxHeldPerKey: 5, batchSize: 100 });
    const read: PgJob<number>[] = [];
    const subscription = source.jobs(0).subscribe((job) => read.push(job));
    await waitFor('a first read', () => read.length > 0);
    await sleep(100);
    expect(read.map((job) => job.id)).toEqual(ids.slice(0, 10));
    for (const job of read.slice(0, 4)) source.jobDone(job);
    source.wake();
    await waitFor('the room refilled', () => read.length === 14);
    expect(read.map((job) => job.id)).toEqual(ids.slice(0, 14));
    subscription.unsubscribe();
    source.close();
  });

  it('keeps every key at maxHeldPerKey + 1 jobs in memory and reads the rest back in id order as they finish', async () => {
    const jobs = Array.from({ length: 30 }, (_, n) => ({ key: n % 3 === 0 ? 'other' : 'busy', payload: n }));
    const ids = await queueWith('throttle', jobs);
    const source = new PgJobSource<number>(pool, tableName('rx_barrier_jobs'), 'throttle', { highWaterMark: 1_000, maxHeldPerKey: 3, batchSize: 100 });
    const read: PgJob<number>[] = [];
    const subscription = source.jobs(0).subscribe((job) => read.push(job));
    await waitFor('a first read', () => read.length > 0);
    await sleep(100);
    const busy = (list: PgJob<number>[]) => list.filter((job) => job.key === 'busy');
    expect(busy(read)).toHaveLength(4);
    expect(read.filter((job) => job.key === 'other')).toHaveLength(4);
    expect(source.stats().throttledKeys).toBe(2);
    // The busy key's jobs finish one by one: each frees room for the next, read back in id order.
    for (let done = 0; done < 20; done++) {
      source.jobDone(busy(read)[done]!);
      await waitFor(`busy job ${done + 5}`, () => busy(read).length === Math.min(20, done + 5));
    }
    const busyIds = ids.filter((_, n) => jobs[n]!.key === 'busy');
    expect(busy(read).map((job) => job.id)).toEqual(busyIds);
    // The other key, none of whose jobs finished, still has its backlog in the table.
    expect(read.filter((job) => job.key === 'other')).toHaveLength(4);
    subscription.unsubscribe();
    source.close();
  });

  it('idles, without spinning, once its partitions are unsubscribed after a full read', async () => {
    await queueWith('idle', Array.from({ length: 20 }, (_, n) => ({ key: `k${n}`, payload: n })));
    const source = new PgJobSource<number>(pool, tableName('rx_barrier_jobs'), 'idle', { highWaterMark: 5, maxHeldPerKey: 5, batchSize: 5 });
    const read: PgJob<number>[] = [];
    const subscription = source.jobs(0).subscribe((job) => read.push(job));
    await waitFor('a full read', () => read.length === 5);
    subscription.unsubscribe();
    for (const job of read) source.jobDone(job);
    source.wake();
    // A read loop spinning without awaiting (as one did when its last read was
    // full and no partition was left) starves every timer: this never resolves.
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    await sleep(100);
    clearInterval(ticker);
    expect(ticks).toBeGreaterThan(5);
    source.close();
  });
});
