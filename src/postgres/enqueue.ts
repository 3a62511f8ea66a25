import type { ClientBase, Pool } from 'pg';
import { describeValue } from '../core/errors.js';
import { lockNamespace, partitionOf } from './partition-hash.js';
import type { TableName } from './table-name.js';

/** One job to enqueue. */
export interface NewPgJob<P> {
  key: string;
  payload: P;
}

/** Where a queue's jobs go: what `enqueue` needs to know. */
export interface EnqueueTarget {
  readonly table: TableName;
  readonly queue: string;
  readonly partitions: number;
  readonly channel: string;
}

/** Jobs checked by {@link checkJobs}: keys, their partitions, payloads as JSON. */
export interface CheckedJobs {
  keys: string[];
  partitions: number[];
  payloads: string[];
}

/**
 * Checks every job before anything is sent and returns the keys' partitions
 * and the payloads as JSON. Throws a TypeError or RangeError naming the job
 * and the value: nothing is inserted then.
 */
export function checkJobs<P>(jobs: unknown, partitions: number): CheckedJobs {
  if (!Array.isArray(jobs)) throw new TypeError(`enqueue takes an array of { key, payload }, got ${describeValue(jobs)}`);
  const keys: string[] = [];
  const parts: number[] = [];
  const payloads: string[] = [];
  for (let i = 0; i < jobs.length; i++) {
    const job: unknown = jobs[i];
    if (typeof job !== 'object' || job === null) throw new TypeError(`job ${i} must be an object { key, payload }, got ${describeValue(job)}`);
    const { key, payload } = job as NewPgJob<P>;
    if (typeof key !== 'string') throw new TypeError(`job ${i}: key must be a string, got ${describeValue(key)}`);
    if (key === '' || key.includes('\u0000')) {
      throw new RangeError(`job ${i}: key must be a non-empty string without NUL characters, got ${describeValue(key)}`);
    }
    let json: string | undefined;
    try {
      json = JSON.stringify(payload);
    } catch (error) {
      throw new TypeError(`job ${i} (key ${JSON.stringify(key)}): payload is not JSON-serialisable (${String(error)}), got ${describeValue(payload)}`);
    }
    if (json === undefined) {
      throw new TypeError(`job ${i} (key ${JSON.stringify(key)}): payload is not JSON-serialisable, got ${describeValue(payload)}`);
    }
    // jsonb refuses \u0000 in strings: say so here rather than fail the batch in the server.
    if (json.includes('\\u0000')) {
      throw new RangeError(`job ${i} (key ${JSON.stringify(key)}): payload holds a NUL character, which jsonb cannot store`);
    }
    keys.push(key);
    parts.push(partitionOf(key, partitions));
    payloads.push(json);
  }
  return { keys, partitions: parts, payloads };
}

/**
 * Inserts jobs in the order given with one statement and wakes the workers.
 * The statement first takes a transaction-level advisory lock on each
 * partition it writes to (in ascending order), then the ids: producers of one
 * partition take ids in commit order, so a reader never sees a higher id of a
 * partition before a lower one commits (docs/durable.md, "Visibility").
 * With `client`, runs in the caller's transaction (the lock is held until it
 * ends; the NOTIFY is sent when it commits).
 */
export async function enqueueJobs(
  db: Pool,
  target: EnqueueTarget,
  checked: CheckedJobs,
  client: ClientBase | undefined,
): Promise<number[]> {
  if (checked.keys.length === 0) return [];
  const locked = [...new Set(checked.partitions)].sort((a, b) => a - b);
  const runner = client ?? db;
  const { rows } = await runner.query<{ id: string }>(
    `WITH locked AS MATERIALIZED (
       SELECT count(*) AS n FROM (SELECT pg_advisory_xact_lock($2, p)::text AS l FROM unnest($3::int[]) AS p) AS locks
     )
     INSERT INTO ${target.table.sql} (queue, key, partition, payload)
     SELECT $1, j.key, j.partition, j.payload::jsonb
     FROM locked, unnest($4::text[], $5::int[], $6::text[]) WITH ORDINALITY AS j(key, partition, payload, ord)
     WHERE locked.n >= 0
     ORDER BY j.ord
     RETURNING id`,
    [target.queue, lockNamespace('enqueue', target.table.name, target.queue), locked, checked.keys, checked.partitions, checked.payloads],
  );
  await runner.query('SELECT pg_notify($1, $2)', [target.channel, '']);
  return rows.map((row) => Number(row.id)).sort((a, b) => a - b);
}
