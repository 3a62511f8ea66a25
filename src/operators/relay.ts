import { Observable, type Observer, type Subscriber } from 'rxjs';
import { describeValue } from '../core/errors.js';
import type { JobStatus } from '../store/job-status.js';
import type { StorePort } from '../store/port.js';
import type { JobState } from '../core/job-state.js';

/**
 * Subscribes `observer` to `source` so that the source's own subscriber is
 * added to `subscriber` before the source runs: if downstream unsubscribes
 * (or the operator errors) while a synchronous source emits, the source
 * stops at once instead of pushing the rest.
 */
export function subscribeWithin<T>(source: Observable<T>, subscriber: Subscriber<unknown>, observer: Partial<Observer<T>>): void {
  new Observable<T>((sourceSubscriber) => {
    subscriber.add(sourceSubscriber);
    return source.subscribe(sourceSubscriber);
  }).subscribe(observer);
}

/**
 * The wrapping the store operators share: `subscribeWithin`, handing each
 * value to `next`, whose throw errors the output. With `port`, the operator
 * counts as attached to the store while subscribed.
 */
export function relay<T>(
  source: Observable<T>,
  subscriber: Subscriber<unknown>,
  next: (value: T) => void,
  complete: () => void = () => subscriber.complete(),
  port?: StorePort<unknown>,
): void {
  const detach = port?.attach();
  subscribeWithin(source, subscriber, {
    next: (value) => {
      try {
        next(value);
      } catch (error) {
        subscriber.error(error);
      }
    },
    error: (error: unknown) => subscriber.error(error),
    complete,
  });
  if (detach !== undefined) subscriber.add(detach);
}

/**
 * Reports one status to the store, as `barrierState` and `orderedDelivery`
 * both do; returns the state the job took (a failure past `maxAttempts` is
 * aborted). Throws for a status that is not `{ job, state }`.
 */
export function reportStatus<T>(port: StorePort<T>, status: JobStatus<T>): JobState {
  if (typeof status !== 'object' || status === null || !('state' in status)) {
    throw new TypeError(`barrierState takes { job, state } statuses, got ${describeValue(status)}`);
  }
  return port.report(status);
}
