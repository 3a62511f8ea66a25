import type { SchedulerLike, Subscriber, Subscription } from 'rxjs';
import { ACCEPTED, ACCEPTED_RECORDED, Barrier, type EnterResult } from '../core/barrier.js';
import { BARRIER_DEFAULTS } from '../core/barrier-options.js';
import { describeValue, HeldJobsOverflowError, StoreClosedError, UnsupportedStateError } from '../core/errors.js';
import { isJobState, type JobState } from '../core/job-state.js';
import { timerDelay } from '../util/timer-delay.js';
import { checkJobId, checkKey } from '../util/validate.js';
import { AdmissionGate, SOURCE_DONE } from './admission.js';
import { Closing } from './close.js';
import { Entrance } from './entrance.js';
import { StoreEvents, type BarrierStoreStats, type HeldReason } from './events.js';
import { holdWithoutAsking, nextToRelease, overflowVictim } from './hold.js';
import type { JobStatus } from './job-status.js';
import { Ledger, type KeyBook } from './ledger.js';
import { Orphans } from './ownership.js';
import type { StorePort } from './port.js';
import { Pressure } from './pressure.js';
import { afterFailure, checkRetryAfter, RetryTimers, type RetryPolicy } from './retry.js';
import { resolveStoreOptions, type BarrierStoreOptions, type ResolvedStoreOptions } from './store-options.js';
import { StallWatch } from './stall.js';
import { queuedSyncBound, SyncPolicy } from './sync.js';
import { ADMITTED, DONE, HELD, newTicket, RETRYING, type Ticket } from './ticket.js';

/**
 * The job lifecycle (docs/lifecycle.dot), and the only caller of the
 * {@link Barrier}. Each public method is one transition of a job:
 *
 * - `arrive`: a job comes in and is admitted (`run`) or held (`holdNew`);
 * - `release`: held jobs the barrier now accepts are admitted;
 * - `handBackIfWaiting`: an admitted job must wait, and is held again;
 * - `report`: an admitted job's outcome: terminal, or failed and retrying
 *   (back to held when its timer fires);
 * - `closeEntrance`: the entrance's jobs are dropped or orphaned.
 *
 * Where a ticket is lives in the {@link Ledger}; the rules it follows live
 * in their own files: admission order (`admission.ts`), hold and release
 * (`hold.ts`), retry (`retry.ts`), sync (`sync.ts`), orphans
 * (`ownership.ts`), the high-water mark (`pressure.ts`), events (`events.ts`).
 */
export class Engine<T> implements StorePort<T> {
  readonly barrier: Barrier;
  readonly options: ResolvedStoreOptions<T>;
  readonly scheduler: SchedulerLike;
  readonly maxAttempts: number | undefined;
  readonly events = new StoreEvents<T>();
  readonly pressure: Pressure;
  private readonly ledger: Ledger<T>;
  private readonly syncPolicy: SyncPolicy;
  private readonly retryTimers: RetryTimers<Entrance<T>, Ticket<T>>;
  private readonly orphans = new Orphans<T>();
  private readonly gate = new AdmissionGate<T>();
  private readonly entrances = new Set<Entrance<T>>();
  /** The one entrance that may have untracked jobs (see `Entrance.untracked`). */
  private untrackedOwner: Entrance<T> | undefined;
  private attachments = 0;
  private pruneAction: Subscription | undefined;
  private readonly pruneCapable: boolean;
  /** Often enough that a key is released within a duration of going idle. */
  private readonly pruneInterval: number;
  private readonly releaseQueue = new Set<string>();
  private releasing = false;
  private readonly closer = new Closing<T>();
  private readonly stall: StallWatch;

