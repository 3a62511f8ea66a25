import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import pg, { type ClientBase, type Pool } from 'pg';
import { describeValue } from '../core/errors.js';
import { checkCount } from '../util/validate.js';
import { checkJobs, enqueueJobs, type NewPgJob } from './enqueue.js';
import { fnv1a32 } from './partition-hash.js';
import { ensurePartitions, migrate } from './schema.js';
import { tableName, type TableName } from './table-name.js';
import { resolveWorkOptions, type PgWorkOptions } from './work-options.js';
import { PgWorkerRunner, type PgWorker } from './worker.js';

/** Options of a {@link PgJobQueue}. */
export interface PgJobQueueOptions {
  /**
   * Where the database is; the queue makes its own pool (and ends it on `close()`). One of this and `pool`.
   * @default undefined
   * @example connectionString: process.env.DATABASE_URL
   */
  connectionString?: string;
  /**
   * Your pool: `close()` does not end it. Workers open their lock connection with its options.
   * @default undefined
   * @example pool: new pg.Pool({ connectionString })
   */
  pool?: Pool;
  /**
   * The queue's name: several queues share one table.
   * @default 'default'
   * @example queue: 'webhooks'
   */
  queue?: string;
  /**
   * The jobs table (`table` or `schema.table`); the partitions table is `<table>_partitions` beside it.
   * @default 'rx_barrier_jobs'
   * @example table: 'app.outbox'
   */
  table?: string;
  /**
   * Partitions of the queue: the unit of ownership. Fixed once the queue is used.
   * @default 64
   * @example partitions: 128
   */
  partitions?: number;
}

/** The defaults of {@link PgJobQueueOptions}. */
export const PG_QUEUE_DEFAULTS = Object.freeze({ queue: 'default', table: 'rx_barrier_jobs', partitions: 64 });

/**
 * A durable queue of jobs in a PostgreSQL table, delivered in id order per
 * key with hold-on-failure by any number of worker processes
 * (docs/durable.md).
 *
 * @example
 * const queue = new PgJobQueue<Webhook>({ connectionString: process.env.DATABASE_URL });
 * await queue.migrate();
 * await queue.enqueue([{ key: 'user-1', payload: { event: 'signup' } }]);
 * const worker = queue.work({ deliver: async (job, { signal }) => ((await post(job.payload, signal)).ok ? 'succeeded' : 'failed') });
 */
export class PgJobQueue<P = unknown> {
  /** The queue's name. */
  readonly queue: string;
  /** Its partition count. */
  readonly partitions: number;
  private readonly db: Pool;
  private readonly ownPool: boolean;
  private readonly table: TableName;
  private readonly channel: string;
  private readonly connectionConfig: pg.ClientConfig;
  private readonly workers = new Set<PgWorkerRunner<P>>();
  private partitionsReady: Promise<void> | undefined;
  private closed = false;

  constructor(options: PgJobQueueOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError(`PgJobQueue options must be an object, got ${describeValue(options)}`);
    const { connectionString, pool, queue = PG_QUEUE_DEFAULTS.queue, partitions = PG_QUEUE_DEFAULTS.partitions } = options;
    if ((connectionString === undefined) === (pool === undefined)) {
      throw new TypeError(`PgJobQueue takes one of connectionString and pool, got ${connectionString === undefined ? 'neither' : 'both'}`);
    }
    if (connectionString !== undefined && (typeof connectionString !== 'string' || connectionString === '')) {
      throw new TypeError(`option connectionString must be a non-empty string, got ${describeValue(connectionString)}`);
    }
    if (pool !== undefined && (typeof pool !== 'object' || pool === null || typeof (pool as Pool).query !== 'function')) {
      throw new TypeError(`option pool must be a pg Pool, got ${describeValue(pool)}`);
    }
    if (typeof queue !== 'string' || queue === '' || queue.includes('\u0000')) {
      throw new TypeError(`option queue must be a non-empty string, got ${describeValue(queue)}`);
    }
    checkCount('option partitions', partitions, 1, false);
    if (partitions > 65_536) throw new RangeError(`option partitions must be at most 65536, got ${partitions}`);
    this.table = tableName(options.table ?? PG_QUEUE_DEFAULTS.table);
    this.queue = queue;
    this.partitions = partitions;
    this.channel = `rxb_${fnv1a32(`${this.table.name}\u0000${queue}`).toString(16)}`;
    if (pool !== undefined) {
      this.db = pool;
      this.ownPool = false;
      this.connectionConfig = { ...(pool.options as pg.ClientConfig) };
    } else {
      this.connectionConfig = { connectionString: connectionString! };
      this.db = new pg.Pool({ ...this.connectionConfig, max: 8 });
      // A server going away (57P01) errors idle clients: a handled event, never a crash.
      this.db.on('error', () => {});
      this.ownPool = true;
    }
  }

