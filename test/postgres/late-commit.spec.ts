// results$ tells every outcome the table commits: also one whose commit went
// through just after the worker lost its partition (its lock connection cut
// while the commit waited on a row lock), which is done and never redelivered.
import pg from 'pg';
import { of } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgJobQueue } from '../../src/postgres/index.js';
import { sleep, usePostgres, waitFor } from './support/database.js';

const server = usePostgres();
let admin: pg.Client;
let blocker: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: server().url });
  blocker = new pg.Client({ connectionString: server().url });
  admin.on('error', () => {});
  blocker.on('error', () => {});
  await admin.connect();
  await blocker.connect();
});
afterAll(async () => {
  await blocker.end();
  await admin.end();
});

describe('PgWorker results$', () => {
  it('tells a result whose commit went through after the partition was lost', async () => {
    const queue = new PgJobQueue<{ n: number }>({ connectionString: server().url, queue: 'late-commit', partitions: 1 });
    await queue.migrate();
    const [id] = await queue.enqueue([{ key: 'k', payload: { n: 1 } }]);
    // Hold the job's row, so the worker's commit waits for it.
    await blocker.query('BEGIN');
    await blocker.query('SELECT * FROM rx_barrier_jobs WHERE id = $1 FOR UPDATE', [id]);
    let delivered = 0;
    const results: number[] = [];
    const worker = queue.work({
      lease: 1_000,
      deliver: () => {
        delivered++;
        return of('succeeded' as const);
      },
    });
    worker.results$.subscribe((result) => results.push(result.jobId));
    worker.errors$.subscribe(() => {});
    try {
      await waitFor('the delivery', () => delivered > 0);
      await sleep(200); // the commit now waits on the row lock
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'rxb:%'`);
      await sleep(300); // the worker drops its partition
      await blocker.query('COMMIT'); // the commit goes through: nobody bumped the epoch
      await waitFor('the row to be committed', async () => {
        const { rows } = await admin.query<{ state: string }>('SELECT state FROM rx_barrier_jobs WHERE id = $1', [id]);
        return rows[0]?.state === 'succeeded';
      });
      await waitFor('the result', () => results.length > 0, 5_000);
      expect(results).toEqual([id]);
      expect(delivered).toBe(1);
    } finally {
      await worker.close();
      await queue.close();
    }
  }, 60_000);
});
