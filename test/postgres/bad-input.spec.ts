// Test 7 of issue 13: bad input is a TypeError/RangeError naming the value,
// and nothing is inserted (enqueue is one statement, all or nothing).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgJobQueue } from '../../src/postgres/index.js';
import { usePostgres } from './support/database.js';

const server = usePostgres();
let pool: pg.Pool;
let queue: PgJobQueue<unknown>;

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: server().url, max: 4 });
  pool.on('error', () => {});
  queue = new PgJobQueue({ pool, queue: 'bad-input', partitions: 8 });
  await queue.migrate();
});
afterAll(async () => {
  await queue.close();
  await pool.end();
});

const circular: Record<string, unknown> = {};
circular['self'] = circular;

describe('enqueue refuses bad jobs and inserts nothing', () => {
  it.each([
    ['a number key', { key: 42, payload: {} }, TypeError, '42'],
    ['an undefined key', { payload: {} }, TypeError, 'undefined'],
    ['an empty key', { key: '', payload: {} }, RangeError, '""'],
    ['a key with a NUL character', { key: 'a\u0000b', payload: {} }, RangeError, 'NUL'],
    ['a bigint payload', { key: 'k', payload: 10n }, TypeError, '10n'],
    ['a circular payload', { key: 'k', payload: circular }, TypeError, 'JSON'],
    ['an undefined payload', { key: 'k', payload: undefined }, TypeError, 'undefined'],
    ['a function payload', { key: 'k', payload: () => 1 }, TypeError, '=> 1'],
    ['a payload with a NUL character', { key: 'k', payload: { text: 'a\u0000' } }, RangeError, 'NUL'],
    ['a job that is not an object', 'job', TypeError, '"job"'],
  ])('%s, third of a batch: a typed error naming the value, no row inserted', async (_, bad, type, named) => {
    const jobs = [{ key: 'ok-1', payload: { n: 1 } }, { key: 'ok-2', payload: { n: 2 } }, bad, { key: 'ok-3', payload: {} }];
    const error = await queue.enqueue(jobs as never).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toContain(named);
    expect((error as Error).message).toContain('job 2');
    expect(await queue.counts()).toEqual({ pending: 0, succeeded: 0, aborted: 0, filtered: 0 });
  });

  it('refuses a batch that is not an array', async () => {
    await expect(queue.enqueue({ key: 'k', payload: 1 } as never)).rejects.toThrow(TypeError);
    expect(await queue.counts()).toEqual({ pending: 0, succeeded: 0, aborted: 0, filtered: 0 });
  });
});

describe('bad options are typed errors naming the value', () => {
  it.each([
    ['partitions 0', { partitions: 0 }, RangeError, '0'],
    ['partitions 1.5', { partitions: 1.5 }, RangeError, '1.5'],
    ['partitions as a string', { partitions: '8' }, TypeError, '"8"'],
    ['a table name with a space', { table: 'bad name' }, RangeError, '"bad name"'],
    ['a table name with three parts', { table: 'a.b.c' }, RangeError, '"a.b.c"'],
    ['a table name with a quote', { table: 'jobs"; DROP TABLE x; --' }, RangeError, 'DROP'],
    ['an empty queue name', { queue: '' }, TypeError, '""'],
  ])('PgJobQueue with %s', (_, options, type, named) => {
    expect(() => new PgJobQueue({ connectionString: server().url, ...(options as object) })).toThrow(type);
    expect(() => new PgJobQueue({ connectionString: server().url, ...(options as object) })).toThrow(named);
  });

  it('PgJobQueue with neither or both of connectionString and pool', () => {
    expect(() => new PgJobQueue({})).toThrow(/neither/);
    expect(() => new PgJobQueue({ connectionString: server().url, pool })).toThrow(/both/);
  });

  it.each([
    ['a lease shorter than the heartbeat', { lease: 100, heartbeat: 200 }, RangeError, '100'],
    ['a lease equal to the heartbeat', { lease: 200, heartbeat: 200 }, RangeError, '200'],
    ['concurrency 0', { concurrency: 0 }, RangeError, '0'],
    ['maxAttempts 0', { maxAttempts: 0 }, RangeError, 'maxAttempts'],
    ['a deliver that is not a function', { deliver: 'post' }, TypeError, '"post"'],
    ['batchSize -1', { batchSize: -1 }, RangeError, '-1'],
  ])('work with %s, and no worker starts', async (_, options, type, named) => {
    const work = () => queue.work({ deliver: () => 'succeeded', ...(options as object) });
    expect(work).toThrow(type);
    expect(work).toThrow(named);
    const { rows } = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'rxb:%'`);
    expect(rows).toHaveLength(0);
  });

  it('a queue used with another partition count: a RangeError naming both counts, nothing inserted', async () => {
    await queue.enqueue([{ key: 'k', payload: 1 }]);
    const other = new PgJobQueue({ pool, queue: 'bad-input', partitions: 16 });
    await expect(other.enqueue([{ key: 'k', payload: 2 }])).rejects.toThrow(/has 8 partitions, got option partitions 16/);
    expect((await queue.counts()).pending).toBe(1);
    await other.close();
    // The refused queue left no partition rows behind: a new queue object with the right count still works.
    const again = new PgJobQueue({ pool, queue: 'bad-input', partitions: 8 });
    await again.enqueue([{ key: 'k', payload: 3 }]);
    expect((await queue.counts()).pending).toBe(2);
    await again.close();
  });
});
