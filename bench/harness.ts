/**
 * The measuring machinery shared by the suites: options, result rows, a
 * timing loop (median of several whole-workload runs), heap helpers, and
 * running one measurement in a fresh child process.
 *
 * Why not mitata for everything: the workloads here are whole loops of a
 * million jobs with state carried between jobs (a barrier, a sync every
 * hundred jobs), so one timed call per run, with the barrier set up outside
 * the timing, is simpler to control and to explain than a per-iteration
 * micro-benchmark.
 */
import { fork } from 'node:child_process';
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pinnedNode } from './cpu.js';

export interface BenchOptions {
  /** Fewer and shorter runs: a smoke test of the suite, not a measurement. */
  readonly quick: boolean;
  /** Timed runs per workload (the median is reported). */
  readonly runs: number;
  /** Untimed warm-up runs per workload. */
  readonly warmup: number;
  /** Jobs per run. */
  readonly jobs: number;
  /** Distinct keys in the retained-memory workload. */
  readonly memoryKeys: number;
  /** Jobs in the allocation check. */
  readonly allocationJobs: number;
  /** Jobs in the soak run (over 100,000 keys). */
  readonly soakJobs: number;
  /** Run every measurement in this process instead of a fresh child each. */
  readonly inline: boolean;
  /** Counting instructions (bench/instructions.ts): each timed run goes in the counted region. */
  readonly counting?: boolean;
  /**
   * Run in turns with other children (set by {@link measureTogether}): each
   * run, warm-ups included, waits for the parent's go-ahead.
   */
  readonly turns?: boolean;
}

export const FULL: Omit<BenchOptions, 'inline'> = {
  quick: false,
  runs: 11,
  warmup: 2,
  jobs: 1_000_000,
  memoryKeys: 1_000_000,
  allocationJobs: 10_000_000,
  soakJobs: 10_000_000,
};

export const QUICK: Omit<BenchOptions, 'inline'> = {
  quick: true,
  runs: 3,
  warmup: 1,
  jobs: 200_000,
  memoryKeys: 200_000,
  allocationJobs: 2_000_000,
  soakJobs: 1_000_000,
};

/** One line of a suite's result table. Absent fields print as blanks. */
export interface Row {
  workload: string;
  /** Median ns per job over the timed runs. */
  nsPerJob?: number;
  /** Fastest and slowest run, ns per job. */
  spread?: readonly [number, number];
  /** Instructions per job (bench/instructions.ts). */
  instructions?: number;
  /** `nsPerJob` divided by the floor named in `ratioTo`. */
  ratio?: number;
  ratioTo?: string;
  bytesPerKey?: number;
  /** Free text, e.g. the allocation check's figures. */
  note?: string;
  target?: string;
  /** Undefined when the row has no target (floors, informational rows). */
  pass?: boolean;
}

/** What a task measured, sent from a child process back as JSON. */
export interface Measurement {
  /** ns per job of each timed run, in run order. */
  runs?: number[];
  bytesPerKey?: number;
  /** Minor (scavenge) and major GCs seen during the allocation check. */
  minorGcs?: number;
  majorGcs?: number;
  /** Estimated bytes allocated per job (heap growth between GCs). */
  bytesPerJob?: number;
  /** Anything else worth printing. */
  note?: string;
  /** Named figures of a suite's own (heap bytes, counts, samples). */
  figures?: Record<string, number | number[]>;
}

export type Task = (options: BenchOptions) => Measurement | Promise<Measurement>;

