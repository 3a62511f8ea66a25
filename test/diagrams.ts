// The canonical marble diagrams: one source of truth for the marble tests,
// the pictures in docs/marbles/ and the text marbles in docs/*.md.
//
// Each diagram is data: the setup, the marble strings (run mode: one
// character is one frame of 1 ms, spaces are ignored) and what the letters
// stand for. `test/support/diagram-player.ts` runs a diagram's scenario and
// asserts every stream; the marble specs call it from the test that names the
// behaviour, and `test/docs-marbles.spec.ts` checks that each diagram is
// played by one of them and that its picture and text are up to date.
// `npm run docs:marbles` (scripts/marbles.ts) draws the pictures.
import type { DeliveryResult, JobState, RetryDelay } from '../src/index.js';

/** A job of the barrier pipeline: its key, id and one outcome letter per attempt (see {@link OUTCOME_LETTERS}). */
export interface PipelineJob {
  readonly key: string;
  readonly id: number;
  /** `s` succeeded, `f` failed, `a` aborted, `x` filtered, `w` waiting; the last repeats. Default `s`. */
  readonly outcomes?: string;
}

/** A call on the store at a frame of virtual time. */
export type StoreCall = { readonly at: number; readonly call: 'sync' } | { readonly at: number; readonly call: 'resume'; readonly key: string };

interface DiagramBase {
  /** The export's name in kebab case: the picture is docs/marbles/<name>.svg. */
  readonly name: string;
  /** What the diagram shows, as the test names it. */
  readonly title: string;
  /** What the letters and the setup mean. */
  readonly legend: readonly string[];
  /** Why the output looks the way it does. */
  readonly notes: readonly string[];
  /** `false` for a diagram too long to draw (a time progression such as `100ms`): text only. */
  readonly picture?: false;
}

/**
 * `source → barrierEnter → concatMapByKey(barrierWait → attempt → barrierState)`,
 * the pipeline of reactive.md (test/support/barrier-pipeline.ts): each attempt
 * takes 2 frames and reports the job's next scripted outcome.
 */
export interface PipelineDiagram extends DiagramBase {
  readonly kind: 'pipeline';
  readonly jobs: Readonly<Record<string, PipelineJob>>;
  readonly store: { readonly retryDelay?: RetryDelay; readonly sync?: 'auto' | 'manual'; readonly concurrencyLimit?: number };
  /** Keys paused before the source is subscribed. */
  readonly paused?: readonly string[];
  readonly calls?: readonly StoreCall[];
  readonly source: string;
  /** What barrierEnter emits, re-admissions included. */
  readonly admitted: string;
  /** What barrierWait hands back as `waiting` (from `store.events$`). */
  readonly waiting?: string;
  /** What barrierWait lets through: the attempts actually started. */
  readonly sent?: string;
  /** What barrierState passes on. */
  readonly settled: string;
  /** The letters of `settled`: the job's letter and the state reported. */
  readonly statuses: Readonly<Record<string, readonly [job: string, state: JobState]>>;
}

/** `source.pipe(concatMapByKey(key, project, concurrency))`, each value's inner made up front. */
export interface ConcatMapByKeyDiagram extends DiagramBase {
  readonly kind: 'concatMapByKey';
  /** The key of each value letter. */
  readonly keys: Readonly<Record<string, string>>;
  readonly concurrency: number;
  /** Each value's inner; it emits the value itself (`v`). */
  readonly inners: Readonly<Record<string, string>>;
  readonly source: string;
  readonly output: string;
  /** When each inner is subscribed and unsubscribed. */
  readonly subscriptions: Readonly<Record<string, string>>;
}

