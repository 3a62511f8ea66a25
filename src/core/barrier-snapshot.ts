import type { JobState } from './job-state.js';
import { isJobState } from './job-state.js';
import { describeValue } from './errors.js';

/** How ordering is enforced for one key. */
export type BarrierMode = 'enabled' | 'disabled' | 'halfEnabled';

/** One key's record in a {@link BarrierSnapshot}. */
export interface BarrierRecordSnapshot {
  /** The ordering key the record belongs to. */
  key: string;
  /** Whether ordering is enforced for the key (see {@link BarrierMode}). */
  mode: BarrierMode;
  /** Clock time of the last mode change; `0` for a record that was never disabled. */
  modeSince: number;
  /** The failed job still to be retried, or `null`. */
  failedJobId: number | null;
  /** Ids admitted and still running (kept only with `keyThreshold > 0`), or `null`. */
  concurrent: number[] | null;
  /** Ids admitted while draining after an abort, or `null` when not draining. */
  draining: number[] | null;
}

/** A queued, not yet applied `stateChanged` command. */
export interface QueuedStateSnapshot {
  /** The key of the job whose state changed. */
  key: string;
  /** The job whose state changed. */
  jobId: number;
  /** The state it changed to (a failure is applied at once, never queued). */
  state: Exclude<JobState, 'failed'>;
}

/**
 * A JSON-serialisable picture of a {@link Barrier}: every record and the
 * queue of commands waiting for `sync()`. Options are not part of it.
 */
export interface BarrierSnapshot {
  /** The snapshot format; `fromSnapshot` rejects any other. */
  version: 1;
  /** One entry per key the barrier keeps a record for. */
  records: BarrierRecordSnapshot[];
  /** The `stateChanged` commands not yet applied, in the order they were made. */
  queue: QueuedStateSnapshot[];
}

const MODES: readonly string[] = ['enabled', 'disabled', 'halfEnabled'];

function fail(path: string, expected: string, value: unknown): never {
  throw new TypeError(`invalid barrier snapshot: ${path} must be ${expected}, got ${describeValue(value)}`);
}

function checkId(path: string, value: unknown): asserts value is number {
  if (!Number.isSafeInteger(value)) fail(path, 'a safe integer', value);
}

function checkIds(path: string, value: unknown): asserts value is number[] | null {
  if (value === null) return;
  if (!Array.isArray(value)) fail(path, 'an array of job ids or null', value);
  value.forEach((id, index) => checkId(`${path}[${index}]`, id));
}

/**
 * Checks that `snapshot` has the shape of a {@link BarrierSnapshot}; throws a
 * TypeError naming the first offending field otherwise.
 */
export function checkSnapshot(snapshot: unknown): asserts snapshot is BarrierSnapshot {
  if (typeof snapshot !== 'object' || snapshot === null) fail('snapshot', 'an object', snapshot);
  const { version, records, queue } = snapshot as Record<string, unknown>;
  if (version !== 1) fail('version', '1', version);
  if (!Array.isArray(records)) fail('records', 'an array', records);
  if (!Array.isArray(queue)) fail('queue', 'an array', queue);
  const seen = new Set<string>();
  records.forEach((record: unknown, index) => {
    const at = `records[${index}]`;
    if (typeof record !== 'object' || record === null) fail(at, 'an object', record);
    const r = record as Record<string, unknown>;
    if (typeof r.key !== 'string') fail(`${at}.key`, 'a string', r.key);
    if (seen.has(r.key)) fail(`${at}.key`, 'unique', r.key);
    seen.add(r.key);
    if (!MODES.includes(r.mode as string)) fail(`${at}.mode`, `one of ${MODES.join(', ')}`, r.mode);
    if (typeof r.modeSince !== 'number' || !Number.isFinite(r.modeSince)) fail(`${at}.modeSince`, 'a finite number', r.modeSince);
    if (r.failedJobId !== null) checkId(`${at}.failedJobId`, r.failedJobId);
    checkIds(`${at}.concurrent`, r.concurrent);
    checkIds(`${at}.draining`, r.draining);
  });
  queue.forEach((command: unknown, index) => {
    const at = `queue[${index}]`;
    if (typeof command !== 'object' || command === null) fail(at, 'an object', command);
    const c = command as Record<string, unknown>;
    if (typeof c.key !== 'string') fail(`${at}.key`, 'a string', c.key);
    checkId(`${at}.jobId`, c.jobId);
    if (!isJobState(c.state) || c.state === 'failed') fail(`${at}.state`, 'a queued state (not failed)', c.state);
  });
}
