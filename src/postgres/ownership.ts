import type { Client, QueryResultRow } from 'pg';
import { fnv1a32, lockNamespace } from './partition-hash.js';
import type { TableName } from './table-name.js';

/** What {@link PartitionOwnership} tells its worker. */
export interface OwnershipEvents {
  /** A partition is ours under `epoch`; deliver from it after `startAfter` ms (0 after a clean hand-over). */
  acquired(partition: number, epoch: string, startAfter: number): void;
  /** Give a partition back: stop reading, finish and commit what is in flight, drop the rest; resolve when done. */
  handOver(partition: number): Promise<void>;
  /** The lock connection failed or the heartbeat is late: stop delivering for these partitions at once. */
  lost(partitions: number[]): void;
  /** The set of partitions owned changed. */
  changed(owned: readonly number[]): void;
  /** A NOTIFY came on the queue's channel: jobs were enqueued. */
  notified(): void;
}

/** Where and how a worker owns partitions. */
export interface OwnershipOptions {
  readonly table: TableName;
  readonly queue: string;
  readonly partitions: number;
  readonly channel: string;
  readonly workerId: string;
  readonly lease: number;
  readonly heartbeat: number;
  /** Makes the lock connection (not connected), with `application_name` set as given. */
  readonly connect: (applicationName: string) => Client;
}

/** A partition this worker owns. */
export interface Owned {
  epoch: string;
  handingOver: boolean;
  /** When delivery may start: after the lease for a partition whose owner died. */
  startsAt: number;
}

/**
 * The partitions to hand over to bring `owned` down by `excess`, counting
 * those already being handed over. Never one still waiting out a dead
 * owner's lease: handed over, it would read as released and its next owner
 * would start at once. Those held longest go first, so a fresh takeover is
 * not given back before it starts.
 */
export function partitionsToGive(owned: ReadonlyMap<number, Owned>, excess: number, now: number): number[] {
  let already = 0;
  const givable: [number, Owned][] = [];
  for (const pair of owned) {
    if (pair[1].handingOver) already++;
    else if (pair[1].startsAt <= now) givable.push(pair);
  }
  givable.sort(([, a], [, b]) => a.startsAt - b.startsAt);
  return givable.slice(0, Math.max(0, excess - already)).map(([partition]) => partition);
}

/**
 * Owns partitions of a queue through session-level advisory locks
 * `(lockNamespace('own', table, queue), partition)` held on a connection of
 * its own, which also LISTENs for enqueues. Every `heartbeat` it counts the
 * live workers of the queue (connections in `pg_stat_activity` whose
 * `application_name` is `rxb:<namespace>:<workerId>`), and takes or gives
 * back partitions to hold its fair share, `ceil(partitions / live)` (giving
 * back those held longest, never one still in its lease wait). Taking a
 * partition bumps its epoch; a partition that was handed over cleanly
 * (`released`) starts at once, one whose owner died waits `lease`. The
 * connection failing, or no heartbeat succeeding within `lease`, loses every
 * partition at once; it reconnects a lease later and starts over.
 */
