import type { BarrierMode } from './barrier-snapshot.js';
import { JobIdSet } from './job-id-set.js';

export const ENABLED = 0;
export const DISABLED = 1;
export const HALF_ENABLED = 2;
export type Mode = typeof ENABLED | typeof DISABLED | typeof HALF_ENABLED;
export const MODE_NAMES: readonly BarrierMode[] = ['enabled', 'disabled', 'halfEnabled'];

/**
 * A key's record when it is more than an enabled key with one failed job.
 *
 * The record is its own running set (the ids it inherits from `JobIdSet`),
 * read through `running`: with `keyThreshold > 0` every job of a key with a
 * record adds and deletes its id there, so a key costs one object instead of
 * a record pointing at a set (see workload 3 with keyThreshold in
 * bench/barrier.bench.ts). Keys with no record keep their running ids in the
 * barrier's running log (running-log.ts).
 */
export class KeyRecord extends JobIdSet {
  /**
   * Inactive, but kept in the map for the key's next job to reuse (with
   * `keyThreshold > 0` only; see `RecordMap.retire`). Reads as no record.
   */
  idle = false;
  /** No longer the key's entry: a queued command must look the key up again. */
  detached = false;

  constructor(
    public mode: Mode,
    public modeSince: number,
    /** Written only through `RecordMap.setFailed`, which counts the records that have one. */
    public readonly failedJobId: number | undefined,
    /** Whether running ids are kept (see `running`); the set starts empty. */
    private tracking: boolean,
    /** Ids admitted while draining; null when not draining. */
    public draining: JobIdSet | null,
  ) {
    super();
  }

  /**
   * Admitted, running ids; kept only with `keyThreshold > 0`, which bounds
   * its size (past it the key is disabled), else null. `concurrent` in a snapshot.
   */
  get running(): JobIdSet | null {
    return this.tracking ? this : null;
  }

  /**
   * The mode step: the mode the key is in at `now`, one time-driven change
   * at most (disabled → half-enabled after `disabledDuration`, half-enabled
   * → enabled after `halfEnabledDuration`). Changes nothing; `advance` applies it.
   */
  modeAt(now: number, durations: ModeDurations): Mode {
    const { mode } = this;
    if (mode === ENABLED) return mode;
    if (mode === DISABLED) return now - this.modeSince > durations.disabledDuration ? HALF_ENABLED : DISABLED;
    return now - this.modeSince > durations.halfEnabledDuration ? ENABLED : HALF_ENABLED;
  }

  /** Applies the mode step at `now` (see `modeAt`). */
  advance(now: number, durations: ModeDurations): void {
    const mode = this.modeAt(now, durations);
    if (mode === this.mode) return;
    this.mode = mode;
    this.modeSince = now;
  }

  /**
   * Makes an inactive record what a new one is, for reuse: inactive already
   * means enabled, no failed job and not draining; left are the time of its
   * last mode change and its running set (kept, and emptied of any `Set`).
   */
  refresh(): void {
    this.modeSince = 0;
    this.tracking = true;
    this.clear();
  }

  /**
   * What `sync` does for a job that leaves a running-only record (current,
   * enabled, running ids kept, no failed job, no draining: its running ids
   * are all its state). Deletes `id` and returns how many running ids are
   * left; a record left with none is made fresh (see `refresh`), ready to be
   * kept idle. Returns -1, changing nothing, for any other record.
   */
  leaveRunning(id: number): number {
    // Flags compared with `=== true`/`=== false`: a bare boolean field in a
    // condition compiles to a full truthiness test, and this runs per job.
    if (this.tracking === false || this.mode !== ENABLED || this.failedJobId !== undefined || this.draining !== null || this.idle === true || this.detached === true) {
      return -1;
    }
    const left = this.leave(id);
    if (left === 0) this.modeSince = 0;
    return left;
  }

  get inactive(): boolean {
    return (
      this.mode === ENABLED &&
      this.failedJobId === undefined &&
      (this.running === null || this.running.size === 0) &&
      this.draining === null
    );
  }
}

/** How long a key stays disabled, then half-enabled (the barrier's options). */
export interface ModeDurations {
  readonly disabledDuration: number;
  readonly halfEnabledDuration: number;
}

/**
 * A key's record as the record map stores it. The commonest record, an
 * enabled key whose only state is its failed job, is stored as that job id
 * itself: it costs no object, which keeps a million failed keys under 100
 * bytes each. Read it through the functions below, never by its type.
 */
export type Entry = number | KeyRecord;

/** The entry's full record; undefined for the packed form (an enabled key with one failed job). */
export function recordOf(entry: Entry): KeyRecord | undefined {
  return typeof entry === 'number' ? undefined : entry;
}

/** The key's failed job, in either form. */
export function failedJobOf(entry: Entry): number | undefined {
  return typeof entry === 'number' ? entry : entry.failedJobId;
}

/** The packed entry of an enabled key whose only state is failed job `jobId`. */
export function failedOnly(jobId: number): Entry {
  return jobId;
}

/** Every field of an entry, in either form: for snapshots and messages, not hot paths. */
export function fieldsOf(entry: Entry): {
  mode: Mode;
  modeSince: number;
  failedJobId: number | undefined;
  running: JobIdSet | null;
  draining: JobIdSet | null;
} {
  return typeof entry === 'number'
    ? { mode: ENABLED, modeSince: 0, failedJobId: entry, running: null, draining: null }
    : entry;
}
