import type { Pool } from 'pg';
import { Observable } from 'rxjs';
import { jobFromRow, type PgJob, type PgJobRow } from './pg-job.js';
import type { TableName } from './table-name.js';

/** Options of a {@link PgJobSource}. */
export interface PgJobSourceOptions {
  /** Runnable jobs in memory over all partitions (jobs of blocked keys excluded). */
  highWaterMark: number;
  /** Jobs of one key in memory besides its running (or failed) one. */
  maxHeldPerKey: number;
  /** Most jobs read from one partition in one read. */
  batchSize: number;
}

/** What the source knows of one key of a partition. */
interface KeyCount {
  /** Jobs of the key in memory (pushed and not yet terminal). */
  count: number;
  /** The id of the key's failed job, while one holds the key. */
  blockedBy: number | undefined;
}

/** The reading state of one partition, from `jobs(partition)` subscribed until unsubscribed. */
interface PartitionReading<P> {
  readonly partition: number;
  readonly push: (job: PgJob<P>) => void;
  /** The highest id read (pushed, or left in the table for a throttled key). */
  cursor: number;
  readonly keys: Map<string, KeyCount>;
  /** Keys at their limit: their jobs from this id up to `cursor` are still in the table. */
  readonly throttled: Map<string, number>;
  readonly inMemory: Set<number>;
  /** Set by `stopReading`: the partition is being handed over. */
  stopped: boolean;
}

/**
 * Reads pending jobs from the table for the partitions subscribed through
 * `jobs(partition)`, in id order per partition, with one query for all of
 * them, as long as there is room: at most `highWaterMark` runnable jobs in
 * memory (jobs of keys blocked behind a failed job do not count), at most
 * `maxHeldPerKey + 1` of any one key. What does not fit stays in the table
 * and is read again, in id order, when there is room (a throttled key from
 * where it was cut, before any later job of it). Reads run one at a time; call
 * `wake()` when jobs may have arrived (NOTIFY, a poll), `jobDone` when a
 * job is terminal and `jobFailed` when a failed attempt was committed.
 *
 * @example
 * const source = new PgJobSource(pool, tableName('rx_barrier_jobs'), 'default', { highWaterMark: 1_000, maxHeldPerKey: 100, batchSize: 500 });
 * source.jobs(7).pipe(orderedDelivery(store, options)).subscribe((result) => source.jobDone(result.job));
 */
export class PgJobSource<P> {
  private readonly readings = new Map<number, PartitionReading<P>>();
  private total = 0;
  private blocked = 0;
  private reading = false;
  private again = false;
  /** Whether the last read filled a partition's limit: more may be waiting. */
  private more = false;
  private catchUpDue = false;
  private wakeScheduled = false;
  private closed = false;
  /** The last read error, until a read succeeds. */
  lastError: unknown;

  constructor(
    private readonly db: Pool,
    private readonly table: TableName,
    private readonly queue: string,
    private readonly options: PgJobSourceOptions,
  ) {}

  /** Runnable jobs in memory: read, not terminal, not of a blocked key. */
  get runnable(): number {
    return this.total - this.blocked;
  }

  /** What is in memory: every job read and not terminal, and those of blocked keys. */
  stats(): { inMemory: number; blocked: number; throttledKeys: number } {
    let throttledKeys = 0;
    for (const reading of this.readings.values()) throttledKeys += reading.throttled.size;
    return { inMemory: this.total, blocked: this.blocked, throttledKeys };
  }

  /** The jobs of one partition, in id order per key; reading stops when unsubscribed. */
  jobs(partition: number): Observable<PgJob<P>> {
    return new Observable<PgJob<P>>((subscriber) => {
      if (this.readings.has(partition)) {
        subscriber.error(new Error(`partition ${partition} is read already`));
        return undefined;
      }
      const reading: PartitionReading<P> = {
        partition,
        push: (job) => subscriber.next(job),
        cursor: 0,
        keys: new Map(),
        throttled: new Map(),
        inMemory: new Set(),
        stopped: false,
      };
      this.readings.set(partition, reading);
      this.wake();
      return () => this.forget(reading);
    });
  }