/** A suite: named tasks (each can run alone in a child) and `run` building its rows. */
export interface Suite {
  readonly name: string;
  readonly title: string;
  /** How to read the suite's table, printed under it in RESULTS.md. */
  readonly notes?: readonly string[];
  run(options: BenchOptions): Promise<Row[]>;
  /** The suite's timed tasks (those returning `runs`) and their rows' workload names, for `--instructions`. */
  readonly timed?: { readonly moduleUrl: string; readonly workloads: Readonly<Record<string, string>> };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function gcNow(): void {
  if (globalThis.gc === undefined) throw new Error('run with node --expose-gc (npm run bench does)');
  globalThis.gc();
  globalThis.gc();
}

/**
 * The builtin inside which bench/instructions.ts counts (Valgrind's
 * `--toggle-collect`): `Array.prototype.findLastIndex`, which neither the
 * library nor RxJS calls.
 */
export const COUNTED_REGION = 'Builtins_ArrayPrototypeFindLastIndex';

/** Runs `body` inside the counted region when counting instructions, else as is. */
function region<R>(options: BenchOptions, body: () => R): R {
  if (!options.counting) return body();
  let result: R | undefined;
  // ES2023, typed here: the package's lib is ES2022 (Node 18 and 20 both have it).
  ([0] as unknown as { findLastIndex(predicate: () => boolean): number }).findLastIndex(() => {
    result = body();
    return true;
  });
  return result as R;
}

/**
 * Times `body` on a fresh `setup()` per run: `warmup` untimed runs, then
 * `runs` timed ones, each after a full GC so that one run's garbage is not
 * collected on the next one's clock. Returns ns per job for each timed run.
 * A body that finishes asynchronously (a pipeline that completes later)
 * returns a promise: the clock stops when it resolves.
 * With `options.turns`, each run (warm-ups included) first waits for its turn.
 * `check` sees each run's state and result afterwards, untimed, so that a
 * workload that silently did something else fails loudly.
 */
export async function timeRuns<S, R>(
  options: BenchOptions,
  setup: () => S,
  body: (state: S, jobs: number) => R | Promise<R>,
  check: (state: S, result: R, jobs: number) => void,
): Promise<number[]> {
  const { jobs } = options;
  for (let i = 0; i < options.warmup; i++) {
    await turn(options);
    const state = setup();
    check(state, await body(state, jobs), jobs);
    await endTurn(options);
  }
  const perJob: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    await turn(options);
    const state = setup();
    gcNow();
    const start = process.hrtime.bigint();
    // Counting: the region is the synchronous part of the run (all of it for
    // a synchronous body, source or deliver); work a scheduler runs later is not counted.
    const result = await region(options, () => body(state, jobs));
    const end = process.hrtime.bigint();
    check(state, result, jobs);
    perJob.push(Number(end - start) / jobs);
    await endTurn(options);
  }
  return perJob;
}

const GC_MINOR = constants.NODE_PERFORMANCE_GC_MINOR;
const GC_MAJOR = constants.NODE_PERFORMANCE_GC_MAJOR;

/**
 * Runs `body` and counts the GCs V8 reports meanwhile (PerformanceObserver
 * `gc` entries, delivered after a short pause). Code that allocates nothing
 * on the JS heap never fills the young generation, so it triggers none.
 */
export async function countGcs<R>(body: () => R | Promise<R>): Promise<{ result: R; minorGcs: number; majorGcs: number }> {
  gcNow();
  const entries: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => entries.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  const result = await body();
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  const kinds = entries.map((entry) => (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind);
  return {
    result,
    minorGcs: kinds.filter((kind) => kind === GC_MINOR).length,
    majorGcs: kinds.filter((kind) => kind === GC_MAJOR).length,
  };
}

/** Bytes as MB (2^20) with one decimal, sign kept. */
export function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

export function heapUsed(): number {
  return process.memoryUsage().heapUsed;
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`benchmark self-check failed: ${message}`);
}

/** A child's messages to the parent (bench/child.ts). */
export type ChildMessage = { readonly kind: 'turn' } | { readonly kind: 'result'; readonly measurement: Measurement };

/** With `options.turns`: asks the parent for the next turn and waits for it. */
function turn(options: BenchOptions): Promise<void> {
  if (!options.turns) return Promise.resolve();
  return new Promise((resolve) => {
    process.once('message', () => resolve());
    process.send!({ kind: 'turn' } satisfies ChildMessage);
  });
}

/**
 * With `options.turns`, at the end of a turn: collects the turn's garbage and
 * gives the collector's helper threads a moment to finish sweeping, inside
 * this process's turn. Pinned to one CPU (bench/cpu.ts), whatever they left
 * would run during the next process's timed run.
 */
