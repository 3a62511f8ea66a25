import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import type { Entrance } from '../store/entrance.js';
import { portOf, type StorePort } from '../store/port.js';
import type { RetryPolicy } from '../store/retry.js';
import type { BarrierStore } from '../store/barrier-store.js';
import { subscribeWithin } from './relay.js';

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
  const port = portOf<T>(store, 'barrierEnter');
  return (source) => enter(port, source, undefined, undefined);
}

/**
 * `barrierEnter` on the store's engine: its failed jobs follow `retry`
 * (orderedDelivery's options), and `opened` learns the entrance.
 */
export function enter<T>(
  port: StorePort<T>,
  source: Observable<T>,
  retry: Partial<RetryPolicy> | undefined,
  opened: ((entrance: Entrance<T>) => void) | undefined,
): Observable<T> {
  return new Observable<T>((subscriber) => {
    const entrance = port.openEntrance(subscriber, retry);
    opened?.(entrance);
    // relay's shape with port.arrive called in place: admission is the hot
    // path, and relay's extra call cost ~15 instructions a job (bench --instructions).
    subscribeWithin(source, subscriber, {
      next: (job) => {
        try {
          port.arrive(entrance, job);
        } catch (error) {
          subscriber.error(error);
        }
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => port.sourceCompleted(entrance),
    });
    // After the source's teardown: a source stopped first pushes nothing into a closed entrance.
    subscriber.add(() => port.closeEntrance(entrance));
  });
}
