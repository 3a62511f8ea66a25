import type { Pool } from 'pg';
import { lockNamespace } from './partition-hash.js';
import type { TableName } from './table-name.js';

/** The job states a row can hold: `pending` until one of the three terminal ones. */
export const ROW_STATES = Object.freeze(['pending', 'succeeded', 'aborted', 'filtered'] as const);

/**
 * Creates the jobs table, its index of pending jobs and the partitions table
 * (epochs and hand-over state), if they do not exist. Idempotent and safe from
 * several processes at once: one transaction under an advisory lock.
 */
export async function migrate(pool: Pool, table: TableName): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, 0)', [lockNamespace('migrate', table.name, '')]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${table.sql} (
        id bigserial PRIMARY KEY,
        queue text NOT NULL,
        key text NOT NULL,
        partition integer NOT NULL,
        payload jsonb NOT NULL,
        state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded', 'aborted', 'filtered')),
        attempts integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        last_error text
      )`);
    await client.query(
      `CREATE INDEX IF NOT EXISTS "${table.bare}_pending" ON ${table.sql} (queue, partition, id) WHERE state = 'pending'`,
    );
    await client.query(
      `CREATE INDEX IF NOT EXISTS "${table.bare}_pending_key" ON ${table.sql} (queue, partition, key, id) WHERE state = 'pending'`,
    );
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${table.partitionsSql} (
        queue text NOT NULL,
        partition integer NOT NULL,
        partitions integer NOT NULL,
        epoch bigint NOT NULL DEFAULT 0,
        owner text,
        released boolean NOT NULL DEFAULT true,
        PRIMARY KEY (queue, partition)
      )`);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Creates the queue's partition rows on first use and checks that the queue
 * was not set up with another partition count: that would move keys between
 * partitions and break their order.
 */
export async function ensurePartitions(pool: Pool, table: TableName, queue: string, partitions: number): Promise<void> {
  const client = await pool.connect();
  let existing: number | undefined;
  try {
    await client.query('BEGIN');
    // One queue's first users (with different counts, by mistake) do not mix their rows.
    await client.query('SELECT pg_advisory_xact_lock($1, 1)', [lockNamespace('migrate', table.name, queue)]);
    const { rows } = await client.query<{ partitions: number }>(
      `SELECT partitions FROM ${table.partitionsSql} WHERE queue = $1 LIMIT 1`,
      [queue],
    );
    existing = rows[0]?.partitions;
    if (existing === undefined) {
      await client.query(
        `INSERT INTO ${table.partitionsSql} (queue, partition, partitions)
         SELECT $1, p, $2 FROM generate_series(0, $2 - 1) AS p ON CONFLICT DO NOTHING`,
        [queue, partitions],
      );
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
  if (existing !== undefined && existing !== partitions) {
    throw new RangeError(
      `queue ${JSON.stringify(queue)} of table ${table.name} has ${existing} partitions, got option partitions ${partitions}: ` +
        'the count is fixed once a queue is used',
    );
  }
}