  constructor(options: BarrierStoreOptions<T>) {
    this.options = resolveStoreOptions(options);
    const { scheduler } = this.options;
    this.scheduler = scheduler;
    this.maxAttempts = this.options.maxAttempts;
    const barrierOptions = { ...options, now: options.now ?? (() => scheduler.now()) };
    this.barrier =
      options.snapshot === undefined ? new Barrier(barrierOptions) : Barrier.fromSnapshot(options.snapshot, barrierOptions);
    this.ledger = new Ledger<T>((key) => this.barrier.peek(key));
    this.pressure = new Pressure(this.options.highWaterMark);
    const keyThreshold = options.keyThreshold ?? BARRIER_DEFAULTS.keyThreshold;
    this.syncPolicy = new SyncPolicy(scheduler, this.options.manualSync, () => this.sync(), queuedSyncBound(keyThreshold));
    this.retryTimers = new RetryTimers<Entrance<T>, Ticket<T>>(scheduler);
    this.stall = new StallWatch(scheduler, timerDelay(Math.max(1, this.options.stallTimeout)), this.announceStall);
    this.pruneCapable = keyThreshold > 0 || options.orderingDisabled !== undefined;
    const disabledDuration = options.disabledDuration ?? BARRIER_DEFAULTS.disabledDuration;
    const halfEnabledDuration = options.halfEnabledDuration ?? BARRIER_DEFAULTS.halfEnabledDuration;
    this.pruneInterval = timerDelay(Math.max(1, Math.min(disabledDuration, halfEnabledDuration)));
    // Outcomes queued in the snapshot: the sync that applies them must re-try
    // their keys, whose jobs would otherwise stay held for good.
    for (const command of options.snapshot?.queue ?? []) this.syncPolicy.scheduleFor(command.key);
  }

  // ---- The public side (BarrierStore delegates here) ----

  /** `keepScheduled`: see `SyncPolicy.begin`. */
  sync(keepScheduled = false): number {
    const changed = this.syncPolicy.begin(keepScheduled);
    const { events } = this;
    const watched = events.observed ? [...new Set(changed)].filter((key) => this.barrier.has(key)) : [];
    const applied = this.barrier.sync();
    if (events.observed) {
      for (const key of watched) if (!this.barrier.has(key)) events.emit({ type: 'recordDeleted', key });
      events.emit({ type: 'synced', applied });
    }
    // Applied outcomes may have cleared failed jobs: the held jobs of their
    // keys are no longer blocked, and are tried again. (No held job, no key
    // to look at: a burst of outcomes with nothing held costs no lookups.)
    if (changed.length > 0 && this.ledger.held > 0) {
      for (const key of changed) {
        const book = this.ledger.bookOf(key);
        if (book === undefined || book.held.length === 0) continue;
        this.ledger.reblock(key, book);
        this.releaseQueue.add(key);
      }
    }
    this.updatePressure();
    this.drainReleases();
    for (const entrance of this.entrances) this.completeIfDone(entrance);
    return applied;
  }

  pause(key: string): void {
    checkKey(key);
    if (this.ledger.pause(key)) this.updatePressure();
  }

  resume(key: string): void {
    checkKey(key);
    if (!this.ledger.resume(key)) return;
    this.updatePressure();
    this.release(key);
  }

  paused(key: string): boolean {
    checkKey(key);
    return this.ledger.bookOf(key)?.paused === true;
  }

  stats(): BarrierStoreStats {
    const { ledger } = this;
    return {
      held: ledger.held,
      blocked: ledger.blocked,
      retrying: ledger.retrying,
      admitted: ledger.admitted,
      total: ledger.held + ledger.retrying + ledger.admitted,
      records: this.barrier.size,
      queued: this.barrier.pending,
      keys: ledger.keys,
      entrances: this.entrances.size,
      paused: ledger.paused,
      stalled: this.stall.now,
    };
  }

  /** The number of the job's current attempt (1 + its failed attempts so far); 1 for a job the store does not track. */
  attempt(job: T): number {
    return this.attemptOf(this.keyOf(job), this.jobIdOf(job));
  }

  close(): Promise<T[]> {
    const { promise, first } = this.closer.begin();
    if (!first) return promise;
    const { ledger } = this;
    // Held and retrying jobs are not started again: kept for the caller.
    for (const entrance of this.entrances) {
      for (const ticket of this.retryTimers.cancel(entrance)) {
        ledger.move(ticket, DONE);
        this.closer.keep(ticket.key, ticket.id, ticket.job);
      }
    }
    for (const [key, book] of ledger.entries()) {
      ledger.dropHeld(key, book, (ticket) => {
        this.closer.keep(key, ticket.id, ticket.job);
        return true;
      });
      ledger.dropIfIdle(key, book);
    }
    this.updatePressure();
    // Entrances with nothing in flight complete now, the others when their last job reports.
    for (const entrance of [...this.entrances]) this.completeIfDone(entrance);
    if (this.entrances.size === 0) this.closer.finish();
    return promise;
  }

