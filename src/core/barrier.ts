import { resolveBarrierOptions, type BarrierOptions, type ResolvedBarrierOptions } from './barrier-options.js';
import { checkSnapshot, type BarrierRecordSnapshot, type BarrierSnapshot, type QueuedStateSnapshot } from './barrier-snapshot.js';
import { formatMetadata, IllegalJobSequenceError, type IllegalSequenceLocation } from './errors.js';
import { JobIdSet } from './job-id-set.js';
import { DISABLED, ENABLED, failedJobOf, failedOnly, fieldsOf, KeyRecord, MODE_NAMES, recordOf, type Entry, type Mode } from './key-record.js';
import { RecordMap } from './record-map.js';
import { RUNNING_LOG_CAP, RunningLog } from './running-log.js';
import { ABORTED, FAILED, JOB_STATES, stateCode, WAITING, type JobState, type StateCode } from './job-state.js';
import { checkJob, checkKey } from '../util/validate.js';

/** What {@link Barrier.enter} decided. Results may be shared, frozen objects: do not mutate them. */
export interface EnterResult {
  /** Whether the job may go on now. */
  accepted: boolean;
  /** The key's failed job, when that is why there is a barrier. */
  previousFailedJobId: number | undefined;
}

/** What {@link Barrier.wait} decided. Results may be shared, frozen objects: do not mutate them. */
export interface WaitResult {
  /** Whether the job must wait (be handed back) instead of being sent. */
  wait: boolean;
  /** The key's failed job, when there is one. */
  previousFailedJobId: number | undefined;
}

/** Accepted, and the barrier recorded nothing (so `leave` has nothing to undo). */
export const ACCEPTED: EnterResult = Object.freeze({ accepted: true, previousFailedJobId: undefined });
/** Accepted, and the job id was added to the key's running or draining set. */
export const ACCEPTED_RECORDED: EnterResult = Object.freeze({ accepted: true, previousFailedJobId: undefined });
const REJECTED: EnterResult = Object.freeze({ accepted: false, previousFailedJobId: undefined });
const NO_WAIT: WaitResult = Object.freeze({ wait: false, previousFailedJobId: undefined });

/** Queues above this length are given back to the allocator after a sync. */
const QUEUE_KEEP = 4096;
/** The queue's first capacity; it doubles as needed. */
const QUEUE_START = 256;

/**
 * The event-ordering barrier: per key, holds every later job back while a
 * failed job of that key waits for its retry, and limits concurrency after
 * an abort. Synchronous, no RxJS; the contract is in `docs/barrier.md`.
 *
 * A key with no record costs nothing: `enter`, `wait` and `stateChanged` on
 * it are a map lookup and allocate nothing.
 *
 * @example
 * const barrier = new Barrier({ concurrencyLimit: 1 });
 * barrier.enter('user-1', 1);                  // { accepted: true }
 * barrier.stateChanged('user-1', 1, 'failed'); // 1 will be retried
 * barrier.enter('user-1', 2);                  // { accepted: false, previousFailedJobId: 1 }
 * barrier.enter('user-1', 1);                  // { accepted: true, previousFailedJobId: 1 }
 * barrier.stateChanged('user-1', 1, 'succeeded');
 * barrier.sync();
 * barrier.enter('user-1', 2);                  // { accepted: true }
 */
export class Barrier {
  private readonly options: ResolvedBarrierOptions;
  private readonly records = new RecordMap();
  /** Whether every job is recorded (keyThreshold > 0). */
  private readonly recording: boolean;
  /**
   * Whether a job went to a record because the running log was full, since
   * the log was last empty. Only then is a retired record kept idle for
   * reuse: jobs are making records, and deleting each at its sync made V8
   * grow and shrink the map's table a dozen times per hundred jobs.
   */
  private overflowed = false;
  /**
   * The running ids of keys with no record, with `keyThreshold > 0` (see
   * RunningLog); null without a threshold, or with `orderingDisabled`, which
   * may replace any key's record at its next `enter`. A key in the log has no
   * record but perhaps an idle one.
   */
  private readonly log: RunningLog | null;
  // The queue of stateChanged commands, as parallel arrays so that queueing
  // allocates no command object. Each keeps the record it was queued for, so
  // `sync` need not look the key up again while that record is current.
  private queueKeys: string[] = [];
  private queueRecords: (KeyRecord | undefined)[] = [];
  // Ids are safe integers, exact in a Float64Array.
  private queueIds = new Float64Array(QUEUE_START);
  private queueStates = new Uint8Array(QUEUE_START);
  private queueLength = 0;