  /**
   * Creates the tables and indexes if missing. Idempotent, safe from several processes at once.
   *
   * @example
   * await queue.migrate(); // at every start, from every process
   */
  async migrate(): Promise<void> {
    await migrate(this.db, this.table);
  }

  /**
   * Inserts jobs in the order given, all or nothing, and returns their ids
   * ascending. With `client`, inside the caller's transaction: the jobs
   * exist if and only if it commits (the transactional outbox). Producers of
   * one partition wait for each other's commit (docs/durable.md, "Visibility").
   *
   * @example
   * await client.query('BEGIN');
   * await client.query('INSERT INTO orders ...');
   * await queue.enqueue([{ key: order.customerId, payload: order }], { client });
   * await client.query('COMMIT');
   */
  async enqueue(jobs: readonly NewPgJob<P>[], options: { client?: ClientBase } = {}): Promise<number[]> {
    if (typeof options !== 'object' || options === null) throw new TypeError(`enqueue options must be an object, got ${describeValue(options)}`);
    if (this.closed) throw new Error('enqueue after close()');
    const { client } = options;
    if (client !== undefined && (typeof client !== 'object' || client === null || typeof client.query !== 'function')) {
      throw new TypeError(`option client must be a pg client, got ${describeValue(client)}`);
    }
    const target = { table: this.table, queue: this.queue, partitions: this.partitions, channel: this.channel };
    // Checked before anything is sent, so bad input costs no round trip either.
    const checked = checkJobs(jobs, this.partitions);
    if (checked.keys.length === 0) return [];
    await this.ready();
    return enqueueJobs(this.db, target, checked, client);
  }

  /**
   * How many jobs of the queue are in each state.
   *
   * @example
   * const { pending, aborted } = await queue.counts();
   */
  async counts(): Promise<{ pending: number; succeeded: number; aborted: number; filtered: number }> {
    const { rows } = await this.db.query<{ state: 'pending' | 'succeeded' | 'aborted' | 'filtered'; n: number }>(
      `SELECT state, count(*)::int AS n FROM ${this.table.sql} WHERE queue = $1 GROUP BY state`,
      [this.queue],
    );
    const counts = { pending: 0, succeeded: 0, aborted: 0, filtered: 0 };
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }

  /**
   * Starts a worker at once: it takes its share of the partitions and
   * delivers their jobs. Options are checked here (a TypeError/RangeError
   * naming the value).
   *
   * @example
   * const worker = queue.work({ deliver, concurrency: 32, maxAttempts: 8, lease: 5_000 });
   */
  work(options: PgWorkOptions<P>): PgWorker<P> {
    if (this.closed) throw new Error('work after close()');
    const resolved = resolveWorkOptions(options, `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`);
    const worker = new PgWorkerRunner<P>(
      {
        db: this.db,
        table: this.table,
        queue: this.queue,
        partitions: this.partitions,
        channel: this.channel,
        connect: (applicationName) => new pg.Client({ ...this.connectionConfig, application_name: applicationName }),
      },
      resolved,
    );
    this.workers.add(worker);
    void worker.closed.then(() => this.workers.delete(worker));
    worker.start().catch((error: unknown) => worker.fail(error));
    return worker;
  }

  /**
   * Closes the workers this queue started (gracefully), then ends the pool if the queue made it.
   *
   * @example
   * process.once('SIGTERM', () => void queue.close());
   */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.workers].map((worker) => worker.close()));
    if (this.ownPool) await this.db.end().catch(() => {});
  }

  private ready(): Promise<void> {
    this.partitionsReady ??= ensurePartitions(this.db, this.table, this.queue, this.partitions).catch((error: unknown) => {
      this.partitionsReady = undefined;
      throw error;
    });
    return this.partitionsReady;
  }
}