/** `source.pipe(orderedDelivery(store, { deliver, ...options }))`, `deliver` playing one script per attempt. */
export interface DeliveryDiagram extends DiagramBase {
  readonly kind: 'orderedDelivery';
  /** Each job letter's key and id. */
  readonly jobs: Readonly<Record<string, readonly [key: string, id: number]>>;
  /**
   * Per job (named key + id, e.g. `a1`), one cold marble per attempt:
   * `s` succeeded, `f` failed, `a` aborted, `x` filtered, `#` an error.
   */
  readonly scripts: Readonly<Record<string, readonly string[]>>;
  readonly store?: { readonly maxHeldPerKey?: number };
  readonly options: { readonly concurrency?: number; readonly maxAttempts?: number; readonly retryDelay?: number };
  readonly source: string;
  /** Per key, when `deliver` is called, with the job's letter. */
  readonly deliveries: Readonly<Record<string, string>>;
  /** What `onOverflow` receives (the store gets an `onOverflow` only when this is set). */
  readonly overflowed?: string;
  readonly results: string;
  /** The letters of `results`: the job's letter, its terminal state and attempts (an aborted job keeps its last error). */
  readonly resultValues: Readonly<Record<string, readonly [job: string, state: DeliveryResult<unknown>['state'], attempts: number]>>;
}

export type MarbleDiagram = PipelineDiagram | ConcatMapByKeyDiagram | DeliveryDiagram;

/** The outcome letters of {@link PipelineJob.outcomes}. */
export const OUTCOME_LETTERS: Readonly<Record<string, JobState>> = { s: 'succeeded', f: 'failed', a: 'aborted', x: 'filtered', w: 'waiting' };

// barrierEnter ---------------------------------------------------------------

/** Canonical: a later job of a key waits for the key's failed job to be retried. */
export const HOLDS_BEHIND_A_FAILED_JOB: PipelineDiagram = {
  kind: 'pipeline',
  name: 'holds-behind-a-failed-job',
  title: "barrierEnter holds a later job of a key while the key's failed job waits for its retry",
  jobs: { a: { key: 'k', id: 1, outcomes: 'fs' }, b: { key: 'k', id: 2 } },
  store: { retryDelay: 5 },
  source: '-a--b|',
  admitted: '-a------a-b-|',
  settled: '---f------s-(t|)',
  statuses: { f: ['a', 'failed'], s: ['a', 'succeeded'], t: ['b', 'succeeded'] },
  legend: ['a: k#1, fails once, then succeeds', 'b: k#2', 'retryDelay 5'],
  notes: [
    'a fails at 3 and is re-admitted at 8 (3 + retryDelay 5).',
    "b arrives at 4 and is held; it is released at 10, once a's success has been synced.",
  ],
};

/** Canonical: a job never overtakes a held job of its own key; other keys flow. */
export const NEVER_OVERTAKES: PipelineDiagram = {
  kind: 'pipeline',
  name: 'never-overtakes',
  title: 'barrierEnter never lets a job overtake a held job of its own key, while other keys go on',
  jobs: { a: { key: 'k', id: 1, outcomes: 'fs' }, b: { key: 'k', id: 2 }, c: { key: 'k', id: 3 }, x: { key: 'j', id: 1 } },
  store: { retryDelay: 5 },
  source: '-a--bcx|',
  admitted: '-a----x-a-(bc)|',
  settled: '---f----y-s-b-(c|)',
  statuses: { f: ['a', 'failed'], y: ['x', 'succeeded'], s: ['a', 'succeeded'], b: ['b', 'succeeded'], c: ['c', 'succeeded'] },
  legend: ['a: k#1, fails once, then succeeds', 'b: k#2', 'c: k#3', 'x: j#1', 'retryDelay 5'],
  notes: [
    'b is rejected by the barrier (k#1 failed); c is held because b is, so it can never go first.',
    'x, of another key, is admitted at once.',
  ],
};

/** Canonical: with sync 'manual', nothing held is released until store.sync(). */
export const MANUAL_SYNC: PipelineDiagram = {
  kind: 'pipeline',
  name: 'manual-sync',
  title: "with sync: 'manual', barrierEnter releases held jobs only when store.sync() is called",
  jobs: { a: { key: 'k', id: 1, outcomes: 'fs' }, b: { key: 'k', id: 2 } },
  store: { retryDelay: 5, sync: 'manual' },
  calls: [{ at: 15, call: 'sync' }],
  source: '-a--b|',
  admitted: '-a------a------b-|',
  settled: '---f------s------(t|)',
  statuses: { f: ['a', 'failed'], s: ['a', 'succeeded'], t: ['b', 'succeeded'] },
  legend: ['a: k#1, fails once, then succeeds', 'b: k#2', "retryDelay 5, sync: 'manual', store.sync() at 15"],
  notes: [
    "a's retry needs no sync (its failure was applied at once).",
    "a's success is only queued at 10, so b waits for the sync at 15.",
  ],
};

