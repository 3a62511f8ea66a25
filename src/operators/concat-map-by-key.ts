import { Observable, from } from 'rxjs';
import type { ObservableInput, Observer, OperatorFunction, Subscriber, Subscription, Unsubscribable } from 'rxjs';
import { describeValue } from '../core/errors.js';
import { checkCount, checkFunction } from '../util/validate.js';

/**
 * Projects each value to an inner observable and merges their outputs, running
 * at most one inner per key at a time and at most `concurrency` in all. A
 * key's values are projected in arrival order; when a slot frees, the value
 * that arrived first among the keys with nothing running goes next.
 *
 * Replaces `groupBy` + `concatMap` without its pitfalls: per-key state is
 * dropped as soon as a key has nothing queued or running, the bound is global,
 * and a new value of a key can never race that key's running inner.
 *
 * Completes when the source has completed and every inner has completed.
 * An error from the source, an inner, `key` or `project` errors the output and
 * unsubscribes everything.
 *
 * @param key Reads the key of a value; called once per value.
 * @param project Maps a value and its position in the source (from 0) to the
 *   inner to run.
 * @param concurrency How many inners may run at once over all keys: a positive
 *   integer, or `Infinity` (the default) for no bound. Anything else throws a
 *   `RangeError` when `concatMapByKey` is called.
 * @default Infinity
 *
 * @example
 * // one request per user at a time, 64 in flight in all
 * events$.pipe(concatMapByKey((event) => event.userId, (event) => send(event), 64))
 */
export function concatMapByKey<T, R>(
  key: (value: T) => string,
  project: (value: T, index: number) => ObservableInput<R>,
  concurrency: number = Infinity,
): OperatorFunction<T, R> {
  checkFunction('concatMapByKey key', key);
  checkFunction('concatMapByKey project', project);
  checkCount('concurrency', concurrency, 1, true);
  return (source) =>
    new Observable<R>((subscriber) => {
      const runner = new KeyedRunner(subscriber, key, project, concurrency);
      // Registered before the source is subscribed: a synchronous source may
      // make us error, or downstream unsubscribe, before `subscribe` returns.
      subscriber.add(() => runner.close());
      // Keep the subscriber the source itself sees, so that closing stops a
      // synchronous source at once, not after it has emitted everything.
      new Observable<T>((sourceSubscriber) => {
        runner.sourceSubscription = sourceSubscriber;
        return source.subscribe(sourceSubscriber);
      }).subscribe(runner);
    });
}

/**
 * The state of one subscription: the lanes of the keys that have something
 * queued or running, and the lanes ready to start (nothing running, values
 * waiting), ordered by the arrival of their oldest waiting value.
 *
 * Re-entrancy: inners are only ever started by the one `drain` loop on the
 * stack (`draining`). Anything that happens while it runs (an inner completing
 * synchronously, the source emitting from inside an inner) only updates the
 * lanes and the ready heap, and the loop picks it up. So the stack stays flat
 * whatever completes synchronously, and the invariant holds everywhere user
 * code can run: a lane exists iff it is running or it is in the ready heap.
 */
class KeyedRunner<T, R> implements Observer<T> {
  private readonly lanes = new Map<string, KeyLane<T, R>>();
  /** Binary min-heap of lanes ready to start, by `readySince`. */
  private readonly ready: KeyLane<T, R>[] = [];
  private running = 0;
  private nextIndex = 0;
  private draining = false;
  private sourceDone = false;
  closed = false;
  sourceSubscription: Subscription | null = null;
  // What `launcher` subscribes next: set by `start` right before subscribing.
  private launchLane: KeyLane<T, R> | null = null;
  private launchInner: Observable<R> | null = null;
  /**
   * Subscribes an inner with the lane's subscriber known before the inner
   * runs, so that closing while a synchronous inner emits stops it at once.
   * One Observable for the runner, not one per inner: that cost a third of
   * orderedDelivery's time per job.
   */
  private readonly launcher = new Observable<R>((innerSubscriber) => {
    const lane = this.launchLane!;
    const inner = this.launchInner!;
    this.launchLane = null;
    this.launchInner = null;
    lane.inner = innerSubscriber;
    return inner.subscribe(innerSubscriber);
  });

  constructor(
    readonly subscriber: Subscriber<R>,
    private readonly keyOf: (value: T) => string,
    private readonly project: (value: T, index: number) => ObservableInput<R>,
    private readonly concurrency: number,
  ) {}

  // Hot path: one Map lookup; a lane, and its queue array, only for a key
  // that was idle.
  next(value: T): void {
    if (this.closed) return;
    const index = this.nextIndex++;
    let key: string;
    try {
      key = this.keyOf(value);
    } catch (err) {
      this.fail(err);
      return;
    }
    // A typo in the selector (job.usrId) would run every value one at a time.
    if (typeof key !== 'string') {
      this.fail(new TypeError(`concatMapByKey key must return a string, got ${describeValue(key)} for ${describeValue(value)}`));
      return;
    }
    let lane = this.lanes.get(key);
    if (lane !== undefined) {
      // Running, or ready and waiting for a slot: either way behind its elders.
      lane.enqueue(value, index);
      return;
    }
    lane = new KeyLane(key, this);
    this.lanes.set(key, lane);
    if (this.draining || this.running >= this.concurrency) {
      lane.enqueue(value, index);
      this.pushReady(lane);
      return;
    }
    // Not draining and a slot is free, so nothing is ready: nothing older can
    // run, and this value may skip the heap.
    this.draining = true;
    this.start(lane, value, index);
    this.startReady();
  }