async function endTurn(options: BenchOptions): Promise<void> {
  if (!options.turns) return;
  gcNow();
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
}

/** How long a process waits after its turn's collection before yielding the CPU. */
const SETTLE_MS = 25;

/** A task started in a fresh child process, which reports its Measurement and asks for turns. */
interface Child {
  /** Resolved with the Measurement once the child has exited cleanly. */
  readonly result: Promise<Measurement>;
  /** Called with the go-ahead when the child asks for a turn. */
  onTurn: (() => void) | undefined;
  go(): void;
  kill(): void;
}

/** A task to measure beside others, with variables added to its process's environment (e.g. another build to measure). */
export interface Contender {
  readonly task: string;
  readonly env?: Readonly<Record<string, string>>;
}

function startChild(moduleUrl: string, { task: name, env }: Contender, options: BenchOptions): Child {
  const child = fork(fileURLToPath(new URL('./child.ts', import.meta.url)), [moduleUrl, name, JSON.stringify(options)], {
    ...pinnedNode(),
    env: { ...process.env, ...env },
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  });
  const handle: Child = {
    result: new Promise<Measurement>((resolve, reject) => {
      let measurement: Measurement | undefined;
      child.on('message', (message: ChildMessage) => {
        if (message.kind === 'result') measurement = message.measurement;
        else handle.onTurn?.();
      });
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        if (measurement !== undefined && code === 0) resolve(measurement);
        else reject(new Error(`task ${name} exited with ${signal ?? code} and ${measurement === undefined ? 'no' : 'a'} result`));
      });
    }),
    onTurn: undefined,
    go: () => child.send('go'),
    kill: () => child.kill(),
  };
  return handle;
}

/**
 * Runs `tasks[name]` of the suite module at `moduleUrl`, in a fresh child
 * process unless `options.inline`. A fresh process per measurement keeps the
 * JIT's type feedback from one workload (say, records with `keyThreshold`)
 * from slowing another (the no-record path), so the order of the workloads
 * does not change the figures.
 */
export async function measure(
  moduleUrl: string,
  tasks: Readonly<Record<string, Task>>,
  name: string,
  options: BenchOptions,
): Promise<Measurement> {
  const task = tasks[name];
  if (task === undefined) throw new Error(`no task ${name} in ${moduleUrl}`);
  if (options.inline) return task(options);
  return startChild(moduleUrl, { task: name }, { ...options, turns: false }).result;
}

/**
 * Measures timed tasks side by side: each in its own fresh process (as
 * {@link measure}), all started together and then taking turns, one run each
 * in round robin (a, b, c, a, b, c, …), while the others wait idle. On a
 * shared machine whose speed drifts by ±20% over seconds, the runs a ratio
 * compares are then seconds apart, not minutes: the drift reaches both sides
 * alike. Resolves with the Measurements in `contenders` order.
 */
export async function measureTogether(
  moduleUrl: string,
  tasks: Readonly<Record<string, Task>>,
  contenders: readonly (string | Contender)[],
  options: BenchOptions,
): Promise<Measurement[]> {
  const specs = contenders.map((c): Contender => (typeof c === 'string' ? { task: c } : c));
  for (const { task } of specs) if (tasks[task] === undefined) throw new Error(`no task ${task} in ${moduleUrl}`);
  if (options.inline) {
    if (specs.some((spec) => spec.env !== undefined)) throw new Error('a contender with its own environment needs its own process: drop --inline');
    const results: Measurement[] = [];
    for (const { task } of specs) results.push(await tasks[task]!(options));
    return results;
  }
  const children = specs.map((spec) => startChild(moduleUrl, spec, { ...options, turns: true }));
  const done = new Set<Child>();
  const waiting = new Set<Child>();
  // Strict round robin: the next child in order runs once it asks, so no
  // child runs its n-th run before every other has finished its (n-1)-th.
  let next = 0;
  let running: Child | undefined;
  const pump = (): void => {
    if (running !== undefined || done.size === children.length) return;
    while (done.has(children[next]!)) next = (next + 1) % children.length;
    const child = children[next]!;
    if (!waiting.has(child)) return;
    waiting.delete(child);
    running = child;
    next = (next + 1) % children.length;
    child.go();
  };
  for (const child of children) {
    child.onTurn = () => {
      if (running === child) running = undefined;
      waiting.add(child);
      pump();
    };
    // A finished child's last run has ended: the next may go.
    void child.result.then(
      () => {
        done.add(child);
        if (running === child) running = undefined;
        pump();
      },
      // The others would wait for its turn for ever.
      () => children.forEach((other) => other.kill()),
    );
  }
  return Promise.all(children.map((child) => child.result));
}

