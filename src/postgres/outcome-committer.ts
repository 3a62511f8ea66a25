import type { Pool } from 'pg';
import type { TableName } from './table-name.js';

/** One attempt's outcome to write: `failed` keeps the row pending with its attempts counted. */
export interface PgOutcome {
  id: number;
  partition: number;
  /** The epoch under which the job's partition is owned: a stale one is refused. */
  epoch: string;
  state: 'succeeded' | 'failed' | 'aborted' | 'filtered';
  /** Attempts made so far, this one included. */
  attempts: number;
  error?: unknown;
}

interface Waiting {
  outcome: PgOutcome;
  resolve: (committed: boolean) => void;
}

/**
 * Writes attempts' outcomes to the table, many at once: outcomes that
 * arrive while `statements` commits run go into the next one, one UPDATE for
 * all of them. Each outcome carries its partition's epoch; the statement locks the
 * partition rows it checks (FOR SHARE), so a takeover's epoch bump either
 * waits for the commit or the commit sees the new epoch and writes nothing
 * for that partition. `commit` resolves `true` once the outcome is durable,
 * `false` when it was refused (stale epoch, or the job is no longer pending).
 * A failing statement (connection lost, server restarting) is retried.
 *
 * @example
 * const committer = new PgOutcomeCommitter(pool, tableName('rx_barrier_jobs'), 'default');
 * if (await committer.commit({ id, partition, epoch, state: 'succeeded', attempts: 1 })) release();
 */
export class PgOutcomeCommitter {
  private waiting: Waiting[] = [];
  private running = 0;
  private closed = false;

  constructor(
    private readonly db: Pool,
    private readonly table: TableName,
    private readonly queue: string,
    /**
     * Statements at once. One key's outcomes never race (its next job starts
     * after its commit); more than one keeps the pipeline full while a commit
     * is on the wire.
     */
    private readonly statements = 3,
    /** Milliseconds before a failed statement is tried again. */
    private readonly retryAfter = 200,
  ) {}

  /** Queues one outcome for the next commit; resolves once it is decided. */
  commit(outcome: PgOutcome): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      this.waiting.push({ outcome, resolve });
      if (this.running < this.statements) void this.run();
    });
  }

  /** Refuses outcomes from now on; those waiting resolve `false` unless their commit is running. */
  close(): void {
    this.closed = true;
    for (const { resolve } of this.waiting.splice(0)) resolve(false);
  }

  private async run(): Promise<void> {
    this.running++;
    while (this.waiting.length > 0 && !this.closed) {
      const batch = this.waiting;
      this.waiting = [];
      let committed: Set<number>;
      try {
        committed = await this.write(batch.map((entry) => entry.outcome));
      } catch {
        // Nothing was written (one statement): try the batch again with what came meanwhile.
        this.waiting = batch.concat(this.waiting);
        await new Promise((resolve) => setTimeout(resolve, this.retryAfter));
        continue;
      }
      for (const { outcome, resolve } of batch) resolve(committed.has(outcome.id));
    }
    this.running--;
    if (this.closed) for (const { resolve } of this.waiting.splice(0)) resolve(false);
  }

  private async write(outcomes: PgOutcome[]): Promise<Set<number>> {
    const { rows } = await this.db.query<{ id: string }>(
      `WITH outcome AS (
         SELECT * FROM unnest($2::bigint[], $3::int[], $4::bigint[], $5::text[], $6::int[], $7::text[])
           AS o(id, partition, epoch, state, attempts, error)
       ), owned AS (
         SELECT p.partition, p.epoch FROM ${this.table.partitionsSql} p
         WHERE p.queue = $1 AND (p.partition, p.epoch) IN (SELECT partition, epoch FROM outcome)
         FOR SHARE
       )
       UPDATE ${this.table.sql} AS j
       SET state = CASE WHEN o.state = 'failed' THEN 'pending' ELSE o.state END,
           attempts = o.attempts,
           last_error = o.error,
           finished_at = CASE WHEN o.state = 'failed' THEN NULL ELSE now() END
       FROM outcome o JOIN owned USING (partition, epoch)
       WHERE j.id = o.id AND j.queue = $1 AND j.state = 'pending'
       RETURNING j.id`,
      [
        this.queue,
        outcomes.map((o) => o.id),
        outcomes.map((o) => o.partition),
        outcomes.map((o) => o.epoch),
        outcomes.map((o) => o.state),
        outcomes.map((o) => o.attempts),
        outcomes.map((o) => (o.error === undefined ? null : describeError(o.error))),
      ],
    );
    return new Set(rows.map((row) => Number(row.id)));
  }
}

function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > 1_000 ? `${text.slice(0, 997)}...` : text.replace(/\u0000/g, '');
}