  constructor(options?: BarrierOptions) {
    this.options = resolveBarrierOptions(options);
    const { keyThreshold, orderingDisabled } = this.options;
    this.recording = keyThreshold > 0;
    this.log = keyThreshold > 0 && orderingDisabled === undefined ? new RunningLog(Math.min(keyThreshold, RUNNING_LOG_CAP)) : null;
  }

  /**
   * Builds a barrier from a {@link Barrier.snapshot}, e.g. one kept across a
   * restart. It behaves exactly as the barrier the snapshot was taken of.
   * Throws a TypeError naming the first invalid field of a malformed snapshot.
   *
   * @example
   * const restored = Barrier.fromSnapshot(JSON.parse(saved), { concurrencyLimit: 1 });
   */
  static fromSnapshot(snapshot: BarrierSnapshot, options?: BarrierOptions): Barrier {
    checkSnapshot(snapshot);
    const barrier = new Barrier(options);
    const { keyThreshold, concurrencyLimit } = barrier.options;
    for (const r of snapshot.records) {
      const mode = MODE_NAMES.indexOf(r.mode) as Mode;
      const failed = r.failedJobId ?? undefined;
      // Sets the new options do not keep would misfire: a running set under
      // keyThreshold 0 would disable the key at its next enter, a draining
      // set under concurrencyLimit 0 would reject every job of the key.
      const running = keyThreshold > 0 ? r.concurrent : null;
      const draining = concurrencyLimit > 0 && r.draining !== null ? JobIdSet.of(r.draining) : null;
      const record = new KeyRecord(mode, r.modeSince, failed, running !== null, draining);
      if (running !== null) for (const id of running) record.add(id);
      if (record.inactive) continue;
      const bare = mode === ENABLED && failed !== undefined && r.modeSince === 0 && running === null && draining === null;
      barrier.records.set(r.key, bare ? failedOnly(failed) : record);
    }
    for (const command of snapshot.queue) barrier.enqueue(command.key, command.jobId, stateCode(command.state), undefined);
    return barrier;
  }

  /** How many keys have a record. */
  get size(): number {
    const { log } = this;
    return this.records.size + (log === null || log.size === 0 ? 0 : log.groups().size);
  }

  /**
   * How many keys have a failed job (each holds its later jobs back). While
   * it is 0, `wait` answers "go" for every job without a lookup.
   *
   * @example
   * metrics.blockedKeys.set(barrier.failing);
   */
  get failing(): number {
    return this.records.failing;
  }

  /** How many `stateChanged` commands wait for `sync()`. */
  get pending(): number {
    return this.queueLength;
  }

  /**
   * Asks whether job `jobId` of `key` may enter now. A rejected job should
   * be offered again after the barrier changes (after `sync()`).
   * Throws {@link IllegalJobSequenceError} when `jobId` is older than the
   * key's failed job (the barrier is then left as it was).
   *
   * @example
   * const { accepted, previousFailedJobId } = barrier.enter(job.userId, job.id);
   */
  enter(key: string, jobId: number): EnterResult {
    // Checked inline: the call runs only for a bad argument (or a job id past 32 bits).
    if (typeof key !== 'string' || typeof jobId !== 'number' || (jobId | 0) !== jobId) checkJob(key, jobId);
    const entry = this.records.lookup(key);
    // Hot path: no record, nothing to allocate.
    if (entry === undefined) return this.recording === false ? ACCEPTED : this.startRecord(key, jobId, undefined);
    const record = recordOf(entry);
    if (record === undefined) return this.enterFailed(key, jobId, failedJobOf(entry)!);
    if (record.idle === false) return this.enterRecord(key, jobId, record, undefined);
    // The key has no record but a kept one (keyThreshold > 0).
    return this.startRecord(key, jobId, record);
  }