  // ---- The port (operators and pull) ----

  request(count: number): number {
    if (this.closer.state !== 'open') return 0;
    return this.pressure.request(count, this.ledger.progressing);
  }

  received(count: number): void {
    this.pressure.received(count);
  }

  keyOf(job: T): string {
    let key: string;
    try {
      key = this.options.key(job);
    } catch (error) {
      throw selectorError('key', job, error);
    }
    if (typeof key !== 'string') checkKey(key, ` for job ${describeValue(job)}`);
    return key;
  }

  jobIdOf(job: T): number {
    let id: number;
    try {
      id = this.options.jobId(job);
    } catch (error) {
      throw selectorError('jobId', job, error);
    }
    // Small integers pass with two comparisons; the message is built only on failure.
    if (typeof id === 'number' && (id | 0) === id) return id;
    checkJobId(id, ` for job ${describeValue(job)}`);
    return id;
  }

  openEntrance(subscriber: Subscriber<T>, retry: Partial<RetryPolicy> = {}): Entrance<T> {
    if (this.closer.state !== 'open') throw new StoreClosedError();
    const base = this.options.retry;
    const policy: RetryPolicy = {
      retryDelay: retry.retryDelay ?? base.retryDelay,
      maxAttempts: retry.maxAttempts ?? base.maxAttempts,
      jitter: retry.jitter ?? base.jitter,
      random: retry.random ?? base.random,
    };
    const entrance = new Entrance(subscriber, policy);
    this.entrances.add(entrance);
    this.attach();
    return entrance;
  }

  arrive(entrance: Entrance<T>, job: T): void {
    this.stall.moved++;
    // Closing: not admitted, kept for the jobs close() resolves with.
    if (this.closer.state !== 'open') return this.closer.keep(this.keyOf(job), this.jobIdOf(job), job);
    const { gate } = this;
    // A job pushed by user code while a job is admitted or released goes next, not now.
    if (gate.closed) return gate.defer(entrance, job);
    // gate.pass written out: a closure per admission would allocate on the
    // no-record hot path, and passing the step's arguments through cost ~20
    // instructions a job (bench --instructions).
    gate.close();
    try {
      this.admit(entrance, job);
    } catch (error) {
      gate.open(entrance, this.arriveDeferred);
      throw error;
    }
    gate.open(undefined, this.arriveDeferred);
  }

  sourceCompleted(entrance: Entrance<T>): void {
    if (this.closer.state !== 'open') {
      entrance.sourceDone = true;
      return this.completeIfDone(entrance);
    }
    // After the jobs the source gave before completing, some of which may
    // still wait for the admission in progress.
    if (this.gate.closed) return this.gate.defer(entrance, SOURCE_DONE);
    entrance.sourceDone = true;
    this.completeIfDone(entrance);
  }

  closeEntrance(entrance: Entrance<T>): void {
    if (entrance.closed) return;
    entrance.closed = true;
    this.entrances.delete(entrance);
    const { ledger } = this;
    for (const ticket of this.retryTimers.cancel(entrance)) ledger.move(ticket, DONE);
    const touched: string[] = [];
    const orphaned: { key: string; id: number }[] = [];
    if (entrance.tickets > 0) {
      for (const [key, book] of ledger.entries()) {
        ledger.dropHeld(key, book, (ticket) => ticket.entrance === entrance);
        for (let i = book.running.length - 1; i >= 0; i--) {
          const ticket = book.running[i]!;
          if (ticket.entrance !== entrance) continue;
          ledger.move(ticket, DONE);
          this.leaveBarrier(key, ticket.id);
          // An executor in another pipeline may still report its outcome.
          orphaned.push({ key, id: ticket.id });
          touched.push(key);
        }
        ledger.dropIfIdle(key, book);
      }
    }
    // Untracked jobs the barrier recorded are left (idempotent for those
    // already done); their outcomes, like those of the other untracked jobs,
    // may still arrive from an executor elsewhere.
    entrance.recorded.drain((key, id) => {
      if (this.barrier.tracks(key, id)) this.leaveBarrier(key, id);
    });
    this.orphans.adopt(entrance, ledger.dropUntracked(entrance), orphaned);
    if (this.untrackedOwner === entrance) this.untrackedOwner = undefined;
    this.updatePressure();
    for (const key of touched) this.releaseQueue.add(key);
    this.drainReleases();
    this.detach();
    if (this.closer.closing && this.entrances.size === 0) this.closer.finish();
  }

