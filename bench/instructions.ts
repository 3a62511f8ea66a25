/**
 * `npm run bench -- --instructions`: the instructions a timed workload
 * executes per job, counted by Valgrind (cachegrind, no cache simulation)
 * with V8 in its deterministic mode (`node --predictable`: one thread, no
 * concurrent compilation or GC, fixed seeds, so the same program takes the
 * same steps).
 *
 * Why: wall time on these shared 2-core machines moves by ±20% from one
 * process to the next (the floors, which run no library code, have moved
 * 0.56–1.48× between two builds), so a 10% regression cannot be told from
 * noise in one run. An instruction count repeats within 0.1% when the same
 * command is run again. It is not free of bias: the same build in another
 * process context (other arguments or environment) can take other JIT and
 * GC decisions, seen moving the ~110 instructions/job of the barrier's hot
 * path by 12%; the larger workloads move less. It misses cache misses and
 * memory stalls, so it complements the time tables; it does not replace them.
 *
 * A task is run twice in fresh processes, with 1 and with 3 timed runs after
 * one warm-up: startup, transpiling, setup and warm-up are the same in both,
 * so (Ir₃ − Ir₁) / (2 × jobs) is what one job of the warmed-up workload
 * costs (its share of GC included). Both counts run at once: Valgrind counts
 * instructions, not seconds, so two children sharing the cores do not skew it.
 */
import { execFileSync, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BENCH_DIST_ENV } from './baseline.js';
import type { BenchOptions, Row } from './harness.js';

/** Jobs per timed run under Valgrind (about 50× slower than native). */
export const INSTRUCTION_JOBS = 200_000;

/** Whether `valgrind` is installed (Debian: `apt-get install valgrind`). */
export function valgrindAvailable(): boolean {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
/** One thread, no concurrent compilation or GC, fixed seeds (a random hash seed moves the count by about 1% now and then). */
const DETERMINISTIC = ['--predictable', '--random-seed=1', '--hash-seed=1'];

/** Total instructions of one run of `task` (`runs` timed runs), in a fresh process under cachegrind. */
function countRun(moduleUrl: string, task: string, options: BenchOptions, runs: number, dist: string | undefined): Promise<number> {
  const taskOptions: BenchOptions = { ...options, runs, warmup: 1, jobs: INSTRUCTION_JOBS, inline: true, counting: true };
  // tsx's transform cache would let one of the two processes skip work the other does.
  const env: NodeJS.ProcessEnv = { ...process.env, TSX_DISABLE_CACHE: '1' };
  if (dist === undefined) delete env[BENCH_DIST_ENV];
  else env[BENCH_DIST_ENV] = dist;
  const child = fork(CHILD, [moduleUrl, task, JSON.stringify(taskOptions)], {
    execPath: 'valgrind',
    execArgv: ['--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null', process.execPath, ...DETERMINISTIC, ...process.execArgv],
    env,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // The child sends its Measurement; only the count matters here.
  child.on('message', () => undefined);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      const refs = /I\s+refs:\s+([\d,]+)/.exec(stderr);
      if (code === 0 && refs !== null) resolve(Number(refs[1]!.replaceAll(',', '')));
      else reject(new Error(`task ${task} under valgrind exited with ${code}:\n${stderr.slice(-2000)}`));
    });
  });
}

/** Instructions per job of `task`'s warmed-up workload, on the build in `dist` (default: ../dist). */
export async function instructionsPerJob(moduleUrl: string, task: string, options: BenchOptions, dist?: string): Promise<number> {
  const [one, three] = await Promise.all([countRun(moduleUrl, task, options, 1, dist), countRun(moduleUrl, task, options, 3, dist)]);
  return (three - one) / (2 * INSTRUCTION_JOBS);
}

/**
 * One row per timed workload of a suite: instructions per job on this build
 * and, with a baseline, on the baseline's build beside it (target ≤ 1.10×,
 * none for the floors, which run no library code).
 */
export async function instructionRows(
  moduleUrl: string,
  workloads: Readonly<Record<string, string>>,
  options: BenchOptions,
  baseline: { dist: string; ref: string } | undefined,
  isFloor: (workload: string) => boolean,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [task, workload] of Object.entries(workloads)) {
    const current = await instructionsPerJob(moduleUrl, task, options);
    const row: Row = { workload, instructions: current };
    if (baseline !== undefined) {
      const before = await instructionsPerJob(moduleUrl, task, options, baseline.dist);
      row.ratio = current / before;
      row.ratioTo = `${baseline.ref} (${Math.round(before).toLocaleString('en-US')})`;
      if (!isFloor(workload)) {
        row.target = '≤ 1.10× baseline';
        row.pass = row.ratio <= 1.1;
      }
    }
    console.log(`  ${workload}: ${Math.round(current)} instructions/job${row.ratio === undefined ? '' : `, ${row.ratio.toFixed(3)}× ${row.ratioTo}`}`);
    rows.push(row);
  }
  return rows;
}
