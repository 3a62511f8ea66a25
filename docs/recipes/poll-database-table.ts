/**
 * Recipe: poll a database table of jobs, as the original Go router does.
 *
 * The router keeps its jobs in a table. Each poll it first applies the
 * outcomes it has persisted since the last poll (`store.sync()`), then claims
 * the next pending rows. Outcomes are written to the table *before* they are
 * reported to the barrier (`barrierState`), so a later job of a key is
 * released only once the earlier job's outcome is safely stored.
 *
 * Here the table is an in-memory fake with the same operations a SQL table
 * would offer (`SELECT … WHERE status = 'pending' ORDER BY id LIMIT $1 FOR
 * UPDATE SKIP LOCKED`, `UPDATE … SET status = $2`).
 *
 * Run it: npx tsx docs/recipes/poll-database-table.ts
 */
import { pathToFileURL } from 'node:url';
import { catchError, concatMap, defer, from, lastValueFrom, map, mergeMap, of, toArray, type Observable } from 'rxjs';
import { BarrierStore, pull, type JobStatus } from '../../src/index.js';
import { barrierEnter, barrierState, barrierWait, concatMapByKey } from '../../src/operators/index.js';

/** A row of the jobs table. `id` comes from a sequence: it increases per user in the order jobs were written. */
export interface JobRow {
  readonly id: number;
  readonly userId: string;
  readonly payload: string;
  status: 'pending' | 'claimed' | 'succeeded' | 'aborted' | 'filtered';
  attempts: number;
  lastError?: string;
}

/** The jobs table, with the two statements the poller needs. Each is async, as a real query is. */
export class FakeJobTable {
  private readonly rows: JobRow[];

  constructor(rows: readonly Omit<JobRow, 'status' | 'attempts'>[]) {
    this.rows = rows.map((row) => ({ ...row, status: 'pending', attempts: 0 }));
  }

  /** Claims up to `limit` pending rows, oldest first, so no other poll picks them. */
  async claimPending(limit: number): Promise<JobRow[]> {
    await tick();
    const claimed = this.rows.filter((row) => row.status === 'pending').slice(0, limit);
    for (const row of claimed) row.status = 'claimed';
    return claimed.map((row) => ({ ...row }));
  }

  /** Persists one attempt's outcome. A failed attempt leaves the row claimed: the pipeline retries it. */
  async saveOutcome(id: number, state: JobStatus<JobRow>['state'], error?: unknown): Promise<void> {
    await tick();
    const row = this.rows.find((candidate) => candidate.id === id)!;
    row.attempts++;
    if (error !== undefined) row.lastError = String(error);
    if (state === 'succeeded' || state === 'aborted' || state === 'filtered') row.status = state;
  }

  snapshot(): JobRow[] {
    return this.rows.map((row) => ({ ...row }));
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The webhook endpoint: `bob`'s second job fails twice before it goes through; `cat`'s first is refused for good. */
function makeEndpoint() {
  const received: string[] = [];
  const failuresLeft = new Map<number, number>([[4, 2]]);
  const send = async (row: JobRow): Promise<'succeeded' | 'failed' | 'aborted'> => {
    await tick();
    const left = failuresLeft.get(row.id) ?? 0;
    if (left > 0) {
      failuresLeft.set(row.id, left - 1);
      throw new Error(`HTTP 503 for job ${row.id}`);
    }
    if (row.id === 3) return 'aborted'; // HTTP 400: retrying will not help
    received.push(`${row.userId}:${row.id}`);
    return 'succeeded';
  };
  return { send, received };
}

export interface PollResult {
  /** What the endpoint accepted, in the order it accepted it. */
  readonly received: readonly string[];
  /** The table afterwards. */
  readonly table: readonly JobRow[];
  /** Every status barrierState passed on, as `user:id state`. */
  readonly statuses: readonly string[];
  /** The store afterwards: nothing held, nothing admitted, no barrier record. */
  readonly stats: ReturnType<BarrierStore<JobRow>['stats']>;
}

export async function main(): Promise<PollResult> {
  const table = new FakeJobTable([
    { id: 1, userId: 'ann', payload: 'ann signed up' },
    { id: 2, userId: 'bob', payload: 'bob signed up' },
    { id: 3, userId: 'cat', payload: 'cat signed up' },
    { id: 4, userId: 'bob', payload: 'bob paid' },
    { id: 5, userId: 'ann', payload: 'ann paid' },
    { id: 6, userId: 'bob', payload: 'bob left' },
    { id: 7, userId: 'cat', payload: 'cat paid' },
  ]);
  const endpoint = makeEndpoint();

  const store = new BarrierStore<JobRow>({
    key: (row) => row.userId,
    jobId: (row) => row.id,
    // The poller owns sync: outcomes are applied at the start of each poll,
    // after they have been persisted, as the Go router does.
    sync: 'manual',
    highWaterMark: 100,
    retryDelay: 5,
  });

  // One poll: apply the persisted outcomes (which re-tries held jobs), then
  // claim more. `[]` polls again after pollInterval; `null` ends the stream.
  // A real poller never ends; this one stops once the table is drained and
  // the store is empty (while it holds jobs, only a sync moves them).
  const poll = async (demand: number): Promise<JobRow[] | null> => {
    store.sync();
    const rows = await table.claimPending(demand);
    if (rows.length === 0 && store.stats().total === 0) return null;
    return rows;
  };

  // One attempt at one job: the last check, the request, the outcome saved,
  // then reported. `attempt` persists before barrierState sees the outcome.
  const attempt = (row: JobRow): Observable<JobStatus<JobRow>> =>
    of(row).pipe(
      barrierWait(store),
      mergeMap((job) =>
        defer(() => endpoint.send(job)).pipe(
          map((state): JobStatus<JobRow> => ({ job, state })),
          // A failed attempt is reported at once, with its error (precondition 3).
          catchError((error: unknown) => of<JobStatus<JobRow>>({ job, state: 'failed', error })),
        ),
      ),
      concatMap((status) => from(table.saveOutcome(status.job.id, status.state, status.error)).pipe(map(() => status))),
      barrierState(store),
    );

  const statuses = await lastValueFrom(
    pull(poll, store, { pollInterval: 2 }).pipe(
      barrierEnter(store),
      concatMapByKey((row) => row.userId, attempt, 8),
      map((status) => `${status.job.userId}:${status.job.id} ${status.state}`),
      toArray(),
    ),
  );
  return { received: endpoint.received, table: table.snapshot(), statuses, stats: store.stats() };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then((result) => console.log(result), (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