  /** A job's outcome is terminal (and committed): it leaves memory. */
  jobDone(job: PgJob<P>): void {
    const reading = this.readings.get(job.partition);
    if (reading === undefined || !reading.inMemory.delete(job.id)) return;
    const count = reading.keys.get(job.key)!;
    count.count--;
    this.total--;
    if (count.blockedBy !== undefined) {
      this.blocked--;
      if (count.blockedBy === job.id) {
        count.blockedBy = undefined;
        this.blocked -= count.count;
      }
    }
    if (reading.throttled.has(job.key)) this.catchUpDue = true;
    else if (count.count === 0) reading.keys.delete(job.key);
    if (this.catchUpDue || this.more) this.wakeSoon();
  }

  /** A failed attempt of the job was committed: its key is blocked until the job is terminal. */
  jobFailed(job: PgJob<P>): void {
    const count = this.readings.get(job.partition)?.keys.get(job.key);
    if (count === undefined || count.blockedBy !== undefined) return;
    count.blockedBy = job.id;
    this.blocked += count.count;
  }

  /** Reads nothing more for the partition (a hand-over); its jobs in memory stay until unsubscribed. */
  stopReading(partition: number): void {
    const reading = this.readings.get(partition);
    if (reading !== undefined) reading.stopped = true;
  }

  /** Reads now (or right after the read in progress). */
  wake(): void {
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    void this.readLoop();
  }

  /** Stops reading for good. */
  close(): void {
    this.closed = true;
  }