  /**
   * `enter` for a key with no record, when keyThreshold > 0: steps 1 to 8
   * come down to "a fresh record running this job" unless ordering is off
   * or the key has other running ids. The job goes to the running log when
   * it has room; else to a record: the key's `idle` one, or a new one.
   */
  private startRecord(key: string, jobId: number, idle: KeyRecord | undefined): EnterResult {
    const { log } = this;
    if (log !== null) {
      if (log.enter(key, jobId)) return ACCEPTED_RECORDED;
      this.overflowed = true;
      // Full: the key's ids in the log, if any, go to its record, whose
      // running set then decides as in any other record.
      const record = this.claim(key, idle);
      if (record !== undefined) return this.enterRecord(key, jobId, record, undefined);
    }
    if (this.options.orderingDisabled !== undefined) return this.enterRecord(key, jobId, undefined, idle);
    this.adopt(key, idle).reset(jobId);
    return ACCEPTED_RECORDED;
  }

  /**
   * Gives a key in the running log the record it stands for: its `idle` one
   * (or a new one) with the key's running ids, now the key's record.
   * Undefined, changing nothing, for a key that is not in the log.
   */
  private claim(key: string, idle: KeyRecord | undefined): KeyRecord | undefined {
    const { log } = this;
    if (log === null || !log.hasKey(key)) return undefined;
    const record = this.adopt(key, idle);
    log.moveTo(key, record);
    return record;
  }

  /**
   * Makes the key's `idle` record, or a new one, its record: a fresh record
   * either way (an idle one is kept fresh, see `retire`), with no running id.
   */
  private adopt(key: string, idle: KeyRecord | undefined): KeyRecord {
    const record = this.newRecord(idle);
    if (idle !== undefined) this.records.revive(idle);
    else this.records.set(key, record);
    return record;
  }

  /** `enter` for an enabled key whose only state is its failed job. */
  private enterFailed(key: string, jobId: number, failed: number): EnterResult {
    if (this.orderingDisabledFor(key)) return ACCEPTED;
    const error = failed > jobId ? this.illegal('enter', key, failed, jobId) : undefined;
    const result = { accepted: failed === jobId, previousFailedJobId: failed };
    if (error !== undefined) this.reportIllegal(error);
    return result;
  }

  /**
   * `enter` for a key with a record (`existing`), or with none and
   * `keyThreshold > 0` (step 1 makes one, reusing the key's `idle` record).
   */
  private enterRecord(key: string, jobId: number, existing: KeyRecord | undefined, idle: KeyRecord | undefined): EnterResult {
    const { keyThreshold, concurrencyLimit } = this.options;
    if (this.orderingDisabledFor(key)) return ACCEPTED;
    const record = existing ?? this.newRecord(idle);
    // The mode step, applied (record.advance) only once every check has passed.
    const now = record.mode === ENABLED ? 0 : this.options.now();
    const mode = record.modeAt(now, this.options);
    if (mode === DISABLED) return ACCEPTED;

    const { running, draining, failedJobId } = record;
    if (running !== null && running.size >= keyThreshold && !running.has(jobId)) {
      // A hot key: trade its ordering for throughput. This job is not recorded.
      this.records.set(key, this.freshDisabled());
      return ACCEPTED;
    }
    let result: EnterResult;
    let error: IllegalJobSequenceError | undefined;
    if (draining !== null && draining.size >= concurrencyLimit && !draining.has(jobId)) {
      result = REJECTED;
    } else if (failedJobId !== undefined) {
      if (failedJobId > jobId && mode === ENABLED) error = this.illegal('enter', key, failedJobId, jobId);
      result = { accepted: failedJobId === jobId, previousFailedJobId: failedJobId };
    } else {
      result = running !== null || draining !== null ? ACCEPTED_RECORDED : ACCEPTED;
    }
    // Every check has passed: from here on the call takes effect.
    record.advance(now, this.options);
    if (result.accepted) {
      running?.add(jobId);
      draining?.add(jobId);
    }
    if (idle !== undefined) this.records.revive(idle);
    else if (existing === undefined) this.records.set(key, record);
    else if (record.inactive) this.retire(key, record);
    if (error !== undefined) this.reportIllegal(error);
    return result;
  }