  executorClosed(entrance: Entrance<T>): void {
    this.orphans.release(entrance);
  }

  handBackIfWaiting(job: T, key: string = this.keyOf(job), id: number = this.jobIdOf(job)): boolean {
    // Closing: a job admitted and not yet started is not started now; it goes back to the caller.
    if (this.closer.closing) {
      this.keepUnfinished(this.takeAdmitted(key, id, job));
      return false;
    }
    // Older than its key's failed job: admitted before that job failed, and
    // its key's ordering was traded away meanwhile (keyThreshold,
    // orderingDisabled). It goes after the failed job, as any job that must
    // wait; asking the barrier would be an illegal sequence of our making.
    // Guarded here, not inside olderThanFailed: every job passes this line,
    // and the guard there cost ~90 instructions a job (callgrind, counted as
    // bench --instructions counts) in orderedDelivery with keyThreshold.
    const older = this.barrier.failing !== 0 && this.tradedAway(key, id);
    if (!older && !this.barrier.wait(key, id).wait) return true;
    const ticket = this.takeAdmitted(key, id, job);
    if (this.barrier.stateChanged(key, id, 'waiting')) this.syncPolicy.scheduleFor(key);
    this.handBack(ticket);
    return false;
  }

  report(status: JobStatus<T>): JobState {
    const { job, state } = status;
    this.stall.moved++;
    const key = this.keyOf(job);
    const id = this.jobIdOf(job);
    if (!isJobState(state)) throw new UnsupportedStateError(state, ` for job ${describeValue(job)}`);
    // Resolve the job first: a call that throws must change nothing.
    const book = this.ledger.bookOf(key);
    const tracked = book?.findRunning(id);
    const owner = tracked === undefined ? this.untrackedEntrance(key, id, job) : undefined;
    const attempt = (tracked?.failures ?? 0) + 1;
    let outcome: JobState = state;
    let delay = 0;
    if (state === 'failed') {
      const { retryAfter } = status;
      if (retryAfter !== undefined) checkRetryAfter(retryAfter, job);
      // A retryDelay function may throw too: asked before anything changes.
      const next = afterFailure((tracked?.entrance ?? owner)?.retry ?? this.options.retry, attempt, status.error, job, retryAfter);
      if (next.state === 'failed') delay = next.delay;
      else outcome = next.state;
    }
    const { events } = this;
    const hadRecord = events.observed && this.barrier.has(key);
    if (outcome === 'failed' && tracked?.unordered === true && this.olderThanFailed(key, id)) {
      // A failure older than its key's failed job (see handBackIfWaiting):
      // the barrier would call it illegal. It retries after that job.
      this.leaveBarrier(key, id);
    } else if (this.barrier.stateChanged(key, id, outcome)) {
      this.syncPolicy.scheduleFor(key);
    }
    if (events.observed) events.recordChanged(key, hadRecord, this.barrier.has(key));
    if (outcome === 'waiting') {
      this.handBack(this.takeAdmitted(key, id, job));
      // With no record the barrier queued nothing, so no sync would re-try
      // the key: mark it changed, or the job stays held for good.
      this.syncPolicy.scheduleFor(key);
      return outcome;
    }
    if (outcome === 'failed') {
      const ticket = this.takeAdmitted(key, id, job);
      ticket.failures++;
      if (this.barrier.peek(key) !== id) ticket.unordered = true;
      this.retryLater(ticket, delay, status.error);
      return outcome;
    }
    let attempts = 1;
    let entrance: Entrance<T> | undefined;
    // User code ran since the job was resolved (a synchronous sync releasing
    // held jobs, events$ handlers): its entrance may have closed, making it
    // an orphan. Closing did the bookkeeping then.
    if (tracked !== undefined && tracked.state === ADMITTED && this.ledger.move(tracked, DONE, book!)) {
      attempts = tracked.failures + 1;
      entrance = tracked.entrance;
    } else if (owner !== undefined && !owner.closed) {
      entrance = owner;
      this.ledger.finishUntracked(owner);
      // Finished: nothing to leave for it at close.
      if (owner.untracked === 0) owner.recorded.clear();
      else if (owner.recorded.size > 0) owner.recorded.finished(key, id);
    } else {
      this.orphans.forget(key, id);
    }
    this.updatePressure();
    if (events.observed) {
      events.emit({ type: 'terminal', key, jobId: id, job, state: outcome as 'succeeded' | 'aborted' | 'filtered', attempts });
    }
    if (entrance !== undefined) this.completeIfDone(entrance);
    // A synchronous burst queues outcomes faster than the scheduled sync runs.
    if (this.syncPolicy.overdue(this.barrier.pending)) this.sync(true);
    return outcome;
  }