  error(err: unknown): void {
    this.fail(err);
  }

  complete(): void {
    if (this.closed) return;
    this.sourceDone = true;
    this.sourceSubscription = null;
    this.drain();
  }

  /** The lane's inner completed and was torn down (else we are closed). */
  innerFinalized(lane: KeyLane<T, R>): void {
    if (this.closed) return;
    lane.running = false;
    lane.inner = null;
    this.running--;
    if (lane.hasWaiting()) this.pushReady(lane);
    else this.lanes.delete(lane.key);
    this.drain();
  }

  fail(err: unknown): void {
    if (this.closed) return;
    // Closed first, so nothing that reacts to the error can start more inners.
    this.close();
    this.subscriber.error(err);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const source = this.sourceSubscription;
    this.sourceSubscription = null;
    source?.unsubscribe();
    for (const lane of this.lanes.values()) lane.inner?.unsubscribe();
    this.lanes.clear();
    this.ready.length = 0;
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.startReady();
  }

  /** The drain loop; the caller has set `draining`. */
  private startReady(): void {
    const ready = this.ready;
    while (!this.closed && this.running < this.concurrency && ready.length > 0) {
      const lane = this.popReady();
      const queue = lane.queue as unknown[];
      const head = lane.head;
      const value = queue[head] as T;
      const index = queue[head + 1] as number;
      lane.dequeued(queue, head);
      this.start(lane, value, index);
    }
    this.draining = false;
    if (this.sourceDone && this.lanes.size === 0 && !this.closed) this.subscriber.complete();
  }

  private start(lane: KeyLane<T, R>, value: T, index: number): void {
    lane.running = true;
    this.running++;
    let inner: Observable<R>;
    try {
      inner = from(this.project(value, index));
    } catch (err) {
      this.fail(err);
      return;
    }
    this.launchLane = lane;
    this.launchInner = inner;
    const subscription = this.launcher.subscribe(lane);
    if (this.closed) {
      subscription.unsubscribe();
      return;
    }
    lane.inner = subscription;
    // Added last, so `lane.unsubscribe` runs after the inner's own teardown
    // (its `finalize`): the key's next inner starts only once this one is fully
    // torn down, as with `concatMap`. If the inner already completed, it runs now.
    subscription.add(lane);
  }

  private pushReady(lane: KeyLane<T, R>): void {
    lane.readySince = (lane.queue as unknown[])[lane.head + 1] as number;
    const heap = this.ready;
    let at = heap.length;
    heap.push(lane);
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = heap[parentAt] as KeyLane<T, R>;
      if (parent.readySince <= lane.readySince) break;
      heap[at] = parent;
      at = parentAt;
    }
    heap[at] = lane;
  }

  private popReady(): KeyLane<T, R> {
    const heap = this.ready;
    const top = heap[0] as KeyLane<T, R>;
    const last = heap.pop() as KeyLane<T, R>;
    const size = heap.length;
    if (size === 0) return top;
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= size) break;
      const right = child + 1;
      if (right < size && (heap[right] as KeyLane<T, R>).readySince < (heap[child] as KeyLane<T, R>).readySince) {
        child = right;
      }
      const smaller = heap[child] as KeyLane<T, R>;
      if (smaller.readySince >= last.readySince) break;
      heap[at] = smaller;
      at = child;
    }
    heap[at] = last;
    return top;
  }
}

/**
 * One key's bookkeeping, alive while the key has something queued or running.
 * It is also the observer of the key's running inner and that inner's last
 * teardown: one inner at a time, so one lane serves them all, with no closure
 * per inner or per lane (bundlers that keep function names, as tsx does, add a
 * `__name` call to each closure created).
 */
class KeyLane<T, R> implements Partial<Observer<R>>, Unsubscribable {
  running = false;
  inner: Subscription | null = null;
  /** Waiting values and their source indexes, interleaved, from `head` on. */
  queue: unknown[] | null = null;
  head = 0;
  /** Source index of the oldest waiting value, while in the ready heap. */
  readySince = 0;

  constructor(
    readonly key: string,
    private readonly runner: KeyedRunner<T, R>,
  ) {}

  next(value: R): void {
    this.runner.subscriber.next(value);
  }

  error(err: unknown): void {
    this.runner.fail(err);
  }

  /** Teardown of the lane's inner: it completed, errored, or we closed it. */
  unsubscribe(): void {
    this.runner.innerFinalized(this);
  }

  enqueue(value: T, index: number): void {
    if (this.queue === null) this.queue = [value, index];
    else this.queue.push(value, index);
  }

  hasWaiting(): boolean {
    return this.queue !== null && this.head < this.queue.length;
  }

  dequeued(queue: unknown[], head: number): void {
    queue[head] = undefined; // let the value be collected while the lane lives
    const next = head + 2;
    if (next === queue.length) {
      queue.length = 0;
      this.head = 0;
    } else if (next >= 1024 && next * 2 >= queue.length) {
      // Compact once the consumed prefix dominates: amortised O(1) per value.
      queue.splice(0, next);
      this.head = 0;
    } else {
      this.head = next;
    }
  }
}
