/**
 * Graceful close (`store.close()`): the store stops taking jobs, lets the
 * deliveries in flight finish and report, completes the pipelines, and
 * resolves with the jobs it did not finish. This file keeps the state of the
 * close and the unfinished jobs; the engine applies it at each transition:
 *
 * - held jobs and jobs waiting for a retry are taken out at once;
 * - a job arriving at an entrance is not admitted but kept;
 * - a job in flight that fails (or is handed back as waiting) is kept, not retried;
 * - an entrance completes once it has nothing in flight;
 * - once every entrance is gone, `close()` resolves with the jobs kept,
 *   by key (in the order keys were first kept) and job id within a key,
 *   so the caller can put them back in order.
 *
 * After it resolved, the store opens no new entrance (`StoreClosedError`).
 */
export class Closing<T> {
  state: 'open' | 'closing' | 'closed' = 'open';
  private readonly kept = new Map<string, { id: number; job: T }[]>();
  private promise: Promise<T[]> | undefined;
  private resolve: ((jobs: T[]) => void) | undefined;

  get closing(): boolean {
    return this.state === 'closing';
  }

  /** Starts the close; returns its promise (the same one on every call). */
  begin(): { promise: Promise<T[]>; first: boolean } {
    if (this.promise !== undefined) return { promise: this.promise, first: false };
    this.state = 'closing';
    this.promise = new Promise<T[]>((resolve) => (this.resolve = resolve));
    return { promise: this.promise, first: true };
  }

  /** A job the store will not finish. */
  keep(key: string, id: number, job: T): void {
    let jobs = this.kept.get(key);
    if (jobs === undefined) this.kept.set(key, (jobs = []));
    jobs.push({ id, job });
  }

  /** Every entrance is gone: resolves the close with the jobs kept. */
  finish(): void {
    if (this.state !== 'closing') return;
    this.state = 'closed';
    const jobs: T[] = [];
    for (const list of this.kept.values()) {
      list.sort((a, b) => a.id - b.id);
      for (const { job } of list) jobs.push(job);
    }
    this.kept.clear();
    this.resolve!(jobs);
  }
}
