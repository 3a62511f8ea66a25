import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import type { JobStatus } from '../store/job-status.js';
import { describeValue } from '../core/errors.js';
import { checkStore, type BarrierStore } from '../store/barrier-store.js';

/**
 * Reports each outcome `{ job, state, error? }` to the barrier and passes it
 * on. Put it after the outcome is known, and after persisting it if you do.
 * A `failed` job goes back to its entrance for a retry after the store's
 * `retryDelay`; `succeeded`, `aborted` and `filtered` are terminal.
 *
 * @example
 * send(job).pipe(
 *   map((response) => ({ job, state: response.ok ? 'succeeded' : 'failed' }) as const),
 *   barrierState(store),
 * )
 */
export function barrierState<T>(store: BarrierStore<T>): MonoTypeOperatorFunction<JobStatus<T>> {
  checkStore(store, 'barrierState');
  return (source) =>
    new Observable<JobStatus<T>>((subscriber) => {
      const detach = store.attach();
      const subscription = source.subscribe({
        next: (status) => {
          try {
            if (typeof status !== 'object' || status === null || !('state' in status)) {
              throw new TypeError(`barrierState takes { job, state } statuses, got ${describeValue(status)}`);
            }
            store.report(status);
          } catch (error) {
            subscriber.error(error);
            return;
          }
          subscriber.next(status);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        subscription.unsubscribe();
        detach();
      };
    });
}