/** Canonical: after an abort, the drain limit lets one job of the key through at a time. */
export const DRAIN_LIMIT: PipelineDiagram = {
  kind: 'pipeline',
  name: 'drain-limit',
  title: 'after an abort, the drain limit (concurrencyLimit 1) lets one job of the key through at a time',
  jobs: { a: { key: 'k', id: 1, outcomes: 'fa' }, b: { key: 'k', id: 2 }, c: { key: 'k', id: 3 } },
  store: { retryDelay: 5, concurrencyLimit: 1 },
  source: '-a--bc|',
  admitted: '-a------a-b-c-|',
  settled: '---f------A-t-(u|)',
  statuses: { f: ['a', 'failed'], A: ['a', 'aborted'], t: ['b', 'succeeded'], u: ['c', 'succeeded'] },
  legend: ['a: k#1, fails, then is aborted', 'b: k#2', 'c: k#3', 'retryDelay 5, concurrencyLimit 1'],
  notes: ['a is aborted at 10: b goes; c waits until b has succeeded (12).'],
};

/** Canonical: a paused key admits nothing until resumed; the entrance stays open meanwhile. */
export const PAUSE_RESUME: PipelineDiagram = {
  kind: 'pipeline',
  name: 'pause-resume',
  title: 'barrierEnter admits nothing of a paused key until it is resumed, then releases its jobs in id order',
  jobs: { a: { key: 'k', id: 1 }, b: { key: 'k', id: 2 }, x: { key: 'j', id: 1 } },
  store: {},
  paused: ['k'],
  calls: [{ at: 8, call: 'resume', key: 'k' }],
  source: '-a-b-x|',
  admitted: '-----x--(ab)|',
  settled: '-------y--s-(t|)',
  statuses: { y: ['x', 'succeeded'], s: ['a', 'succeeded'], t: ['b', 'succeeded'] },
  legend: ['a: k#1', 'b: k#2', 'x: j#1', "store.pause('k') before, store.resume('k') at 8"],
  notes: ['The source completes at 6, but the entrance stays open while it holds a and b.'],
};

// barrierWait ----------------------------------------------------------------

/** Canonical: a job admitted before its key's earlier job failed is diverted, then re-admitted. */
export const DIVERTS_AND_READMITS: PipelineDiagram = {
  kind: 'pipeline',
  name: 'diverts-and-readmits',
  title: "barrierWait diverts a job whose key's earlier job failed after it was admitted, and the entrance re-admits it",
  jobs: { a: { key: 'k', id: 1, outcomes: 'fs' }, b: { key: 'k', id: 2 } },
  store: { retryDelay: 5 },
  source: '-(ab)|',
  admitted: '-(ab)---a-b-|',
  waiting: '---b',
  sent: '-a------a-b-|',
  settled: '---f------s-(t|)',
  statuses: { f: ['a', 'failed'], s: ['a', 'succeeded'], t: ['b', 'succeeded'] },
  legend: ['a: k#1, fails once, then succeeds', 'b: k#2 (both admitted at 1)', 'retryDelay 5'],
  notes: [
    'b reaches barrierWait at 3, right after a failed: it is reported `waiting` and handed back.',
    "The entrance re-emits b at 10, after a's retry succeeded.",
  ],
};

// barrierState ---------------------------------------------------------------