/** A timed workload's row: the median of its runs, with the fastest and slowest beside it. */
export type Timed = Row & { nsPerJob: number };

export function timed(workload: string, m: Measurement): Timed {
  const runs = m.runs ?? [];
  return { workload, nsPerJob: median(runs), spread: [Math.min(...runs), Math.max(...runs)] };
}

/** {@link measureTogether} for a suite's timed tasks `names`, as rows named by `workloads`, in `names` order. */
export async function timedTogether<const Names extends readonly string[]>(
  moduleUrl: string,
  tasks: Readonly<Record<string, Task>>,
  workloads: Readonly<Record<Names[number], string>>,
  names: Names,
  options: BenchOptions,
): Promise<{ [K in keyof Names]: Timed }> {
  const measured = await measureTogether(moduleUrl, tasks, names, options);
  return names.map((name: Names[number], i) => timed(workloads[name], measured[i]!)) as { [K in keyof Names]: Timed };
}

// ---- formatting -----------------------------------------------------------

const fmt = (value: number | undefined, digits: number): string => (value === undefined ? '' : value.toFixed(digits));

export const COLUMNS = ['workload', 'ns/job (median)', 'min–max', 'instructions/job', 'ratio', 'bytes/key', 'note', 'target', 'result'] as const;
/** The columns aligned right. */
const NUMERIC: ReadonlySet<number> = new Set([1, 2, 3, 5]);

export function cells(row: Row): string[] {
  return [
    row.workload,
    fmt(row.nsPerJob, 1),
    row.spread === undefined ? '' : `${row.spread[0].toFixed(1)}–${row.spread[1].toFixed(1)}`,
    row.instructions === undefined ? '' : Math.round(row.instructions).toLocaleString('en-US'),
    row.ratio === undefined ? '' : `${row.ratio.toFixed(2)}× ${row.ratioTo ?? ''}`.trim(),
    fmt(row.bytesPerKey, 1),
    row.note ?? '',
    row.target ?? '',
    row.pass === undefined ? '' : row.pass ? 'pass' : 'FAIL',
  ];
}

/** An aligned plain-text table, for the terminal. */
export function textTable(rows: readonly Row[]): string {
  const body = rows.map(cells);
  const all = [[...COLUMNS], ...body];
  // Only the columns that some row fills.
  const used = COLUMNS.map((_, c) => body.some((r) => r[c] !== ''));
  const width = COLUMNS.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const line = (r: string[]): string =>
    r
      .map((cell, c) => (NUMERIC.has(c) ? cell.padStart(width[c]!) : cell.padEnd(width[c]!)))
      .filter((_, c) => used[c])
      .join('  ')
      .trimEnd();
  const rule = width.filter((_, c) => used[c]).map((w) => '-'.repeat(w)).join('  ');
  return [line(all[0]!), rule, ...body.map(line)].join('\n');
}

/** A Markdown table, for RESULTS.md. */
export function markdownTable(rows: readonly Row[]): string {
  const body = rows.map(cells);
  const used = COLUMNS.map((_, c) => body.some((r) => r[c] !== ''));
  const pick = (r: readonly string[]): string[] => r.filter((_, c) => used[c]);
  const escape = (cell: string): string => cell.replaceAll('|', '\\|');
  const line = (r: readonly string[]): string => `| ${pick(r).map(escape).join(' | ')} |`;
  const align = COLUMNS.map((_, c) => (NUMERIC.has(c) ? '---:' : '---'));
  return [line(COLUMNS), line(align), ...body.map(line)].join('\n');
}
