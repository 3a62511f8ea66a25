import type { Client, Pool } from 'pg';
import { BehaviorSubject, Subject, type Observable, type Subscription } from 'rxjs';
import type { DeliveryResult } from '../store/job-status.js';
import { orderedDelivery } from '../operators/ordered-delivery.js';
import { BarrierStore } from '../store/barrier-store.js';
import { committedDelivery } from './delivery-adapter.js';
import { DeliverySlots } from './delivery-slots.js';
import { PgOutcomeCommitter } from './outcome-committer.js';
import { PartitionOwnership } from './ownership.js';
import type { PgJob } from './pg-job.js';
import { PgJobSource } from './pg-job-source.js';
import { ensurePartitions } from './schema.js';
import type { TableName } from './table-name.js';
import type { ResolvedWorkOptions } from './work-options.js';

/**
 * A running worker of a {@link PgJobQueue}: delivers the jobs of the
 * partitions it owns, in order per key.
 *
 * @example
 * const worker = queue.work({ deliver });
 * worker.results$.subscribe((result) => log.info(result));
 * process.once('SIGTERM', () => void worker.close());
 */
export interface PgWorker<P> {
  /** Every terminal result, once its outcome is committed. Hot. */
  readonly results$: Observable<DeliveryResult<PgJob<P>>>;
  /** The partitions this worker owns now; emits on every change (the current value on subscribe). */
  readonly partitions$: Observable<readonly number[]>;
  /** Errors that cost this worker a partition (a failed pipeline, a refused commit) or a read; the worker goes on. */
  readonly errors$: Observable<unknown>;
  /** The worker's id, as in `pg_stat_activity` and the partitions table. */
  readonly workerId: string;
  /**
   * Jobs in memory now: `inMemory` read and not terminal, `blocked` those of
   * keys held behind a failed job (not counted against highWaterMark),
   * `throttledKeys` keys at maxHeldPerKey whose next jobs wait in the table.
   */
  stats(): { inMemory: number; blocked: number; throttledKeys: number };
  /** Graceful: stop reading, finish and commit what is in flight, hand every partition over. */
  close(): Promise<void>;
}

/** What a worker needs of its queue. */
export interface WorkerTarget {
  readonly db: Pool;
  readonly table: TableName;
  readonly queue: string;
  readonly partitions: number;
  readonly channel: string;
  readonly connect: (applicationName: string) => Client;
}

/** One owned partition's pipeline: its source, store and orderedDelivery. */
interface PartitionRun {
  readonly epoch: string;
  readonly subscription: Subscription;
  accepting: boolean;
  readonly inFlight: { count: number; changed?: () => void };
}

/** @internal */
export class PgWorkerRunner<P> implements PgWorker<P> {
  readonly results$: Observable<DeliveryResult<PgJob<P>>>;
  readonly partitions$: Observable<readonly number[]>;
  readonly errors$: Observable<unknown>;
  readonly workerId: string;
  private readonly results = new Subject<DeliveryResult<PgJob<P>>>();
  private readonly owned = new BehaviorSubject<readonly number[]>([]);
  private readonly errors = new Subject<unknown>();
  private readonly runs = new Map<number, PartitionRun>();
  /** Partitions taken from a dead owner, waiting `lease` before they start. */
  private readonly waiting = new Map<number, NodeJS.Timeout>();
  private readonly source: PgJobSource<P>;
  private readonly committer: PgOutcomeCommitter;
  private readonly slots: DeliverySlots;
  private readonly ownership: PartitionOwnership;
  private poll: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private markClosed!: () => void;
  /** @internal Resolves when `close()` has finished. */
  readonly closed = new Promise<void>((resolve) => (this.markClosed = resolve));

  constructor(
    private readonly target: WorkerTarget,
    private readonly options: ResolvedWorkOptions<P>,
  ) {
    this.workerId = options.workerId;
    this.results$ = this.results.asObservable();
    this.partitions$ = this.owned.asObservable();
    this.errors$ = this.errors.asObservable();
    this.source = new PgJobSource<P>(target.db, target.table, target.queue, options);
    this.committer = new PgOutcomeCommitter(target.db, target.table, target.queue);
    this.slots = new DeliverySlots(options.concurrency);
    this.ownership = new PartitionOwnership(
      { ...target, workerId: options.workerId, lease: options.lease, heartbeat: options.heartbeat },
      {
        acquired: (partition, epoch, startAfter) => this.acquired(partition, epoch, startAfter),
        handOver: (partition) => this.handOver(partition),
        lost: (partitions) => {
          for (const partition of partitions) this.drop(partition);
        },
        changed: (owned) => this.owned.next(owned),
        notified: () => this.source.wake(),
      },
    );
  }

  /** @internal Creates the partition rows, then starts owning and polling. */
  async start(): Promise<void> {
    await ensurePartitions(this.target.db, this.target.table, this.target.queue, this.target.partitions);
    if (this.closing !== undefined) return;
    this.ownership.start();
    this.poll = setInterval(() => {
      const error = this.source.lastError;
      if (error !== undefined) this.errors.next(error);
      this.source.wake();
    }, this.options.pollInterval);
  }