/** Canonical: a failed job is retried after its retry delay, before the later jobs of its key. */
export const RETRIED_BEFORE_LATER_JOBS: PipelineDiagram = {
  kind: 'pipeline',
  name: 'retried-before-later-jobs',
  title: 'barrierState hands a failed job back for a retry after the retry delay, before the later jobs of its key',
  jobs: { a: { key: 'k', id: 1, outcomes: 'ffs' }, b: { key: 'k', id: 2 } },
  store: { retryDelay: (attempt) => 3 * attempt },
  source: '-a--b|',
  admitted: '-a----a-------a-b-|',
  settled: '---f----f-------s-(t|)',
  statuses: { f: ['a', 'failed'], s: ['a', 'succeeded'], t: ['b', 'succeeded'] },
  legend: ['a: k#1, fails twice, then succeeds', 'b: k#2', 'retryDelay: (attempt) => 3 * attempt'],
  notes: ['a fails at 3 (retried 3 later, at 6) and at 8 (retried 6 later, at 14).', 'b waits until a has succeeded.'],
};

/** Canonical: the default retry delay backs off from 100 ms. */
export const DEFAULT_RETRY_DELAY: PipelineDiagram = {
  kind: 'pipeline',
  name: 'default-retry-delay',
  title: 'barrierState retries after the default retry delay, 100 ms for the first failure',
  picture: false,
  jobs: { a: { key: 'k', id: 1, outcomes: 'fs' }, b: { key: 'k', id: 2 } },
  store: {},
  source: '-a--b|',
  admitted: '-a 101ms a-b-|',
  settled: '---f 101ms s-(t|)',
  statuses: { f: ['a', 'failed'], s: ['a', 'succeeded'], t: ['b', 'succeeded'] },
  legend: ['a: k#1, fails once, then succeeds', 'b: k#2', 'the default retryDelay'],
  notes: ['a fails at 3 and is re-admitted 100 ms later, at 103.'],
};

// concatMapByKey -------------------------------------------------------------

/** Canonical: one inner per key at a time, `concurrency` in all, the oldest waiting value first. */
export const PER_KEY_SERIAL_GLOBAL_BOUND: ConcatMapByKeyDiagram = {
  kind: 'concatMapByKey',
  name: 'per-key-serial-global-bound',
  title: 'concatMapByKey runs one inner per key at a time, at most `concurrency` in all, the value that arrived first going next',
  keys: { a: 'A', b: 'A', x: 'X', p: 'P' },
  concurrency: 2,
  inners: { a: '---v|', x: '--------v|', b: '-v|', p: '-v|' },
  source: '-axbp-----|',
  output: '----a-b-p-x|',
  subscriptions: { a: '-^---!', x: '--^--------!', b: '-----^-!', p: '-------^-!' },
  legend: ['a, b: key A', 'x: key X', 'p: key P', 'concurrency 2'],
  notes: [
    'b (key A, arrived at 3) waits for a; p (arrived at 4) waits for a free slot.',
    'When a ends at 5, b arrived before p, so b goes first, although p was ready before key A was.',
  ],
};

// orderedDelivery ------------------------------------------------------------

/** Canonical: a failed job is retried, and the later jobs of its key are held until it succeeds. */
export const DELIVERY_RETRY_HOLD_RELEASE: DeliveryDiagram = {
  kind: 'orderedDelivery',
  name: 'delivery-retry-hold-release',
  title: "orderedDelivery holds a key's later jobs while its failed job waits for a retry",
  jobs: { a: ['a', 1], b: ['a', 2] },
  scripts: { a1: ['---f', '---(s|)'], a2: ['---(s|)'] },
  options: { retryDelay: 5 },
  source: '-a----b---------|',
  deliveries: { a: '-a-------a--b---|' },
  results: '------------A--B|',
  resultValues: { A: ['a', 'succeeded', 2], B: ['b', 'succeeded', 1] },
  legend: ['a: a#1, fails, then succeeds', 'b: a#2', 'retryDelay 5'],
  notes: [
    'a fails at 4 and is delivered again at 9 (4 + retryDelay 5).',
    'b arrives at 6 and is held until a has succeeded (12), then delivered.',
  ],
};