  /** The key's idle record, if it has one. */
  private idleRecord(key: string): KeyRecord | undefined {
    const entry = this.records.find(key);
    const record = entry === undefined ? undefined : recordOf(entry);
    return record?.idle === true ? record : undefined;
  }

  /**
   * Every record by key, sorted: the record map's, and those the running
   * log's keys stand for (enabled, with their running ids).
   */
  private sortedRecords(): [string, Entry][] {
    const sorted = this.records.sorted();
    const { log } = this;
    if (log === null || log.size === 0) return sorted;
    for (const [key, ids] of log.groups()) {
      const record = this.newRecord(undefined);
      for (const id of ids) record.add(id);
      sorted.push([key, record]);
    }
    return sorted.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** A new enabled record with an empty running set; an idle one is one already (see `retire`). */
  private newRecord(idle: KeyRecord | undefined): KeyRecord {
    return idle ?? new KeyRecord(ENABLED, 0, undefined, true, null);
  }

  /**
   * Ends a record left inactive. A record kept idle is left as `newRecord`
   * makes one (inactive already means enabled, no failed job, not draining),
   * so that reusing it is one `reset`.
   */
  private retire(key: string, record: KeyRecord): void {
    const keep = this.keepsIdle();
    if (keep) record.refresh();
    this.records.retire(key, record, keep);
  }

  /** `retire` for a record `leaveRunning` left with no running id, fresh already. */
  private retireRunning(key: string, record: KeyRecord): void {
    this.records.retire(key, record, this.keepsIdle());
  }

  /** Whether a retired record is kept idle: while jobs make records (see `overflowed`). */
  private keepsIdle(): boolean {
    return this.recording && (this.log === null || this.overflowed);
  }

  /**
   * Undoes `enter` for a job that will not run after all (it was admitted
   * but dropped before being tried). Idempotent; unknown keys are fine.
   *
   * @example
   * if (barrier.enter(key, id).accepted && shuttingDown) barrier.leave(key, id);
   */
  leave(key: string, jobId: number): void {
    // Checked inline: the call runs only for a bad argument (or a job id past 32 bits).
    if (typeof key !== 'string' || typeof jobId !== 'number' || (jobId | 0) !== jobId) checkJob(key, jobId);
    const entry = this.records.get(key);
    if (entry === undefined) {
      this.log?.remove(key, jobId);
      return;
    }
    const record = recordOf(entry);
    if (record === undefined) return;
    record.running?.delete(jobId);
    record.draining?.delete(jobId);
    if (record.inactive) this.retire(key, record);
  }

  /**
   * @internal Whether `jobId` is in the key's running or draining set, i.e.
   * entered and neither left nor synced terminal. Changes nothing.
   */
  tracks(key: string, jobId: number): boolean {
    const entry = this.records.get(key);
    if (entry === undefined) return this.log?.has(key, jobId) === true;
    const record = recordOf(entry);
    if (record === undefined) return false;
    return record.running?.has(jobId) === true || record.draining?.has(jobId) === true;
  }

  /**
   * Whether the key has a record (a failed job, running or draining jobs
   * tracked, or a disabled mode).
   *
   * @example
   * barrier.has('user-1'); // false for a key that never failed
   */
  has(key: string): boolean {
    checkKey(key);
    return this.records.get(key) !== undefined || this.log?.hasKey(key) === true;
  }

  /**
   * The key's failed job, if it has one.
   *
   * @example
   * barrier.peek('user-1'); // 1 while job 1 waits for its retry
   */
  peek(key: string): number | undefined {
    checkKey(key);
    const entry = this.records.get(key);
    return entry === undefined ? undefined : failedJobOf(entry);
  }

  /**
   * The last check before a job is sent: must it wait (be handed back)
   * because an earlier job of its key failed after it was admitted?
   * Throws {@link IllegalJobSequenceError} when `jobId` is older than the
   * key's failed job.
   *
   * @example
   * if (barrier.wait(key, id).wait) barrier.stateChanged(key, id, 'waiting');
   */
  wait(key: string, jobId: number): WaitResult {
    // Checked inline: the call runs only for a bad argument (or a job id past 32 bits).
    if (typeof key !== 'string' || typeof jobId !== 'number' || (jobId | 0) !== jobId) checkJob(key, jobId);
    // While no key has a failed job, no job must wait: no lookup at all.
    return this.records.failing === 0 ? NO_WAIT : this.waitBehind(key, jobId);
  }

  /** `wait` while some key has a failed job. */
  private waitBehind(key: string, jobId: number): WaitResult {
    // An idle record (see RecordMap) has no failed job either.
    const entry = this.records.find(key);
    const failed = entry === undefined ? undefined : failedJobOf(entry);
    if (failed === undefined) return NO_WAIT;
    const mode = recordOf(entry!)?.mode ?? ENABLED;
    if (mode === DISABLED) return NO_WAIT;
    const result: WaitResult = { wait: jobId !== failed, previousFailedJobId: failed };
    if (failed > jobId && mode === ENABLED) this.reportIllegal(this.illegal('wait', key, failed, jobId));
    return result;
  }

  /**
   * Reports what became of a job. `failed` takes effect at once (report it
   * as soon as the attempt fails); every other state is queued for `sync()`
   * when the key has a record (report it after the outcome is persisted).
   * Returns `true` when the state was queued.
   *
   * @example
   * barrier.stateChanged('user-1', 1, 'failed');    // false: applied now
   * barrier.stateChanged('user-1', 1, 'succeeded'); // true: applied at the next sync()
   */
  stateChanged(key: string, jobId: number, state: JobState): boolean {
    // Checked inline: the call runs only for a bad argument (or a job id past 32 bits).
    if (typeof key !== 'string' || typeof jobId !== 'number' || (jobId | 0) !== jobId) checkJob(key, jobId);
    const code = stateCode(state);
    if (code === FAILED) {
      this.applyFailed(key, jobId);
      return false;
    }
    // `get` spelled out: it would run recordOf twice on the job's hot path.
    const entry = this.records.find(key);
    const record = entry === undefined ? undefined : recordOf(entry);
    if (entry === undefined || record?.idle === true) {
      // With no record (an idle one is none), applying any other state
      // changes nothing, unless the key has running ids in the log.
      if (this.log === null || !this.log.hasKey(key)) return false;
      this.enqueue(key, jobId, code, undefined);
      return true;
    }
    this.enqueue(key, jobId, code, record);
    return true;
  }

  /**
   * Applies the queued `stateChanged` commands in arrival order and returns
   * how many it applied (those that turned out to change nothing included).
   * One owner calls it, e.g. at the start of each poll for new jobs.
   *
   * @example
   * const applied = barrier.sync();
   */
  sync(): number {
    const count = this.queueLength;
    const { queueKeys, queueRecords, queueIds, queueStates } = this;
    for (let i = 0; i < count; i++) {
      const record = queueRecords[i];
      // The common case for a key with a record under keyThreshold > 0 (a
      // key with none has its ids in the running log): a record whose running
      // ids are all its state, which the job only leaves, whatever its state.
      // Left with none, it retires as `retire` retires it.
      const left = record === undefined ? -1 : record.leaveRunning(queueIds[i]!);
      if (left === 0) this.retireRunning(queueKeys[i]!, record!);
      else if (left < 0) this.applyQueued(queueKeys[i]!, queueIds[i]!, queueStates[i] as StateCode, record);
    }
    this.queueLength = 0;
    if (this.overflowed && this.log!.size === 0) this.overflowed = false;
    if (count > QUEUE_KEEP) this.shrinkQueue();
    return count;
  }

  /**
   * Whether the key's mode, as last set, is `disabled` (by `keyThreshold`
   * or `orderingDisabled`). Time-driven changes happen only at `enter` and
   * `prune`, so a key whose `disabledDuration` has passed still reads
   * `true` until then. Changes nothing.
   *
   * @example
   * if (barrier.disabled('hot-user')) metrics.disabledKeys.inc();
   */
  disabled(key: string): boolean {
    checkKey(key);
    const entry = this.records.get(key);
    return entry !== undefined && recordOf(entry)?.mode === DISABLED;
  }

  /**
   * Applies the time-driven mode changes to every record and deletes those
   * then inactive, e.g. keys that went idle while disabled. Returns how
   * many records it deleted.
   *
   * @example
   * setInterval(() => barrier.prune(), 60_000);
   */
  prune(): number {
    // Idle records are not records to the caller: dropped, not counted.
    this.records.dropIdle();
    if (this.records.size === 0) return 0;
    const now = this.options.now();
    let deleted = 0;
    for (const [key, entry] of this.records.records()) {
      entry.advance(now, this.options);
      if (entry.inactive) {
        this.records.delete(key);
        deleted++;
      }
    }
    return deleted;
  }

  /**
   * A JSON-serialisable picture of every record and the queue, for
   * `Barrier.fromSnapshot` or for inspection.
   *
   * @example
   * await fs.writeFile('barrier.json', JSON.stringify(barrier.snapshot()));
   */
  snapshot(): BarrierSnapshot {
    const records: BarrierRecordSnapshot[] = [];
    for (const [key, entry] of this.sortedRecords()) {
      const { mode, modeSince, failedJobId, running, draining } = fieldsOf(entry);
      records.push({
        key,
        mode: MODE_NAMES[mode]!,
        modeSince,
        failedJobId: failedJobId ?? null,
        concurrent: running && running.toArray(),
        draining: draining && draining.toArray(),
      });
    }
    const queue: QueuedStateSnapshot[] = [];
    for (let i = 0; i < this.queueLength; i++) {
      queue.push({
        key: this.queueKeys[i]!,
        jobId: this.queueIds[i]!,
        state: JOB_STATES[this.queueStates[i]!] as QueuedStateSnapshot['state'],
      });
    }
    return { version: 1, records, queue };
  }

  /**
   * A human-readable summary naming the metadata and, per key, its mode,
   * failed job and running jobs.
   *
   * @example
   * console.log(String(barrier));
   * // Barrier {router=webhooks} 1 key, 0 pending: "user-1" failed job 1
   */
  toString(): string {
    const parts: string[] = [];
    for (const [key, entry] of this.sortedRecords()) {
      let text = JSON.stringify(key);
      const { mode, modeSince, failedJobId, running, draining } = fieldsOf(entry);
      if (mode !== ENABLED) text += ` ${MODE_NAMES[mode]} since ${modeSince}`;
      if (failedJobId !== undefined) text += ` failed job ${failedJobId}`;
      if (running !== null) text += ` running [${running.toArray().join(', ')}]`;
      if (draining !== null) text += ` draining [${draining.toArray().join(', ')}]`;
      parts.push(text);
    }
    const meta = formatMetadata(this.options.metadata);
    const { size } = this;
    return (
      `Barrier${meta === '' ? '' : ` ${meta}`} ${size} ${size === 1 ? 'key' : 'keys'}, ${this.queueLength} pending` +
      (parts.length === 0 ? '' : `: ${parts.join('; ')}`)
    );
  }

  private enqueue(key: string, jobId: number, code: StateCode, record: KeyRecord | undefined): void {
    const i = this.queueLength++;
    if (i === this.queueIds.length) this.growQueue();
    this.queueKeys[i] = key;
    this.queueRecords[i] = record;
    this.queueIds[i] = jobId;
    this.queueStates[i] = code;
  }

  /** Gives a long queue's arrays back to the allocator (the queue is empty). */
  private shrinkQueue(): void {
    this.queueKeys = [];
    this.queueRecords = [];
    this.queueIds = new Float64Array(QUEUE_START);
    this.queueStates = new Uint8Array(QUEUE_START);
  }

  private growQueue(): void {
    const ids = new Float64Array(this.queueIds.length * 2);
    const states = new Uint8Array(ids.length);
    ids.set(this.queueIds);
    states.set(this.queueStates);
    this.queueIds = ids;
    this.queueStates = states;
  }

  private applyQueued(key: string, jobId: number, code: StateCode, queued: KeyRecord | undefined): void {
    // The record it was queued for, while that is still the key's entry.
    const entry = queued === undefined || queued.detached ? this.records.get(key) : queued.idle ? undefined : queued;
    if (entry === undefined) {
      // A key with no record may have running ids in the log: the job leaves
      // them, whatever its state, as it would leave a record's running set.
      this.log?.remove(key, jobId);
      return;
    }
    const drainAfterAbort = code === ABORTED && this.options.concurrencyLimit > 0;
    const record = recordOf(entry);
    if (record === undefined) {
      // Only its own terminal state clears a failed job; other ids are out of date.
      if (code === WAITING || failedJobOf(entry) !== jobId) return;
      if (drainAfterAbort) this.records.set(key, new KeyRecord(ENABLED, 0, undefined, false, new JobIdSet()));
      else this.records.delete(key);
      return;
    }
    if (code !== WAITING && record.mode === DISABLED) return;
    record.running?.delete(jobId);
    record.draining?.delete(jobId);
    if (code !== WAITING) {
      const failed = record.failedJobId;
      if (failed !== undefined && failed !== jobId) return;
      this.records.setFailed(record, undefined);
      record.draining = drainAfterAbort && failed === jobId ? new JobIdSet() : null;
    }
    if (record.inactive) this.retire(key, record);
  }

  private applyFailed(key: string, jobId: number): void {
    // A failure of a key whose ordering is off is ignored: recording it would
    // block the key once ordering is switched back on.
    if (this.options.orderingDisabled?.(key) === true) return;
    const entry = this.records.get(key) ?? this.claim(key, this.idleRecord(key));
    if (entry === undefined) {
      this.records.set(key, failedOnly(jobId));
      return;
    }
    const record = recordOf(entry);
    if (record === undefined) {
      // Nothing to change: the earlier failed job stays the failed one.
      const failed = failedJobOf(entry)!;
      if (failed > jobId) this.reportIllegal(this.illegal('job_failed', key, failed, jobId));
      return;
    }
    if (record.mode === DISABLED) return;
    const failed = record.failedJobId;
    const error =
      failed !== undefined && failed > jobId && record.mode === ENABLED
        ? this.illegal('job_failed', key, failed, jobId)
        : undefined;
    record.running?.delete(jobId);
    record.draining = null;
    if (failed === undefined) this.records.setFailed(record, jobId);
    if (error !== undefined) this.reportIllegal(error);
  }

  /** At `enter`: when `orderingDisabled(key)` says so, (re)disables the key now. */
  private orderingDisabledFor(key: string): boolean {
    const { orderingDisabled } = this.options;
    if (orderingDisabled === undefined || !orderingDisabled(key)) return false;
    this.records.set(key, this.freshDisabled());
    return true;
  }

  private freshDisabled(): KeyRecord {
    return new KeyRecord(DISABLED, this.options.now(), undefined, this.recording, null);
  }

  /**
   * Builds the error for an illegal sequence. In `'throw'` mode it throws at
   * once, before the caller has changed anything; otherwise the caller
   * applies its effect and then hands the error to {@link reportIllegal}.
   */
  private illegal(location: IllegalSequenceLocation, key: string, previous: number, jobId: number): IllegalJobSequenceError {
    const { metadata, debugInfo, onIllegalSequence } = this.options;
    const error = new IllegalJobSequenceError(location, key, previous, jobId, metadata, debugInfo?.(key));
    if (onIllegalSequence === 'throw') throw error;
    return error;
  }

  private reportIllegal(error: IllegalJobSequenceError): void {
    (this.options.onIllegalSequence as (error: IllegalJobSequenceError) => void)(error);
  }
}