  attemptOf(key: string, id: number): number {
    return (this.ledger.bookOf(key)?.findRunning(id)?.failures ?? 0) + 1;
  }

  attach(): () => void {
    this.attachments++;
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      this.detach();
    };
  }

  // ---- Transitions ----

  private readonly stillTracked = (key: string, id: number): boolean => this.barrier.tracks(key, id);

  private readonly arriveDeferred = (entrance: Entrance<T>, job: T | typeof SOURCE_DONE): void => {
    if (job !== SOURCE_DONE) return this.admit(entrance, job);
    entrance.sourceDone = true;
    this.completeIfDone(entrance);
  };

  /** arrived → admitted (emitted), or arrived → held. */
  private admit(entrance: Entrance<T>, job: T): void {
    const key = this.keyOf(job);
    const id = this.jobIdOf(job);
    let book = this.ledger.bookOf(key);
    const reason = book === undefined ? undefined : holdWithoutAsking(book);
    if (reason !== undefined) {
      // Never overtake a held job of the same key.
      const head = book!.held.at(0);
      this.holdNew(book!, newTicket(job, key, id, entrance), reason);
      // A job older than every held one (the key's failed job, entered again
      // after its entrance closed) is held first in line: try it, or nothing will.
      if (reason === 'behind' && head !== undefined && id < head.id) this.release(key);
    } else {
      const result = this.enterBarrier(key, id);
      if (entrance.closed) return this.abandon(key, id, result);
      // Hot path: a plain admission (nothing recorded, or only the job's id in
      // its key's running set), one entrance, and no anonymous orphans (whose
      // outcomes could not be told from this job's): nothing to remember but
      // a count, and for a recorded job its key and id, to leave at close.
      if (
        book === undefined &&
        (result === ACCEPTED || result === ACCEPTED_RECORDED) &&
        this.entrances.size === 1 &&
        !this.orphans.anonymousOutstanding &&
        !this.orphans.has(key, id)
      ) {
        this.ledger.admitUntracked(entrance);
        if (result === ACCEPTED_RECORDED) entrance.recorded.add(key, id, this.stillTracked);
        this.untrackedOwner = entrance;
        // The count only grew: once full and watched, crossing the mark again changes nothing.
        if (this.ledger.progressing >= this.pressure.highWaterMark && !(this.pressure.full && this.stall.watching)) this.updatePressure();
        if (this.events.observed) this.events.emit({ type: 'admitted', key, jobId: id, job });
        if (this.pruneCapable) this.schedulePrune();
        entrance.subscriber.next(job);
        return;
      }
      // User code ran inside enterBarrier: the key's book may be a new one.
      book = this.ledger.book(key);
      if (result.accepted) this.admitTicket(newTicket(job, key, id, entrance), book);
      else this.holdNew(book, newTicket(job, key, id, entrance), 'rejected');
    }
    if (this.pruneCapable) this.schedulePrune();
  }

  /**
   * User code that ran inside `enterBarrier` (an events$ handler,
   * orderingDisabled) closed the entrance: undo the admission, as the
   * entrance's unsubscribe would have, and admit nothing.
   */
  private abandon(key: string, id: number, result: EnterResult): void {
    if (result.accepted) this.leaveBarrier(key, id);
    if (this.pruneCapable) this.schedulePrune();
  }

  /** arrived → admitted (tracked). */
  private admitTicket(ticket: Ticket<T>, book: KeyBook<T>): void {
    this.ledger.move(ticket, ADMITTED, book);
    this.updatePressure();
    if (this.events.observed) this.events.emit({ type: 'admitted', key: ticket.key, jobId: ticket.id, job: ticket.job });
    ticket.entrance.subscriber.next(ticket.job);
  }

  /**
   * arrived → held. Over `maxHeldPerKey`, the overflow victim (see hold.ts)
   * goes to `onOverflow`: held → done, or arrived → done.
   */
  private holdNew(book: KeyBook<T>, ticket: Ticket<T>, reason: HeldReason): void {
    const { maxHeldPerKey, onOverflow } = this.options;
    const { ledger, events } = this;
    let overflow: Ticket<T> | undefined;
    if (book.held.length >= maxHeldPerKey) {
      overflow = overflowVictim(book.held, ticket, this.barrier.peek(ticket.key));
      // Thrown before anything changes.
      if (overflow !== undefined && onOverflow === undefined) {
        ledger.dropIfIdle(ticket.key, book);
        throw new HeldJobsOverflowError(overflow.key, overflow.job, maxHeldPerKey);
      }
    }
    if (overflow !== ticket) {
      ledger.move(ticket, HELD, book);
      this.updatePressure();
      if (events.observed) events.emit({ type: 'held', key: ticket.key, jobId: ticket.id, job: ticket.job, reason });
      if (overflow === undefined) return;
      // Evicted after the new job's event, so each event matches stats();
      // unless a handler of that event released or dropped it meanwhile.
      if (!ledger.move(overflow, DONE)) return;
      this.updatePressure();
    }
    ledger.dropIfIdle(ticket.key, book);
    if (events.observed) events.emit({ type: 'overflow', key: overflow.key, jobId: overflow.id, job: overflow.job });
    onOverflow!(overflow.job);
    if (overflow !== ticket) this.completeIfDone(overflow.entrance);
  }

  /** admitted → held (handed back to wait). */
  private handBack(ticket: Ticket<T>): void {
    if (ticket.entrance.closed) return;
    if (this.closer.closing) return this.keepUnfinished(ticket);
    ticket.returning = true;
    this.ledger.move(ticket, HELD);
    this.updatePressure();
    if (this.events.observed) this.events.emit({ type: 'waiting', key: ticket.key, jobId: ticket.id, job: ticket.job });
  }

  /** admitted → retrying, and retrying → held when the timer fires. */
  private retryLater(ticket: Ticket<T>, delay: number, error: unknown): void {
    const { entrance, key } = ticket;
    // Its entrance is gone: no retry will come, so no 'failed' event promises one.
    if (entrance.closed) return;
    // The store is closing: no retry either; the job goes back to the caller.
    if (this.closer.closing) return this.keepUnfinished(ticket);
    this.ledger.move(ticket, RETRYING);
    this.ledger.reblock(key);
    this.updatePressure();
    // Counted first, so a handler reading stats() sees the job retrying.
    if (this.events.observed) {
      this.events.emit({ type: 'failed', key, jobId: ticket.id, job: ticket.job, attempt: ticket.failures, retryIn: delay, error });
    }
    if (entrance.closed) {
      // A handler closed the entrance, before its retry timer existed for
      // the closing to cancel: the job goes with its entrance.
      this.ledger.move(ticket, DONE);
      this.updatePressure();
      return;
    }
    this.retryTimers.start(entrance, ticket, delay, this.retryDue);
  }

  /** admitted → done while the store closes: kept for the jobs close() resolves with. */
  private keepUnfinished(ticket: Ticket<T>): void {
    // An orphan's ticket is done already: its entrance went, and the job with it.
    if (ticket.state === DONE) return;
    this.ledger.move(ticket, DONE);
    this.closer.keep(ticket.key, ticket.id, ticket.job);
    this.updatePressure();
    this.completeIfDone(ticket.entrance);
  }

  private readonly retryDue = (ticket: Ticket<T>): void => {
    ticket.returning = true;
    this.ledger.move(ticket, HELD);
    this.updatePressure();
    this.release(ticket.key);
  };

  private release(key: string): void {
    this.releaseQueue.add(key);
    this.drainReleases();
  }

  /**
   * Re-tries held jobs key by key, through the admission gate (a job pushed
   * from a `released` handler must not overtake the released job);
   * re-entrant calls only queue their keys.
   */
  private drainReleases(): void {
    if (this.releasing || this.releaseQueue.size === 0) return;
    this.gate.pass(
      () => {
        this.releasing = true;
        try {
          for (const key of this.releaseQueue) {
            this.releaseQueue.delete(key);
            this.releaseKey(key);
          }
        } finally {
          this.releasing = false;
        }
      },
      this.arriveDeferred,
    );
  }

  /** held → admitted, for the key's held jobs the barrier accepts, in the order hold.ts gives. */
  private releaseKey(key: string): void {
    const { ledger } = this;
    for (;;) {
      const book = ledger.bookOf(key);
      if (book === undefined || book.paused || book.held.length === 0) return;
      let ticket = nextToRelease(book.held, this.barrier.peek(key));
      if (ticket === undefined) return;
      try {
        let result = this.enterBarrier(key, ticket.id);
        // A release may disable the key (keyThreshold, orderingDisabled) as
        // an admission can: prune it too, or it stays disabled for good.
        if (this.pruneCapable) this.schedulePrune();
        const previous = result.previousFailedJobId;
        if (!result.accepted && previous !== undefined && previous > ticket.id) {
          // Half-enabled (no illegal sequence there): the failed job is a
          // later one held behind this one; it must go first.
          const later = book.held.find((held) => held.id === previous);
          if (later === undefined) return;
          ticket = later;
          result = this.enterBarrier(key, ticket.id);
        }
        if (!result.accepted) return;
      } catch (error) {
        ticket.entrance.subscriber.error(error);
        // Erroring closed the entrance, which dropped its held jobs. Should the
        // job still be here (its entrance was closed already), drop it now:
        // trying it again would throw again, for good.
        if (ticket.state === HELD) ledger.move(ticket, DONE);
        continue;
      }
      // User code ran inside enterBarrier (events$ handlers, orderingDisabled):
      // the ticket may be gone. Gone means its entrance closed meanwhile.
      if (!ledger.move(ticket, ADMITTED)) {
        this.leaveBarrier(key, ticket.id);
        continue;
      }
      this.updatePressure();
      this.stall.moved++;
      if (this.events.observed) this.events.emit({ type: 'released', key, jobId: ticket.id, job: ticket.job });
      ticket.entrance.subscriber.next(ticket.job);
    }
  }

  // ---- Ownership of outcomes ----

  /** The entrance an untracked admitted job belongs to; undefined for an orphan; throws for a job never admitted. */
  private untrackedEntrance(key: string, id: number, job: T): Entrance<T> | undefined {
    // A known orphan first: crediting it to the owner would complete the
    // owner early and later drop one of its own jobs as an orphan.
    if (this.orphans.has(key, id)) return undefined;
    if (this.untrackedOwner !== undefined && this.untrackedOwner.untracked > 0) return this.untrackedOwner;
    // Anonymous orphans exist only while no entrance has untracked jobs.
    if (this.orphans.anonymousOutstanding) return undefined;
    throw new Error(
      `job ${id} of key ${JSON.stringify(key)} (${describeValue(job)}) is not admitted in this store: ` +
        `it did not pass barrierEnter, or its outcome was already reported`,
    );
  }

  /** The ticket of an admitted job (made now for an untracked one; a closed one for an orphan, which is forgotten). */
  private takeAdmitted(key: string, id: number, job: T): Ticket<T> {
    const tracked = this.ledger.bookOf(key)?.findRunning(id);
    if (tracked !== undefined) return tracked;
    const entrance = this.untrackedEntrance(key, id, job);
    if (entrance === undefined) {
      // Its entrance is gone: the job is dropped with it (the barrier keeps
      // a failed record, as after any unsubscribe).
      this.orphans.forget(key, id);
      const orphan = newTicket(job, key, id, CLOSED_ENTRANCE as Entrance<T>);
      orphan.state = DONE;
      return orphan;
    }
    const ticket = newTicket(job, key, id, entrance);
    this.ledger.track(ticket);
    return ticket;
  }

  /**
   * Whether admitted job `id` is older than its key's failed job because the
   * key's ordering was traded away (see `Ticket.unordered`). A job older
   * than the failed one for any other reason is the caller's illegal
   * sequence, and the barrier says so.
   */
  private tradedAway(key: string, id: number): boolean {
    return this.olderThanFailed(key, id) && this.ledger.bookOf(key)?.findRunning(id)?.unordered === true;
  }

  /** Whether the key's failed job is later than `id`. */
  private olderThanFailed(key: string, id: number): boolean {
    const failed = this.barrier.peek(key);
    return failed !== undefined && failed > id;
  }

  // ---- Completion, pruning, pressure ----

  private completeIfDone(entrance: Entrance<T>): void {
    // A pending automatic sync runs first, so the barrier is clean.
    if ((entrance.sourceDone || this.closer.closing) && entrance.outstanding === 0 && !this.syncPolicy.scheduled && !entrance.closed) {
      entrance.subscriber.complete();
    }
  }

  private detach(): void {
    if (--this.attachments > 0) return;
    // Nobody is left to run the scheduled work: sync now so the barrier is
    // clean, and stop pruning.
    if (this.syncPolicy.scheduled) this.sync();
    if (this.pruneAction !== undefined) {
      this.pruneAction.unsubscribe();
      this.pruneAction = undefined;
    }
    this.stall.stop();
  }

  private schedulePrune(): void {
    if (this.pruneAction !== undefined || this.barrier.size === 0) return;
    this.pruneAction = this.scheduler.schedule(() => {
      this.pruneAction = undefined;
      this.pruneBarrier();
      if (this.barrier.size > 0 && this.attachments > 0) this.schedulePrune();
    }, this.pruneInterval);
  }

  private updatePressure(): void {
    const { pressure, stall } = this;
    pressure.update(this.ledger.progressing);
    // The stall watch runs while the store is at its mark, and someone is attached to see it.
    if (pressure.full !== stall.watching) {
      if (pressure.full && this.attachments > 0) stall.start();
      else if (!pressure.full) stall.stop();
    }
  }

  private readonly announceStall = (): void => {
    if (this.events.observed) this.events.emit({ type: 'stalled', keys: this.fullestKeys(STALLED_KEYS) });
  };

  /** The `count` keys holding the most jobs (held, retrying, tracked admitted), most first. */
  private fullestKeys(count: number): string[] {
    const sizes: [string, number][] = [];
    for (const [key, book] of this.ledger.entries()) {
      const size = book.held.length + book.retrying + book.running.length;
      if (size > 0) sizes.push([key, size]);
    }
    sizes.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return sizes.slice(0, count).map(([key]) => key);
  }

  // ---- The barrier, with events$ told of records created and deleted ----

  private enterBarrier(key: string, id: number): EnterResult {
    const { events } = this;
    if (!events.observed) return this.barrier.enter(key, id);
    const hadRecord = this.barrier.has(key);
    const wasDisabled = hadRecord && this.barrier.disabled(key);
    const result = this.barrier.enter(key, id);
    events.recordChanged(key, hadRecord, this.barrier.has(key));
    // Once when the key switches to disabled, not for every job it then lets through.
    if (!wasDisabled && this.barrier.disabled(key)) events.emit({ type: 'keyDisabled', key });
    return result;
  }

  private leaveBarrier(key: string, id: number): void {
    const hadRecord = this.events.observed && this.barrier.has(key);
    this.barrier.leave(key, id);
    if (hadRecord) this.events.recordChanged(key, true, this.barrier.has(key));
  }

  private pruneBarrier(): void {
    const watched = this.events.observed ? this.barrier.snapshot().records.map((record) => record.key) : [];
    this.barrier.prune();
    for (const key of watched) this.events.recordChanged(key, true, this.barrier.has(key));
  }
}

/** A selector threw: a TypeError naming the job, with the selector's error as its cause. */
function selectorError(selector: 'key' | 'jobId', job: unknown, error: unknown): TypeError {
  const reason = error instanceof Error ? error.message : describeValue(error);
  return new TypeError(`the ${selector} selector threw for job ${describeValue(job)}: ${reason}`, { cause: error });
}

/** How many keys a `stalled` event names at most. */
const STALLED_KEYS = 5;

/** Stands in for the entrance of a job whose entrance has closed. */
const CLOSED_ENTRANCE = Object.freeze({ closed: true });
