/**
 * The durable run's own options and their checks, apart from run.ts so that
 * the command line can parse them without loading PostgreSQL's client.
 */

/** The durable run's own options (the workload's are the in-memory example's). */
export interface DurableOptions {
  /** Worker processes. */
  workers: number;
  /** Kill one worker with SIGKILL once a third of the events have their outcome and the partitions are settled. */
  killOne: boolean;
  /** The workers' `lease`, ms: how long a partition taken from a dead owner waits. */
  lease: number;
}

/** The defaults: two workers, none killed, a 2 s lease (the library's default is 10 s). */
export const DURABLE_DEFAULTS: Readonly<DurableOptions> = Object.freeze({ workers: 2, killOne: false, lease: 2_000 });

/** The problems with `durable`, each naming its flag; empty when valid. */
export function validateDurableOptions(durable: DurableOptions): string[] {
  const problems: string[] = [];
  if (!Number.isSafeInteger(durable.workers) || durable.workers < 1 || durable.workers > 16) {
    problems.push(`--workers must be an integer from 1 to 16, got ${durable.workers}`);
  } else if (durable.killOne && durable.workers < 2) {
    problems.push(`--kill-one needs at least 2 workers (one to kill, one to take over), got --workers ${durable.workers}`);
  }
  if (!Number.isSafeInteger(durable.lease) || durable.lease < 100 || durable.lease > 60_000) {
    problems.push(`lease must be an integer from 100 to 60000 ms, got ${durable.lease}`);
  }
  return problems;
}
