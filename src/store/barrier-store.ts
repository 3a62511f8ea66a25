import { BehaviorSubject, Subject, type Observable, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import { ACCEPTED, Barrier, type EnterResult } from '../core/barrier.js';
import { BARRIER_DEFAULTS } from '../core/barrier-options.js';
import { describeValue, HeldJobsOverflowError, UnsupportedStateError } from '../core/errors.js';
import { Entrance } from './entrance.js';
import { FAILED, isJobState, stateCode, WAITING } from '../core/job-state.js';
import type { JobStatus } from './job-status.js';
import type { HeldQueue } from './held-queue.js';
import { KeyState, newTicket, type Ticket } from './ticket.js';
import { checkJobId, checkKey } from '../util/validate.js';
import { retryDelayFor, type RetryDelay } from './retry-delay.js';
import { timerDelay } from '../util/timer-delay.js';
import type { BarrierStoreEvent, BarrierStoreStats, HeldReason } from './events.js';
import { resolveStoreOptions, type BarrierStoreOptions, type ResolvedStoreOptions } from './store-options.js';

/**
 * The shared state behind the operators: one {@link Barrier}, the jobs held
 * back per key, the jobs admitted and not yet terminal, retry timers, and
 * when to `sync()`. Several operators, in one pipeline or several, share one
 * store; one store has one per-key executor.
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
   * `true` once the store holds `highWaterMark` jobs, `false` again once it
   * is down to half of that. Emits the current value on subscribe.
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

  /** @internal */
  readonly options: ResolvedStoreOptions<T>;
  private readonly scheduler: SchedulerLike;
  private readonly keys = new Map<string, KeyState<T>>();
  private readonly entrances = new Set<Entrance<T>>();
  /** The one entrance that may have untracked jobs (see `Entrance.untracked`). */
  private untrackedOwner: Entrance<T> | undefined;
  /** Untracked jobs of entrances closed before their outcome came back. */
  private orphanedUntracked = 0;
  /** Tracked jobs of entrances closed before their outcome came back, by key. */
  private readonly orphanedTickets = new Map<string, number[]>();
  private attachments = 0;
  /** Jobs `pull`s have asked their sources for and not yet received. */
  private requested = 0;
  private heldCount = 0;
  private retryingCount = 0;
  private admittedCount = 0;
  private pausedCount = 0;
  private readonly lowWaterMark: number;
  private readonly pressure = new BehaviorSubject(false);
  private readonly events = new Subject<BarrierStoreEvent<T>>();
  /** Keys with commands queued since the last sync: re-tried after it. */
  private changedKeys = new Set<string>();
  private syncAction: Subscription | undefined;
  private pruneAction: Subscription | undefined;
  private readonly pruneCapable: boolean;
  /** Often enough that a key is released within a duration of going idle. */
  private readonly pruneInterval: number;
  private readonly releaseQueue = new Set<string>();
  private releasing = false;
  /** Whether `admit` is running: a job arriving meanwhile waits its turn. */
  private admitting = false;
  /** Jobs (or a completion: `job` is `SOURCE_DONE`) that arrived during an admission. */
  private readonly deferredAdmissions: { entrance: Entrance<T>; job: T | typeof SOURCE_DONE }[] = [];

  constructor(options: BarrierStoreOptions<T>) {
    this.options = resolveStoreOptions(options);
    const { scheduler } = this.options;
    this.scheduler = scheduler;
    const barrierOptions = { ...options, now: options.now ?? (() => scheduler.now()) };
    this.barrier =
      options.snapshot === undefined ? new Barrier(barrierOptions) : Barrier.fromSnapshot(options.snapshot, barrierOptions);
    this.lowWaterMark = Math.floor(this.options.highWaterMark / 2);
    this.pruneCapable = (options.keyThreshold ?? 0) > 0 || options.orderingDisabled !== undefined;
    const disabledDuration = options.disabledDuration ?? BARRIER_DEFAULTS.disabledDuration;
    const halfEnabledDuration = options.halfEnabledDuration ?? BARRIER_DEFAULTS.halfEnabledDuration;
    this.pruneInterval = timerDelay(Math.max(1, Math.min(disabledDuration, halfEnabledDuration)));
    this.pressure$ = this.pressure.asObservable();
    this.events$ = this.events.asObservable();
    // Outcomes queued in the snapshot: the sync that applies them must re-try
    // their keys, whose jobs would otherwise stay held for good.
    for (const command of options.snapshot?.queue ?? []) this.changed(command.key);
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
    if (this.syncAction !== undefined) {
      this.syncAction.unsubscribe();
      this.syncAction = undefined;
    }
    // The keys of the commands this sync applies, taken before anything can
    // queue more: a sync nested in an events$ handler below must not take
    // keys whose commands it has not applied.
    const changed = this.changedKeys;
    if (changed.size > 0) this.changedKeys = new Set();
    const watched = this.events.observed ? [...changed].filter((key) => this.barrier.has(key)) : [];
    const applied = this.barrier.sync();
    if (this.events.observed) {
      for (const key of watched) if (!this.barrier.has(key)) this.emit({ type: 'recordDeleted', key });
      this.emit({ type: 'synced', applied });
    }
    if (changed.size > 0) {
      for (const key of changed) this.releaseQueue.add(key);
      this.drainReleases();
    }
    for (const entrance of this.entrances) this.completeIfDone(entrance);
    return applied;
  }

  /**
   * Holds every job of `key` at the entrance until {@link resume}; jobs
   * already admitted run on.
   *
   * @example
   * store.pause('user-42'); // the user's endpoint is down for maintenance
   */
  pause(key: string): void {
    checkKey(key);
    const state = this.keyState(key);
    if (!state.paused) {
      state.paused = true;
      this.pausedCount++;
    }
  }

  /**
   * Lets a paused key's held jobs through again, in job-id order.
   *
   * @example
   * store.resume('user-42');
   */
  resume(key: string): void {
    checkKey(key);
    const state = this.keys.get(key);
    if (state === undefined || !state.paused) return;
    state.paused = false;
    this.pausedCount--;
    this.dropIfIdle(key, state);
    this.release(key);
  }

  /**
   * Whether `key` is paused.
   *
   * @example
   * if (store.paused('user-42')) console.log('user-42 is on hold');
   */
  paused(key: string): boolean {
    checkKey(key);
    return this.keys.get(key)?.paused === true;
  }

  /**
   * What the store holds right now.
   *
   * @example
   * const { held, admitted, records } = store.stats();
   */
  stats(): BarrierStoreStats {
    return {
      held: this.heldCount,
      retrying: this.retryingCount,
      admitted: this.admittedCount,
      total: this.heldCount + this.retryingCount + this.admittedCount,
      records: this.barrier.size,
      queued: this.barrier.pending,
      keys: this.keys.size,
      entrances: this.entrances.size,
      paused: this.pausedCount,
    };
  }

  /**
   * @internal How many more jobs the store can take before it reaches its
   * high-water mark (Infinity without one); 0 while under pressure. Jobs
   * `pull`s have asked their sources for count as taken.
   */
  get room(): number {
    if (this.pressure.value) return 0;
    return Math.max(0, this.options.highWaterMark - (this.heldCount + this.retryingCount + this.admittedCount + this.requested));
  }

  /**
   * @internal A `pull` asks its source for up to `count` jobs: counted in
   * `room` until `received`, so that several pulls on one store together
   * stay under the high-water mark. Returns how many it may ask for.
   */
  request(count: number): number {
    const granted = Math.min(count, this.room);
    this.requested += granted;
    return granted;
  }

  /** @internal The answer to a `request` of `count` jobs came (or never will). */
  received(count: number): void {
    this.requested -= count;
  }

  /** @internal The key of a job, validated. */
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

  /** @internal The id of a job, validated. */
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

  /** @internal Registers a `barrierEnter` subscription. */
  openEntrance(subscriber: Subscriber<T>): Entrance<T> {
    // A new pipeline on a store nothing is subscribed to: no executor is left
    // that could report an old orphan, so forget them (and take the untracked
    // path again). Not at the last detach: an executor in another pipeline
    // detaches between two inners while it still holds orphans in its queue.
    if (this.attachments === 0) {
      this.orphanedUntracked = 0;
      this.orphanedTickets.clear();
    }
    const entrance = new Entrance(subscriber);
    this.entrances.add(entrance);
    this.attach();
    return entrance;
  }

  /** @internal A job arrives at an entrance: admit it or hold it. Throws on invalid jobs. */
  admit(entrance: Entrance<T>, job: T): void {
    if (this.admitting) {
      // User code run by this admission (an events$ or pressure$ handler, a
      // subscriber downstream) pushed a job into a source: admitting it now
      // would let it overtake the job being admitted. It goes next.
      this.deferredAdmissions.push({ entrance, job });
      return;
    }
    this.admitting = true;
    try {
      this.admitJob(entrance, job);
    } catch (error) {
      // Jobs its entrance got after the bad one are dropped with it: the
      // entrance errors, as at any bad job.
      this.admitDeferred(entrance);
      throw error;
    }
    if (this.deferredAdmissions.length === 0) this.admitting = false;
    else this.admitDeferred(undefined);
  }

  /** Admits the jobs that arrived during an admission, in their order; then admission is free again. */
  private admitDeferred(failed: Entrance<T> | undefined): void {
    const deferred = this.deferredAdmissions;
    try {
      for (let i = 0; i < deferred.length; i++) {
        const { entrance, job } = deferred[i]!;
        if (entrance === failed || entrance.closed) continue;
        if (job === SOURCE_DONE) {
          entrance.sourceDone = true;
          this.completeIfDone(entrance);
          continue;
        }
        try {
          this.admitJob(entrance, job);
        } catch (error) {
          failed = entrance;
          entrance.subscriber.error(error);
        }
      }
    } finally {
      deferred.length = 0;
      this.admitting = false;
    }
  }

  private admitJob(entrance: Entrance<T>, job: T): void {
    const key = this.keyOf(job);
    const id = this.jobIdOf(job);
    let state = this.keys.get(key);
    if (state === undefined) {
      const result = this.enterBarrier(key, id);
      if (entrance.closed) return this.abandon(key, id, result);
      // Hot path: nothing recorded, one entrance, and no anonymous orphans
      // (whose outcomes could not be told from this job's): nothing to
      // remember but a count.
      if (result === ACCEPTED && this.entrances.size === 1 && this.orphanedUntracked === 0 && !this.isOrphan(key, id)) {
        entrance.untracked++;
        this.untrackedOwner = entrance;
        this.admittedCount++;
        if (this.admittedCount + this.heldCount + this.retryingCount >= this.options.highWaterMark) this.updatePressure();
        if (this.events.observed) this.emit({ type: 'admitted', key, jobId: id, job });
        if (this.pruneCapable) this.schedulePrune();
        entrance.subscriber.next(job);
        return;
      }
      state = this.keyState(key);
      if (result.accepted) this.run(state, newTicket(job, key, id, entrance));
      else this.holdNew(state, newTicket(job, key, id, entrance), 'rejected');
    } else if (state.paused || state.held.length > 0) {
      // Never overtake a held job of the same key.
      const head = state.held.at(0);
      this.holdNew(state, newTicket(job, key, id, entrance), state.paused ? 'paused' : 'behind');
      // A job older than every held one (the key's failed job, entered again
      // after its entrance closed) is held first in line: try it, or nothing will.
      if (!state.paused && head !== undefined && id < head.id) this.release(key);
    } else {
      const result = this.enterBarrier(key, id);
      if (entrance.closed) return this.abandon(key, id, result);
      // User code ran inside enterBarrier: the key's state may be a new one.
      state = this.keyState(key);
      if (result.accepted) this.run(state, newTicket(job, key, id, entrance));
      else this.holdNew(state, newTicket(job, key, id, entrance), 'rejected');
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

  /** @internal The entrance's source completed. */
  sourceCompleted(entrance: Entrance<T>): void {
    // After the jobs the source gave before completing, some of which may
    // still wait for the admission in progress.
    if (this.admitting) {
      this.deferredAdmissions.push({ entrance, job: SOURCE_DONE });
      return;
    }
    entrance.sourceDone = true;
    this.completeIfDone(entrance);
  }

  /**
   * @internal Unsubscribing an entrance: cancels its retry timers, drops its
   * held jobs and calls `leave` for its admitted, unfinished jobs.
   */
  closeEntrance(entrance: Entrance<T>): void {
    if (entrance.closed) return;
    entrance.closed = true;
    this.entrances.delete(entrance);
    for (const [ticket, timer] of entrance.retryTimers) {
      timer.unsubscribe();
      const state = this.keys.get(ticket.key);
      if (state !== undefined) {
        state.retrying--;
        this.dropIfIdle(ticket.key, state);
      }
      this.retryingCount--;
      entrance.tickets--;
    }
    entrance.retryTimers.clear();
    const touched: string[] = [];
    if (entrance.tickets > 0) {
      for (const [key, state] of this.keys) {
        const dropped = state.held.length === 0 ? 0 : state.held.removeAll((ticket) => ticket.entrance === entrance);
        this.heldCount -= dropped;
        entrance.tickets -= dropped;
        for (let i = state.running.length - 1; i >= 0; i--) {
          const ticket = state.running[i]!;
          if (ticket.entrance !== entrance) continue;
          state.running.splice(i, 1);
          this.leaveBarrier(key, ticket.id);
          this.admittedCount--;
          entrance.tickets--;
          // An executor in another pipeline may still report its outcome.
          const orphans = this.orphanedTickets.get(key);
          if (orphans === undefined) this.orphanedTickets.set(key, [ticket.id]);
          else orphans.push(ticket.id);
          touched.push(key);
        }
        this.dropIfIdle(key, state);
      }
    }
    if (entrance.untracked > 0) {
      // The barrier recorded nothing for them, so there is nothing to leave;
      // their outcomes may still arrive from an executor elsewhere.
      this.orphanedUntracked += entrance.untracked;
      this.admittedCount -= entrance.untracked;
      entrance.untracked = 0;
    }
    if (this.untrackedOwner === entrance) this.untrackedOwner = undefined;
    this.updatePressure();
    for (const key of touched) this.releaseQueue.add(key);
    this.drainReleases();
    this.detach();
  }

  /**
   * @internal The last check before sending. Returns true when the job may
   * go on; otherwise reports it `waiting` and holds it at its entrance.
   */
  checkWait(job: T, key: string = this.keyOf(job), id: number = this.jobIdOf(job)): boolean {
    if (!this.barrier.wait(key, id).wait) return true;
    const ticket = this.takeAdmitted(key, id, job);
    if (this.barrier.stateChanged(key, id, 'waiting')) this.changed(key);
    this.handBack(ticket, 'waiting');
    return false;
  }

  /**
   * @internal Reports an attempt's outcome to the barrier and updates the
   * bookkeeping: a failed job is re-admitted after its retry delay, a
   * terminal one is forgotten. Returns the job's attempt count so far.
   */
  report(status: JobStatus<T>, retryDelay: RetryDelay = this.options.retryDelay): number {
    const { job, state } = status;
    const key = this.keyOf(job);
    const id = this.jobIdOf(job);
    if (!isJobState(state)) throw new UnsupportedStateError(state, ` for job ${describeValue(job)}`);
    const code = stateCode(state);
    // Resolve the job first: a call that throws must change nothing.
    const keyState = this.keys.get(key);
    const tracked = keyState?.findRunning(id);
    const owner = tracked === undefined ? this.untrackedEntrance(key, id, job) : undefined;
    // A retryDelay function may throw too: ask it before anything changes.
    const delay = code === FAILED ? timerDelay(retryDelayFor(retryDelay, (tracked?.failures ?? 0) + 1)) : 0;
    const hadRecord = this.events.observed && this.barrier.has(key);
    if (this.barrier.stateChanged(key, id, state)) this.changed(key);
    if (this.events.observed) this.recordChanged(key, hadRecord);
    if (code === WAITING) {
      this.handBack(this.takeAdmitted(key, id, job), 'waiting');
      // With no record the barrier queued nothing, so no sync would re-try
      // the key: mark it changed, or the job stays held for good.
      this.changed(key);
      return tracked?.failures ?? 0;
    }
    if (code === FAILED) {
      const ticket = this.takeAdmitted(key, id, job);
      ticket.failures++;
      this.retryLater(ticket, delay, status.error);
      return ticket.failures;
    }
    let attempts = 1;
    let entrance: Entrance<T> | undefined;
    // User code ran since the job was resolved (a synchronous sync releasing
    // held jobs, events$ handlers): its entrance may have closed, making it
    // an orphan. Closing did the bookkeeping then.
    if (tracked !== undefined && keyState!.removeRunning(tracked)) {
      this.dropIfIdle(key, keyState!);
      attempts = tracked.failures + 1;
      entrance = tracked.entrance;
      entrance.tickets--;
      this.admittedCount--;
    } else if (owner !== undefined && !owner.closed) {
      entrance = owner;
      entrance.untracked--;
      this.admittedCount--;
    } else {
      this.forgetOrphan(key, id);
    }
    if (this.heldCount + this.retryingCount + this.admittedCount <= this.lowWaterMark) this.updatePressure();
    if (this.events.observed) {
      this.emit({ type: 'terminal', key, jobId: id, job, state: state as 'succeeded' | 'aborted' | 'filtered', attempts });
    }
    if (entrance !== undefined) this.completeIfDone(entrance);
    return attempts;
  }

  /** @internal How many attempts of an admitted job have failed so far. */
  failuresOf(key: string, id: number): number {
    return this.keys.get(key)?.findRunning(id)?.failures ?? 0;
  }

  /** @internal Counts a subscribed operator; the returned function undoes it. */
  attach(): () => void {
    this.attachments++;
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      this.detach();
    };
  }

  private detach(): void {
    if (--this.attachments > 0) return;
    // Nobody is left to run the scheduled work: sync now so the barrier is
    // clean, and stop pruning.
    if (this.syncAction !== undefined) this.sync();
    if (this.pruneAction !== undefined) {
      this.pruneAction.unsubscribe();
      this.pruneAction = undefined;
    }
  }

  /** `barrier.enter`, telling `events$` when it created or deleted a record. */
  private enterBarrier(key: string, id: number): EnterResult {
    if (!this.events.observed) return this.barrier.enter(key, id);
    const hadRecord = this.barrier.has(key);
    const wasDisabled = hadRecord && this.barrier.disabled(key);
    const result = this.barrier.enter(key, id);
    this.recordChanged(key, hadRecord);
    // Once when the key switches to disabled, not for every job it then lets through.
    if (!wasDisabled && this.barrier.disabled(key)) this.emit({ type: 'keyDisabled', key });
    return result;
  }

  /** `barrier.leave`, telling `events$` when it deleted a record. */
  private leaveBarrier(key: string, id: number): void {
    const hadRecord = this.events.observed && this.barrier.has(key);
    this.barrier.leave(key, id);
    if (hadRecord) this.recordChanged(key, true);
  }

  /** `barrier.prune`, telling `events$` which records it deleted. */
  private pruneBarrier(): void {
    const watched = this.events.observed ? this.barrier.snapshot().records.map((record) => record.key) : [];
    this.barrier.prune();
    for (const key of watched) this.recordChanged(key, true);
  }

  private recordChanged(key: string, hadRecord: boolean): void {
    const hasRecord = this.barrier.has(key);
    if (hasRecord !== hadRecord) this.emit({ type: hasRecord ? 'recordCreated' : 'recordDeleted', key });
  }

  private keyState(key: string): KeyState<T> {
    let state = this.keys.get(key);
    if (state === undefined) {
      state = new KeyState<T>();
      this.keys.set(key, state);
    }
    return state;
  }

  private dropIfIdle(key: string, state: KeyState<T>): void {
    if (state.idle && this.keys.get(key) === state) this.keys.delete(key);
  }

  private run(state: KeyState<T>, ticket: Ticket<T>): void {
    state.running.push(ticket);
    ticket.entrance.tickets++;
    this.admittedCount++;
    this.updatePressure();
    if (this.events.observed) this.emit({ type: 'admitted', key: ticket.key, jobId: ticket.id, job: ticket.job });
    ticket.entrance.subscriber.next(ticket.job);
  }

  /**
   * Holds a new job. Over `maxHeldPerKey`, the newest job (the highest id)
   * goes to `onOverflow`: the new one, unless it is older than a held one
   * (the key's failed job, entered again after its entrance closed), which
   * must not be what is lost.
   */
  private holdNew(state: KeyState<T>, ticket: Ticket<T>, reason: HeldReason): void {
    const { maxHeldPerKey, onOverflow } = this.options;
    let overflow: Ticket<T> | undefined;
    if (state.held.length >= maxHeldPerKey) {
      overflow = overflowVictim(state.held, ticket, this.barrier.peek(ticket.key));
      // Thrown before anything changes.
      if (overflow !== undefined && onOverflow === undefined) {
        this.dropIfIdle(ticket.key, state);
        throw new HeldJobsOverflowError(overflow.key, overflow.job, maxHeldPerKey);
      }
    }
    if (overflow !== ticket) {
      state.held.insert(ticket);
      ticket.entrance.tickets++;
      this.heldCount++;
      this.updatePressure();
      if (this.events.observed) this.emit({ type: 'held', key: ticket.key, jobId: ticket.id, job: ticket.job, reason });
      if (overflow === undefined) return;
      // Evicted after the new job's event, so each event matches stats();
      // unless a handler of that event released or dropped it meanwhile.
      if (!state.held.remove(overflow)) return;
      overflow.entrance.tickets--;
      this.heldCount--;
      this.updatePressure();
    }
    this.dropIfIdle(ticket.key, state);
    if (this.events.observed) this.emit({ type: 'overflow', key: overflow.key, jobId: overflow.id, job: overflow.job });
    onOverflow!(overflow.job);
    if (overflow !== ticket) this.completeIfDone(overflow.entrance);
  }

  /** The entrance an untracked admitted job belongs to; throws for a job never admitted. */
  private untrackedEntrance(key: string, id: number, job: T): Entrance<T> | undefined {
    // A known orphan first: crediting it to the owner would complete the
    // owner early and later drop one of its own jobs as an orphan.
    if (this.isOrphan(key, id)) return undefined;
    if (this.untrackedOwner !== undefined && this.untrackedOwner.untracked > 0) return this.untrackedOwner;
    // Anonymous orphans exist only while no entrance has untracked jobs.
    if (this.orphanedUntracked > 0) return undefined;
    throw new Error(
      `job ${id} of key ${JSON.stringify(key)} (${describeValue(job)}) is not admitted in this store: ` +
        `it did not pass barrierEnter, or its outcome was already reported`,
    );
  }

  /** Takes an admitted job out of the running bookkeeping, making a ticket for an untracked one. */
  private takeAdmitted(key: string, id: number, job: T): Ticket<T> {
    const tracked = this.keys.get(key)?.takeRunning(id);
    if (tracked !== undefined) {
      this.admittedCount--;
      return tracked;
    }
    const entrance = this.untrackedEntrance(key, id, job);
    if (entrance === undefined) {
      // Its entrance is gone: the job is dropped with it (the barrier keeps
      // a failed record, as after any unsubscribe).
      this.forgetOrphan(key, id);
      return newTicket(job, key, id, CLOSED_ENTRANCE as Entrance<T>);
    }
    entrance.untracked--;
    entrance.tickets++;
    this.admittedCount--;
    return newTicket(job, key, id, entrance);
  }

  /**
   * Whether a job of a closed entrance with this key and id may still report.
   * The same job read again must then get a ticket of its own: as an untracked
   * job, its outcome would be taken for the orphan's.
   */
  private isOrphan(key: string, id: number): boolean {
    return this.orphanedTickets.size > 0 && this.orphanedTickets.get(key)?.includes(id) === true;
  }

  private forgetOrphan(key: string, id: number): void {
    const orphans = this.orphanedTickets.get(key);
    const index = orphans === undefined ? -1 : orphans.indexOf(id);
    if (index < 0) {
      this.orphanedUntracked--;
      return;
    }
    orphans!.splice(index, 1);
    if (orphans!.length === 0) this.orphanedTickets.delete(key);
  }

  private handBack(ticket: Ticket<T>, reason: 'waiting'): void {
    if (ticket.entrance.closed) return;
    ticket.returning = true;
    const state = this.keyState(ticket.key);
    state.held.insert(ticket);
    this.heldCount++;
    if (this.events.observed) this.emit({ type: reason, key: ticket.key, jobId: ticket.id, job: ticket.job });
  }

  private retryLater(ticket: Ticket<T>, delay: number, error: unknown): void {
    const { entrance, key } = ticket;
    // Its entrance is gone: no retry will come, so no 'failed' event promises one.
    if (entrance.closed) return;
    const state = this.keyState(key);
    state.retrying++;
    this.retryingCount++;
    // Counted first, so a handler reading stats() sees the job retrying.
    this.emitFailed(ticket, delay, error);
    if (entrance.closed) {
      // A handler closed the entrance, before its retry timer existed for
      // the closing to cancel: the job goes with its entrance.
      const current = this.keys.get(key);
      if (current !== undefined) {
        current.retrying--;
        this.dropIfIdle(key, current);
      }
      this.retryingCount--;
      this.updatePressure();
      return;
    }
    let ran = false;
    const timer = this.scheduler.schedule(() => {
      ran = true;
      entrance.retryTimers.delete(ticket);
      const current = this.keyState(key);
      current.retrying--;
      this.retryingCount--;
      ticket.returning = true;
      current.held.insert(ticket);
      this.heldCount++;
      this.release(key);
    }, delay);
    // A zero delay on a synchronous scheduler (queueScheduler) may already
    // have run, and its action need not be closed: cancelling it again at
    // unsubscribe would count the retry twice.
    if (!ran) entrance.retryTimers.set(ticket, timer);
  }

  private emitFailed(ticket: Ticket<T>, delay: number, error: unknown): void {
    if (!this.events.observed) return;
    const { key, id, job, failures } = ticket;
    this.emit({ type: 'failed', key, jobId: id, job, attempt: failures, retryIn: delay, error });
  }

  private changed(key: string): void {
    this.changedKeys.add(key);
    if (!this.options.manualSync && this.syncAction === undefined) {
      let ran = false;
      const action = this.scheduler.schedule(() => {
        ran = true;
        this.syncAction = undefined;
        this.sync();
      });
      // A synchronous scheduler has already synced: remembering its action
      // would block every later sync and every completion.
      if (!ran) this.syncAction = action;
    }
  }

  private release(key: string): void {
    this.releaseQueue.add(key);
    this.drainReleases();
  }

  /** Re-tries held jobs key by key; re-entrant calls only queue their keys. */
  private drainReleases(): void {
    if (this.releasing) return;
    this.releasing = true;
    try {
      for (const key of this.releaseQueue) {
        this.releaseQueue.delete(key);
        this.releaseKey(key);
      }
    } finally {
      this.releasing = false;
    }
  }

  /**
   * Releases the key's held jobs in job-id order, stopping at the first the
   * barrier rejects: else the drain limit would let a later job overtake.
   */
  private releaseKey(key: string): void {
    for (;;) {
      const state = this.keys.get(key);
      if (state === undefined || state.paused || state.held.length === 0) return;
      let ticket = state.held.at(0)!;
      // The key's failed job can be later than a job back for its retry: one
      // that failed while the key was disabled (keyThreshold,
      // orderingDisabled), the later one after it was enabled again. The
      // failed job goes first (the key never moves otherwise); entering the
      // earlier one now would be an illegal sequence of the store's own
      // making. The failed job's outcome releases the key again. (A new job
      // older than the failed one breaks the ascending-ids precondition: the
      // barrier's error says so.)
      const failed = ticket.returning ? this.barrier.peek(key) : undefined;
      if (failed !== undefined && failed > ticket.id) {
        const later = state.held.find((held) => held.id === failed);
        if (later === undefined) return;
        ticket = later;
      }
      try {
        let result = this.enterBarrier(key, ticket.id);
        // A release may disable the key (keyThreshold, orderingDisabled) as
        // an admission can: prune it too, or it stays disabled for good.
        if (this.pruneCapable) this.schedulePrune();
        const previous = result.previousFailedJobId;
        if (!result.accepted && previous !== undefined && previous > ticket.id) {
          // Half-enabled (no illegal sequence there): the failed job is a
          // later one held behind this one; it must go first.
          const later = state.held.find((held) => held.id === previous);
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
        if (this.keys.get(key) === state && state.held.remove(ticket)) {
          this.heldCount--;
          ticket.entrance.tickets--;
        }
        continue;
      }
      // User code ran inside enterBarrier (events$ handlers, orderingDisabled):
      // find the ticket again. Gone means its entrance closed meanwhile.
      if (this.keys.get(key) !== state || !state.held.remove(ticket)) {
        this.leaveBarrier(key, ticket.id);
        continue;
      }
      this.heldCount--;
      state.running.push(ticket);
      this.admittedCount++;
      if (this.events.observed) this.emit({ type: 'released', key, jobId: ticket.id, job: ticket.job });
      ticket.entrance.subscriber.next(ticket.job);
    }
  }

  private completeIfDone(entrance: Entrance<T>): void {
    // A pending automatic sync runs first, so the barrier is clean.
    if (entrance.sourceDone && entrance.outstanding === 0 && this.syncAction === undefined && !entrance.closed) {
      entrance.subscriber.complete();
    }
  }

  private schedulePrune(): void {
    if (this.pruneAction !== undefined || this.barrier.size === 0) return;
    const interval = this.pruneInterval;
    this.pruneAction = this.scheduler.schedule(() => {
      this.pruneAction = undefined;
      this.pruneBarrier();
      if (this.barrier.size > 0 && this.attachments > 0) this.schedulePrune();
    }, interval);
  }

  private updatePressure(): void {
    const total = this.heldCount + this.retryingCount + this.admittedCount;
    const pressured = this.pressure.value;
    if (!pressured && total >= this.options.highWaterMark) this.pressure.next(true);
    else if (pressured && total <= this.lowWaterMark) this.pressure.next(false);
  }

  private emit(event: BarrierStoreEvent<T>): void {
    this.events.next(event);
  }

}

/** A selector threw: a TypeError naming the job, with the selector's error as its cause. */
function selectorError(selector: 'key' | 'jobId', job: unknown, error: unknown): TypeError {
  const reason = error instanceof Error ? error.message : describeValue(error);
  return new TypeError(`the ${selector} selector threw for job ${describeValue(job)}: ${reason}`, { cause: error });
}

/**
 * Throws a TypeError naming `caller` unless `store` is a BarrierStore. Checked
 * by shape, not instanceof: a store of the package's other build (ESM or
 * CommonJS) works as well.
 */
export function checkStore(store: unknown, caller: string): void {
  const candidate = store as Partial<BarrierStore<unknown>> | null;
  if (typeof candidate === 'object' && candidate !== null && typeof candidate.admit === 'function' && typeof candidate.report === 'function') return;
  throw new TypeError(`${caller} needs a BarrierStore, got ${describeValue(store)}`);
}

/**
 * Of a full key's held jobs and a new one, the one to overflow: the newest
 * (highest id), leaving out jobs held again after being admitted. None when
 * that would be the new job and it is the key's failed job, or older than
 * every held one (the failed job entered again after its entrance closed):
 * the key waits for it.
 */
function overflowVictim<T>(held: HeldQueue<T>, incoming: Ticket<T>, failedJobId: number | undefined): Ticket<T> | undefined {
  for (let i = held.length - 1; i >= 0; i--) {
    const ticket = held.at(i)!;
    if (ticket.id <= incoming.id) break;
    if (!ticket.returning) return ticket;
  }
  if (incoming.id === failedJobId || (held.length > 0 && incoming.id < held.at(0)!.id)) return undefined;
  return incoming;
}

/** Marks a source's completion among deferred admissions. */
const SOURCE_DONE: unique symbol = Symbol('source done');

/** Stands in for the entrance of a job whose entrance has closed. */
const CLOSED_ENTRANCE = Object.freeze({ closed: true });
