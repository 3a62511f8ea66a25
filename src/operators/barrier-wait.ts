import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import { checkStore, type BarrierStore } from '../store/barrier-store.js';

/**
 * The last check before sending: jobs that need not wait go on; a job whose
 * key has a failed job to retry first is reported `waiting` and handed back
 * to the entrance that admitted it (it is not emitted here).
 *
 * @example
 * of(job).pipe(barrierWait(store), mergeMap(send), barrierState(store))
 */
export function barrierWait<T>(store: BarrierStore<T>): MonoTypeOperatorFunction<T> {
  checkStore(store, 'barrierWait');
  return (source) =>
    new Observable<T>((subscriber) => {
      const detach = store.attach();
      const subscription = source.subscribe({
        next: (job) => {
          let pass: boolean;
          try {
            pass = store.checkWait(job);
          } catch (error) {
            subscriber.error(error);
            return;
          }
          if (pass) subscriber.next(job);
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
