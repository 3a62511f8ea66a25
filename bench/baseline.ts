/**
 * `npm run bench -- --baseline <git-ref>`: builds `<git-ref>` into a
 * temporary `git worktree` (sharing this checkout's node_modules) so that the
 * same suites can measure it beside the working tree's build, in one session
 * on one machine. The suites load the build named by `BENCH_DIST_ENV`
 * (bench/lib.ts), so only the measured package changes, not the bench code;
 * the ref must therefore have the public API the suites use.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, measureTogether, type BenchOptions, type Row, type Task } from './harness.js';

/** The environment variable bench/lib.ts reads: a dist/ folder to measure instead of ../dist. */
export const BENCH_DIST_ENV = 'RX_BARRIER_BENCH_DIST';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A built checkout of `ref`; `remove()` deletes the worktree. */
export function buildBaseline(ref: string): { dist: string; commit: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'rx-barrier-baseline-'));
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  const commit = git('rev-parse', '--short', ref);
  git('worktree', 'add', '--detach', dir, ref);
  const remove = (): void => {
    try {
      git('worktree', 'remove', '--force', dir);
    } catch {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    execFileSync('npx', ['tsup'], { cwd: dir, stdio: 'ignore' });
  } catch (error) {
    remove();
    throw error;
  }
  return { dist: join(dir, 'dist'), commit, remove };
}

/** Whether a suite's row measures plain JavaScript or RxJS, for scale: no library code, so no target against a baseline. */
export const isFloor = (workload: string): boolean => /^floor:|Map\.get hit|^[bc] (groupBy|bare mergeMap)/.test(workload);

/** Median ns/job of a workload on this build and on the baseline's, measured side by side. */
export interface SideBySide {
  readonly current: number;
  readonly baseline: number;
}

/**
 * Measures a suite's timed workloads again, this build's process and the
 * baseline's for each workload taking turns with all the others (see
 * `measureTogether`): the ratio then compares runs made seconds apart,
 * where the two suite runs it would otherwise compare are minutes apart.
 * Keyed by workload name.
 */
export async function measureBeside(
  timed: { readonly moduleUrl: string; readonly workloads: Readonly<Record<string, string>> },
  options: BenchOptions,
  dist: string,
): Promise<Map<string, SideBySide>> {
  const { tasks } = (await import(timed.moduleUrl)) as { tasks: Readonly<Record<string, Task>> };
  const names = Object.keys(timed.workloads);
  const measured = await measureTogether(
    timed.moduleUrl,
    tasks,
    names.flatMap((task) => [{ task }, { task, env: { [BENCH_DIST_ENV]: dist } }]),
    options,
  );
  const byWorkload = new Map<string, SideBySide>();
  names.forEach((task, i) => {
    const current = median(measured[2 * i]!.runs ?? []);
    const baseline = median(measured[2 * i + 1]!.runs ?? []);
    byWorkload.set(timed.workloads[task]!, { current, baseline });
  });
  return byWorkload;
}

/**
 * One row per timed workload of both runs: the working tree's ns/job beside
 * the baseline's, from `beside` (measured side by side) where it has the
 * workload, else from the two suite runs.
 */
export function compareRows(current: readonly Row[], baseline: readonly Row[], ref: string, beside?: ReadonlyMap<string, SideBySide>): Row[] {
  const rows: Row[] = [];
  for (const row of current) {
    const paired = beside?.get(row.workload);
    const now = paired?.current ?? row.nsPerJob;
    const before = paired?.baseline ?? baseline.find((candidate) => candidate.workload === row.workload)?.nsPerJob;
    if (now === undefined || before === undefined) continue;
    const ratio = now / before;
    // A floor runs no library code: its ratio is the noise of the comparison, not a result.
    const floor = isFloor(row.workload);
    rows.push({
      workload: row.workload,
      nsPerJob: now,
      ratio,
      ratioTo: `${ref} (${before.toFixed(1)} ns/job)${paired === undefined ? '' : ', side by side'}`,
      ...(floor ? { note: 'no library code: the noise of this comparison' } : { target: '≤ 1.10× baseline', pass: ratio <= 1.1 }),
    });
  }
  return rows;
}