/** Canonical: a key whose job keeps failing delays no other key beyond the shared bound. */
export const FAILING_KEY_DOES_NOT_DELAY_OTHERS: DeliveryDiagram = {
  kind: 'orderedDelivery',
  name: 'failing-key-does-not-delay-others',
  title: 'in orderedDelivery a failing key does not delay other keys',
  jobs: { a: ['a', 1], b: ['b', 1], c: ['b', 2] },
  scripts: { a1: ['-f', '-f', '-(s|)'], b1: ['--(s|)'], b2: ['--(s|)'] },
  options: { concurrency: 2, retryDelay: 3 },
  source: '(abc)|',
  deliveries: { a: 'a---a---a|', b: 'b-c------|' },
  results: '--B-C----(A|)',
  resultValues: { A: ['a', 'succeeded', 3], B: ['b', 'succeeded', 1], C: ['c', 'succeeded', 1] },
  legend: ['a: a#1, fails twice, then succeeds', 'b: b#1', 'c: b#2', 'concurrency 2, retryDelay 3'],
  notes: ['While a waits for its retries, key b runs its jobs one after the other.'],
};

/** Canonical: the failed attempt numbered maxAttempts aborts the job, which keeps its last error. */
export const ABORTS_AFTER_MAX_ATTEMPTS: DeliveryDiagram = {
  kind: 'orderedDelivery',
  name: 'aborts-after-max-attempts',
  title: 'in orderedDelivery the failed attempt numbered maxAttempts aborts the job, keeping its error',
  jobs: { a: ['a', 1], b: ['a', 2] },
  scripts: { a1: ['--#', '--#', '--#', '--(s|)'], a2: ['--(s|)'] },
  options: { maxAttempts: 3, retryDelay: 2 },
  source: '-a--b---------|',
  deliveries: { a: '-a---a---a-b--|' },
  results: '-----------A-B|',
  resultValues: { A: ['a', 'aborted', 3], B: ['b', 'succeeded', 1] },
  legend: ['a: a#1, errors every time', 'b: a#2', 'maxAttempts 3, retryDelay 2'],
  notes: [
    "a's third failed attempt (at 11) is reported as aborted: its result keeps that attempt's error.",
    'Aborted is terminal, so b goes on.',
  ],
};

/** Canonical: a job over maxHeldPerKey goes to onOverflow, never silently dropped. */
export const OVERFLOW_TO_CALLBACK: DeliveryDiagram = {
  kind: 'orderedDelivery',
  name: 'overflow-to-callback',
  title: 'with maxHeldPerKey 2, the newest job over the bound goes to onOverflow',
  jobs: { a: ['a', 1], b: ['a', 2], c: ['a', 3], d: ['a', 4], e: ['a', 5] },
  scripts: { a1: ['--f', '---(s|)'], a2: ['---(s|)'], a3: ['---(s|)'] },
  store: { maxHeldPerKey: 2 },
  options: { retryDelay: 5 },
  source: '-ab-cde-----------|',
  deliveries: { a: '-a------a--b--c---|' },
  overflowed: '-----de-----------|',
  results: '-----------A--B--C|',
  resultValues: { A: ['a', 'succeeded', 2], B: ['b', 'succeeded', 1], C: ['c', 'succeeded', 1] },
  legend: ['a: a#1, fails, then succeeds', 'b … e: a#2 … a#5', 'maxHeldPerKey 2, retryDelay 5'],
  notes: [
    'a fails at 3; b, admitted while a was in flight, is handed back to wait behind it and c is held behind b: two jobs held.',
    'd and e find two jobs held and go to onOverflow; a, b and c are delivered in order.',
  ],
};

/** Every diagram, in the order the docs show them. */
export const DIAGRAMS: readonly MarbleDiagram[] = [
  HOLDS_BEHIND_A_FAILED_JOB,
  NEVER_OVERTAKES,
  MANUAL_SYNC,
  DRAIN_LIMIT,
  PAUSE_RESUME,
  DIVERTS_AND_READMITS,
  RETRIED_BEFORE_LATER_JOBS,
  DEFAULT_RETRY_DELAY,
  PER_KEY_SERIAL_GLOBAL_BOUND,
  DELIVERY_RETRY_HOLD_RELEASE,
  FAILING_KEY_DOES_NOT_DELAY_OTHERS,
  ABORTS_AFTER_MAX_ATTEMPTS,
  OVERFLOW_TO_CALLBACK,
];
