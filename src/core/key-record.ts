import type { BarrierMode } from './barrier-snapshot.js';
import type { JobIdSet } from './job-id-set.js';

export const ENABLED = 0;
export const DISABLED = 1;
export const HALF_ENABLED = 2;
export type Mode = typeof ENABLED | typeof DISABLED | typeof HALF_ENABLED;
export const MODE_NAMES: readonly BarrierMode[] = ['enabled', 'disabled', 'halfEnabled'];

/** A key's record when it is more than an enabled key with one failed job. */
export class KeyRecord {
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
    public failedJobId: number | undefined,
    /** Admitted, running ids; kept only with `keyThreshold > 0`. */
    public concurrent: JobIdSet | null,
    /** Ids admitted while draining; null when not draining. */
    public draining: JobIdSet | null,
  ) {}

  get inactive(): boolean {
    return (
      this.mode === ENABLED &&
      this.failedJobId === undefined &&
      (this.concurrent === null || this.concurrent.size === 0) &&
      this.draining === null
    );
  }
}

/**
 * A key's record. The commonest record, an enabled key whose only state is
 * its failed job, is stored as that job id itself: it costs no object, which
 * keeps a million failed keys under 100 bytes each.
 */
export type Entry = number | KeyRecord;
