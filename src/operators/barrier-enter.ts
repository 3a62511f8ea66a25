import { Observable, type MonoTypeOperatorFunction, type Subscription } from 'rxjs';
import { checkStore, type BarrierStore } from '../store/barrier-store.js';

/**
 * Admission: each job enters the store's barrier. Accepted jobs go on at
 * once; rejected ones are held in the store and released, in job-id order,
 * once the barrier lets them through. A job never overtakes a held job of its
 * own key. Jobs handed back later (waiting, failed) come out of this same
 * subscription again.
 *
 * Completes when the source has completed and every job it admitted has been
 * reported terminal through `barrierState`: without `barrierState`
 * downstream it never completes. Unsubscribing drops its held jobs, cancels
 * its retry timers and calls `leave` for its admitted, unfinished jobs.
 *
 * @example
 * jobs$.pipe(
 *   barrierEnter(store),
 *   concatMapByKey((job) => job.userId, (job) => of(job).pipe(barrierWait(store), mergeMap(send), barrierState(store)), 64),
 * )
 */
export function barrierEnter<T>(store: BarrierStore<T>): MonoTypeOperatorFunction<T> {
  checkStore(store, 'barrierEnter');
  return (source) =>
    new Observable<T>((subscriber) => {
      const entrance = store.openEntrance(subscriber);
      // Registered before the source is subscribed, and holding the subscriber
      // the source itself sees: if downstream unsubscribes (or we error) while
      // a synchronous source is emitting, the source stops at once instead of
      // pushing the rest of its jobs into a closed entrance.
      let sourceSubscriber: Subscription | undefined;
      subscriber.add(() => {
        sourceSubscriber?.unsubscribe();
        store.closeEntrance(entrance);
      });
      new Observable<T>((inner) => {
        sourceSubscriber = inner;
        return source.subscribe(inner);
      }).subscribe({
        next: (job) => {
          try {
            store.admit(entrance, job);
          } catch (error) {
            subscriber.error(error);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => store.sourceCompleted(entrance),
      });
    });
}
