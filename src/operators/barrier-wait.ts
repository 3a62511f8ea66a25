import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import type { BarrierStore } from '../store/barrier-store.js';
import { portOf } from '../store/port.js';
import { relay } from './relay.js';

/**
 * The last check before sending: jobs that need not wait go on; a job whose
 * key has a failed job to retry first is reported `waiting` and handed back
 * to the entrance that admitted it (it is not emitted here).
 *
 * @example
 * of(job).pipe(barrierWait(store), mergeMap(send), barrierState(store))
 */
export function barrierWait<T>(store: BarrierStore<T>): MonoTypeOperatorFunction<T> {
  const port = portOf<T>(store, 'barrierWait');
  return (source) =>
    new Observable<T>((subscriber) => {
      relay(
        source,
        subscriber,
        (job) => {
          if (port.handBackIfWaiting(job)) subscriber.next(job);
        },
        undefined,
        port as never,
      );
    });
}
