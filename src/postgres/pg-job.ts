/**
 * A job read from the table. `attempts` is what the table held when it was
 * read: the attempts committed so far.
 *
 * @example
 * deliver: (job: PgJob<Webhook>, { attempt, signal }) => post(job.payload, { signal })
 */
export interface PgJob<P> {
  id: number;
  key: string;
  payload: P;
  attempts: number;
  partition: number;
}

/** A row as the read queries return it (bigints come back as strings). */
export interface PgJobRow {
  id: string;
  key: string;
  payload: unknown;
  attempts: number;
  partition: number;
}

/** @internal */
export function jobFromRow<P>(row: PgJobRow): PgJob<P> {
  return { id: Number(row.id), key: row.key, payload: row.payload as P, attempts: row.attempts, partition: row.partition };
}
