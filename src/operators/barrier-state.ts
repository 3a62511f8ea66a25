import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import type { BarrierStore } from '../store/barrier-store.js';
import type { JobStatus } from '../store/job-status.js';
import { portOf } from '../store/port.js';
import { relay, reportStatus } from './relay.js';

/**
 * Reports each outcome `{ job, state, error? }` to the barrier and passes it
 * on. Put it after the outcome is known, and after persisting it if you do.
 * A `failed` job goes back to its entrance for a retry after the store's
 * `retryDelay`; `succeeded`, `aborted` and `filtered` are terminal. The
 * failed attempt numbered the store's `maxAttempts` is passed on as
 * `aborted`.
 *
 * @example
 * send(job).pipe(
 *   map((response) => ({ job, state: response.ok ? 'succeeded' : 'failed' }) as const),
 *   barrierState(store),
 * )
 */
export function barrierState<T>(store: BarrierStore<T>): MonoTypeOperatorFunction<JobStatus<T>> {
  const port = portOf<T>(store, 'barrierState');
  return (source) =>
    new Observable<JobStatus<T>>((subscriber) => {
      relay(
        source,
        subscriber,
        (status) => {
          const state = reportStatus(port, status);
          subscriber.next(state === status.state ? status : { ...status, state });
        },
        undefined,
        port as never,
      );
    });
}