export class PartitionOwnership {
  private client: Client | undefined;
  private readonly owned = new Map<number, Owned>();
  private readonly namespace: number;
  private lastBeat = 0;
  /** After a loss, not before this time: the others take the partitions over meanwhile. */
  private rejoinAt = 0;
  private tickTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private closing = false;
  private ticking: Promise<void> | undefined;
  /** Queries on the lock connection, one at a time (pg 8 deprecates overlapping ones). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly options: OwnershipOptions,
    private readonly events: OwnershipEvents,
  ) {
    this.namespace = lockNamespace('own', options.table.name, options.queue);
  }

  /** The partitions owned now, ascending. */
  get partitions(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  /** Starts ticking: connect, heartbeat, rebalance. */
  start(): void {
    this.watchdog = setInterval(() => {
      if (this.owned.size > 0 && Date.now() - this.lastBeat > this.options.lease) this.lose();
    }, Math.max(10, Math.min(this.options.heartbeat, this.options.lease / 4)));
    this.schedule(0);
  }

  /** Hands every partition over, then ends the lock connection. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.tickTimer);
    await this.ticking;
    await Promise.all([...this.owned.keys()].map((partition) => this.handOver(partition)));
    clearInterval(this.watchdog);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  /** Gives up a partition without a clean hand-over (its commit was refused, its pipeline failed). */
  abandon(partition: number): void {
    const owned = this.owned.get(partition);
    if (owned === undefined) return;
    this.owned.delete(partition);
    this.events.changed(this.partitions);
    if (this.client !== undefined) void this.query(this.client, 'SELECT pg_advisory_unlock($1, $2)', [this.namespace, partition]).catch(() => {});
  }

  private query<R extends QueryResultRow>(client: Client, text: string, values: unknown[] = []): Promise<{ rows: R[] }> {
    const result = this.queue.then(() => client.query<R>(text, values));
    this.queue = result.catch(() => {});
    return result;
  }

  private schedule(delay: number): void {
    if (this.closing) return;
    this.tickTimer = setTimeout(() => {
      // A query on a silently dead connection may never answer: give up on the tick after a lease.
      const late = new Promise<void>((resolve) => setTimeout(resolve, this.options.lease).unref());
      this.ticking = Promise.race([this.tick(), late]).finally(() => {
        this.ticking = undefined;
        this.schedule(this.options.heartbeat);
      });
    }, delay);
  }

  private async tick(): Promise<void> {
    try {
      const client = this.client ?? (await this.connect());
      if (client === undefined || this.closing) return;
      const started = Date.now();
      const { rows } = await this.query<{ live: number }>(
        client,
        `SELECT count(*)::int AS live FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE $1`,
        [`rxb:${this.namespace}:%`],
      );
      if (client !== this.client) return;
      this.lastBeat = started;
      const share = Math.ceil(this.options.partitions / Math.max(1, rows[0]!.live));
      const excess = this.owned.size - share;
      if (excess > 0) {
        for (const partition of partitionsToGive(this.owned, excess, Date.now())) void this.handOver(partition);
      } else if (excess < 0) {
        await this.acquire(client, -excess);
      }
    } catch {
      // A failed query: the connection's error event (or the watchdog) handles the loss.
    }
  }

  private async connect(): Promise<Client | undefined> {
    if (Date.now() < this.rejoinAt) return undefined;
    const client = this.options.connect(`rxb:${this.namespace}:${this.options.workerId}`.slice(0, 63));
    client.on('error', () => {
      if (this.client === client) this.lose();
    });
    client.on('end', () => {
      if (this.client === client) this.lose();
    });
    client.on('notification', () => this.events.notified());
    try {
      await client.connect();
      await client.query(`LISTEN "${this.options.channel}"`);
    } catch {
      await client.end().catch(() => {});
      return undefined;
    }
    this.client = client;
    this.queue = Promise.resolve();
    this.lastBeat = Date.now();
    // Jobs may have been enqueued while nobody listened.
    this.events.notified();
    return client;
  }

  private async acquire(client: Client, wanted: number): Promise<void> {
    const { rows: held } = await this.query<{ partition: number }>(
        client,
      `SELECT objid::int AS partition FROM pg_locks
       WHERE locktype = 'advisory' AND classid = $1::int::oid AND objsubid = 2 AND granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [this.namespace],
    );
    const taken = new Set(held.map((row) => row.partition));
    // Start at a place of our own, so joining workers do not all race for partition 0.
    const offset = fnv1a32(this.options.workerId) % this.options.partitions;
    const candidates: number[] = [];
    for (let i = 0; i < this.options.partitions; i++) {
      const partition = (offset + i) % this.options.partitions;
      if (!taken.has(partition) && !this.owned.has(partition)) candidates.push(partition);
    }
    if (candidates.length === 0) return;
    const { rows: locked } = await this.query<{ partition: number }>(
        client,
      'SELECT p AS partition FROM unnest($2::int[]) AS p WHERE pg_try_advisory_lock($1, p) LIMIT $3',
      [this.namespace, candidates, wanted],
    );
    if (locked.length === 0) return;
    const { rows } = await this.query<{ partition: number; epoch: string; was_released: boolean }>(
        client,
      `UPDATE ${this.options.table.partitionsSql} AS p SET epoch = p.epoch + 1, owner = $3, released = false
       FROM (SELECT partition, released FROM ${this.options.table.partitionsSql}
             WHERE queue = $1 AND partition = ANY($2::int[]) FOR UPDATE) AS old
       WHERE p.queue = $1 AND p.partition = old.partition
       RETURNING p.partition, p.epoch::text AS epoch, old.released AS was_released`,
      [this.options.queue, locked.map((row) => row.partition), this.options.workerId],
    );
    if (client !== this.client) return;
    const now = Date.now();
    const waitOf = (row: { was_released: boolean }): number => (row.was_released ? 0 : this.options.lease);
    for (const row of rows) this.owned.set(row.partition, { epoch: row.epoch, handingOver: false, startsAt: now + waitOf(row) });
    this.events.changed(this.partitions);
    for (const row of rows) this.events.acquired(row.partition, row.epoch, waitOf(row));
  }

  private async handOver(partition: number): Promise<void> {
    const owned = this.owned.get(partition);
    if (owned === undefined || owned.handingOver) return;
    owned.handingOver = true;
    await this.events.handOver(partition);
    const client = this.client;
    if (this.owned.get(partition) !== owned || client === undefined) return;
    try {
      // Released first, then unlocked: whoever locks it next reads `released` and starts at once.
      await this.query(client,
        `UPDATE ${this.options.table.partitionsSql} SET released = true, owner = NULL WHERE queue = $1 AND partition = $2 AND epoch = $3`,
        [this.options.queue, partition, owned.epoch],
      );
      await this.query(client, 'SELECT pg_advisory_unlock($1, $2)', [this.namespace, partition]);
    } catch {
      return; // the connection is gone: the lock went with it, unreleased
    }
    if (this.owned.get(partition) === owned) {
      this.owned.delete(partition);
      this.events.changed(this.partitions);
    }
  }

  private lose(): void {
    const client = this.client;
    this.client = undefined;
    // Sit out a lease before rejoining: a flapping connection must not win its
    // partitions back from the workers taking them over, each time resetting the wait.
    this.rejoinAt = Date.now() + this.options.lease;
    void client?.end().catch(() => {});
    const lost = this.partitions;
    this.owned.clear();
    if (lost.length > 0) {
      this.events.lost(lost);
      this.events.changed([]);
    }
  }
}
