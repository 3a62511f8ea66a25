import type { Observable } from 'rxjs';
import type { Barrier } from '../core/barrier.js';
import { Engine } from './engine.js';
import type { BarrierStoreEvent, BarrierStoreStats } from './events.js';
import { PORT } from './port.js';
import type { BarrierStoreOptions } from './store-options.js';

/**
 * The shared state behind the operators: one {@link Barrier}, the jobs held
 * back per key, the jobs admitted and not yet terminal, retry timers, and
 * when to `sync()`. Several operators, in one pipeline or several, share one
 * store; one store has one per-key executor.
 *
 * This class is the public face only; the job lifecycle lives in the store's
 * engine (`src/store/engine.ts`), which the operators reach through an
 * internal port.
 *
 * @example
 * const store = new BarrierStore<Job>({
 *   key: (job) => job.userId,
 *   jobId: (job) => job.id,
 *   concurrencyLimit: 1,
 * });
 * jobs$.pipe(orderedDelivery(store, { deliver: send })).subscribe(console.log);
 */
export class BarrierStore<T> {
  /** The barrier the store owns. Call `store.sync()`, not `barrier.sync()`, so held jobs are re-tried. */
  readonly barrier: Barrier;
  /**
   * `true` once the jobs that can make progress (admitted, retrying, and held
   * jobs not blocked behind a failed job) reach `highWaterMark`, `false`
   * again once they are down to half of it. Emits the current value on subscribe.
   *
   * @example
   * store.pressure$.subscribe((full) => (full ? consumer.pause() : consumer.resume()));
   */
  readonly pressure$: Observable<boolean>;
  /**
   * Typed events (admitted, held, released, waiting, failed, terminal,
   * overflow, record created/deleted, key disabled, synced) for logs and
   * metrics. Built only while subscribed.
   *
   * @example
   * store.events$.pipe(filter((e) => e.type === 'failed')).subscribe((e) => log.warn(e));
   */
  readonly events$: Observable<BarrierStoreEvent<T>>;

  /** @internal The engine, for the operators and pull (see port.ts). */
  readonly [PORT]: Engine<T>;

  constructor(options: BarrierStoreOptions<T>) {
    const engine = new Engine<T>(options);
    this[PORT] = engine;
    this.barrier = engine.barrier;
    this.pressure$ = engine.pressure.pressure$;
    this.events$ = engine.events.events$;
  }

  /**
   * Applies the barrier's queued outcomes, then re-tries the held jobs of
   * every key they touched. Returns how many commands it applied. With
   * `sync: 'manual'`, call it yourself (one owner), e.g. before each poll.
   *
   * @example
   * setInterval(() => store.sync(), 1_000);
   */
  sync(): number {
    return this[PORT].sync();
  }

  /**
   * Holds every job of `key` at the entrance until {@link resume}; jobs
   * already admitted run on. Its held jobs count as blocked meanwhile.
   *
   * @example
   * store.pause('user-42'); // the user's endpoint is down for maintenance
   */
  pause(key: string): void {
    this[PORT].pause(key);
  }

  /**
   * Lets a paused key's held jobs through again, in job-id order.
   *
   * @example
   * store.resume('user-42');
   */
  resume(key: string): void {
    this[PORT].resume(key);
  }

  /**
   * Whether `key` is paused.
   *
   * @example
   * if (store.paused('user-42')) console.log('user-42 is on hold');
   */
  paused(key: string): boolean {
    return this[PORT].paused(key);
  }

  /**
   * The number of the job's current attempt, for the `barrierState` path: 1
   * for a job that has not failed, 1 + its failed attempts for a job
   * admitted again after failing (read it while the job is admitted, e.g.
   * just before sending). `orderedDelivery` passes it to `deliver` as
   * `context.attempt`.
   *
   * @example
   * mergeMap((job) => send(job, { attempt: store.attempt(job) }))
   */
  attempt(job: T): number {
    return this[PORT].attempt(job);
  }

  /**
   * Closes the store gracefully: every pipeline stops taking jobs, the
   * deliveries in flight finish and report (a failure is not retried), the
   * pipelines complete, and the promise resolves with the jobs the store
   * did not finish (held, waiting for a retry, arrived meanwhile), by key and
   * in job-id order within a key, so you can put them back (nack them,
   * leave them unacknowledged). Idempotent: every call returns the same
   * promise. Once closing, the store opens no new pipeline: subscribing one
   * errors it with `StoreClosedError`.
   *
   * @example
   * process.once('SIGTERM', async () => {
   *   const unfinished = await store.close();
   *   await broker.nack(unfinished);
   * });
   */
  close(): Promise<T[]> {
    return this[PORT].close();
  }

  /**
   * What the store holds right now.
   *
   * @example
   * const { held, blocked, admitted, records } = store.stats();
   */
  stats(): BarrierStoreStats {
    return this[PORT].stats();
  }
}