  private wakeSoon(): void {
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.wake();
    });
  }

  private forget(reading: PartitionReading<P>): void {
    if (this.readings.get(reading.partition) !== reading) return;
    this.readings.delete(reading.partition);
    for (const count of reading.keys.values()) {
      this.total -= count.count;
      if (count.blockedBy !== undefined) this.blocked -= count.count;
    }
  }

  private async readLoop(): Promise<void> {
    this.reading = true;
    try {
      do {
        this.again = false;
        if (this.catchUpDue) await this.catchUp();
        await this.readNew();
      } while ((this.again || this.more) && !this.closed && this.runnable < this.options.highWaterMark);
      this.lastError = undefined;
    } catch (error) {
      // The server is away or restarting: the next poll tries again.
      this.lastError = error;
    } finally {
      this.reading = false;
    }
  }

  private async readNew(): Promise<void> {
    const room = this.options.highWaterMark - this.runnable;
    const readings = [...this.readings.values()].filter((reading) => !reading.stopped);
    // Full: leave `more` as it is, so the jobs finishing make room and wake the next read.
    if (room <= 0 || readings.length === 0) return;
    this.more = false;
    const limit = Math.max(1, Math.min(this.options.batchSize, Math.ceil(room / readings.length)));
    // Throttled keys' rows are left out in the query: a blocked key's backlog
    // must not eat the limit of its partition's reads (they come back by catchUp).
    const throttled = readings.flatMap((r) => [...r.throttled.keys()]);
    const { rows } = await this.db.query<PgJobRow>(
      `SELECT j.id, j.key, j.payload, j.attempts, j.partition
       FROM unnest($2::int[], $3::bigint[]) AS c(partition, after)
       CROSS JOIN LATERAL (
         SELECT id, key, payload, attempts, partition FROM ${this.table.sql}
         WHERE queue = $1 AND partition = c.partition AND state = 'pending' AND id > c.after AND key <> ALL($5::text[])
         ORDER BY id LIMIT $4
       ) AS j`,
      [this.queue, readings.map((r) => r.partition), readings.map((r) => r.cursor), limit, throttled],
    );
    const byPartition = groupRows(rows, (row) => row.partition);
    for (const reading of readings) {
      const found = byPartition.get(reading.partition) ?? [];
      if (found.length >= limit) this.more = true;
      // Unsubscribed meanwhile (hand-over, lease lost): its jobs stay in the table.
      if (this.readings.get(reading.partition) !== reading) continue;
      for (const row of found) {
        const job = jobFromRow<P>(row);
        const count = reading.keys.get(job.key);
        if (count?.blockedBy === undefined && this.runnable >= this.options.highWaterMark) {
          this.more = true;
          break;
        }
        reading.cursor = job.id;
        if (reading.inMemory.has(job.id) || reading.throttled.has(job.key)) continue;
        if (count !== undefined && count.count > this.options.maxHeldPerKey) {
          reading.throttled.set(job.key, job.id);
          continue;
        }
        this.push(reading, job, count);
        // The push ran the pipeline synchronously, which may have unsubscribed it.
        if (this.readings.get(reading.partition) !== reading) break;
      }
    }
  }

  /** Reads back the jobs of throttled keys that have room again, from where they were cut up to the cursor. */
  private async catchUp(): Promise<void> {
    this.catchUpDue = false;
    const wanted: { reading: PartitionReading<P>; key: string; first: number; last: number; limit: number }[] = [];
    for (const reading of this.readings.values()) {
      if (reading.stopped) continue;
      for (const [key, first] of reading.throttled) {
        const limit = this.options.maxHeldPerKey + 1 - (reading.keys.get(key)?.count ?? 0);
        if (limit > 0) wanted.push({ reading, key, first, last: reading.cursor, limit });
      }
    }
    if (wanted.length === 0) return;
    const { rows } = await this.db.query<PgJobRow>(
      `SELECT j.id, j.key, j.payload, j.attempts, j.partition
       FROM unnest($2::int[], $3::text[], $4::bigint[], $5::bigint[], $6::int[]) AS c(partition, key, first, last, lim)
       CROSS JOIN LATERAL (
         SELECT id, key, payload, attempts, partition FROM ${this.table.sql}
         WHERE queue = $1 AND partition = c.partition AND key = c.key AND state = 'pending' AND id >= c.first AND id <= c.last
         ORDER BY id LIMIT c.lim
       ) AS j`,
      [
        this.queue,
        wanted.map((w) => w.reading.partition),
        wanted.map((w) => w.key),
        wanted.map((w) => w.first),
        wanted.map((w) => w.last),
        wanted.map((w) => w.limit),
      ],
    );
    const byKey = groupRows(rows, (row) => `${row.partition}\u0000${row.key}`);
    for (const { reading, key, limit } of wanted) {
      if (this.readings.get(reading.partition) !== reading || !reading.throttled.has(key)) continue;
      const found = byKey.get(`${reading.partition}\u0000${key}`) ?? [];
      for (const row of found) {
        const job = jobFromRow<P>(row);
        if (!reading.inMemory.has(job.id)) this.push(reading, job, reading.keys.get(key));
        if (this.readings.get(reading.partition) !== reading) break;
      }
      // Fewer than asked: everything up to the cursor is in memory, so later
      // jobs of the key can come with the partition's next reads.
      if (found.length < limit) reading.throttled.delete(key);
      else reading.throttled.set(key, Number(found[found.length - 1]!.id) + 1);
    }
  }

  private push(reading: PartitionReading<P>, job: PgJob<P>, count: KeyCount | undefined): void {
    if (count === undefined) {
      count = { count: 0, blockedBy: undefined };
      reading.keys.set(job.key, count);
    }
    count.count++;
    this.total++;
    if (count.blockedBy !== undefined) this.blocked++;
    reading.inMemory.add(job.id);
    reading.push(job);
  }
}

function groupRows<K>(rows: PgJobRow[], keyOf: (row: PgJobRow) => K): Map<K, PgJobRow[]> {
  const groups = new Map<K, PgJobRow[]>();
  for (const row of rows) {
    const group = groups.get(keyOf(row));
    if (group === undefined) groups.set(keyOf(row), [row]);
    else group.push(row);
  }
  for (const group of groups.values()) group.sort((a, b) => Number(a.id) - Number(b.id));
  return groups;
}