  stats(): { inMemory: number; blocked: number; throttledKeys: number } {
    return this.source.stats();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.poll);
      for (const timer of this.waiting.values()) clearTimeout(timer);
      this.waiting.clear();
      await this.ownership.close();
      for (const partition of [...this.runs.keys()]) this.drop(partition);
      this.source.close();
      this.committer.close();
      this.results.complete();
      this.owned.complete();
      this.errors.complete();
      this.markClosed();
    })();
    return this.closing;
  }

  /** @internal The worker could not start (the partitions check failed): reported, then closed. */
  fail(error: unknown): void {
    this.errors.next(error);
    void this.close();
  }

  private acquired(partition: number, epoch: string, startAfter: number): void {
    if (startAfter <= 0) {
      this.run(partition, epoch);
      return;
    }
    // The owner died without handing over: wait until it has surely stopped (its lease ran out).
    this.waiting.set(
      partition,
      setTimeout(() => {
        this.waiting.delete(partition);
        if (this.ownership.partitions.includes(partition)) this.run(partition, epoch);
      }, startAfter),
    );
  }

  private run(partition: number, epoch: string): void {
    this.drop(partition);
    const { options, source } = this;
    const store = new BarrierStore<PgJob<P>>({
      key: (job) => job.key,
      jobId: (job) => job.id,
      sync: 'manual',
      ...options.barrier,
      ...(options.retryDelay === undefined ? {} : { retryDelay: options.retryDelay }),
    });
    let syncDue = false;
    const syncSoon = () => {
      if (syncDue) return;
      syncDue = true;
      queueMicrotask(() => {
        syncDue = false;
        if (this.runs.get(partition) === run) store.sync();
      });
    };
    const abortErrors = new Map<number, unknown>();
    const inFlight: PartitionRun['inFlight'] = { count: 0 };
    const delivery = committedDelivery<P>(
      {
        deliver: options.deliver,
        committer: this.committer,
        epoch,
        maxAttempts: options.maxAttempts,
        slots: this.slots,
        inFlight,
        accepting: () => run.accepting,
        onCommitted: (job, state, error) => {
          if (state === 'failed') source.jobFailed(job);
          else if (error !== undefined) abortErrors.set(job.id, error);
        },
        onCommittedAfterDrop: (job, state, attempts, error) => {
          const late: DeliveryResult<PgJob<P>> = { job, key: job.key, jobId: job.id, state, attempts };
          if (error !== undefined) late.error = error;
          this.results.next(late);
        },
        onRefused: (job) => {
          if (this.runs.get(partition) !== run) return;
          this.errors.next(new Error(`commit of job ${job.id} refused: partition ${partition} has a newer epoch than ${epoch}`));
          this.drop(partition);
          this.ownership.abandon(partition);
        },
        afterOutcome: syncSoon,
      },
      options.concurrency,
      options.retryDelay,
    );
    const run: PartitionRun = {
      epoch,
      accepting: true,
      inFlight,
      subscription: source
        .jobs(partition)
        .pipe(orderedDelivery(store, delivery))
        .subscribe({
          next: (result) => {
            source.jobDone(result.job);
            const error = abortErrors.get(result.jobId);
            abortErrors.delete(result.jobId);
            // Attempts as the table counts them: those committed before this process read the job, plus its own.
            const durable: DeliveryResult<PgJob<P>> = { ...result, attempts: result.job.attempts + result.attempts };
            if (error !== undefined) durable.error = error;
            this.results.next(durable);
          },
          error: (error: unknown) => {
            if (this.runs.get(partition) !== run) return;
            this.errors.next(error);
            this.drop(partition);
            this.ownership.abandon(partition);
          },
        }),
    };
    this.runs.set(partition, run);
  }

  /** Stops a partition at once: in-flight deliveries are aborted, held jobs dropped (they stay pending in the table). */
  private drop(partition: number): void {
    const timer = this.waiting.get(partition);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.waiting.delete(partition);
    }
    const run = this.runs.get(partition);
    if (run === undefined) return;
    this.runs.delete(partition);
    run.accepting = false;
    run.subscription.unsubscribe();
  }

  private async handOver(partition: number): Promise<void> {
    const timer = this.waiting.get(partition);
    if (timer !== undefined) {
      // Never started: nothing in flight.
      clearTimeout(timer);
      this.waiting.delete(partition);
      return;
    }
    const run = this.runs.get(partition);
    if (run === undefined) return;
    run.accepting = false;
    this.source.stopReading(partition);
    if (run.inFlight.count > 0) {
      await new Promise<void>((resolve) => {
        run.inFlight.changed = () => {
          if (run.inFlight.count === 0) resolve();
        };
      });
    }
    if (this.runs.get(partition) === run) this.drop(partition);
  }
}
