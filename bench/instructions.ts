/**
 * `npm run bench -- --instructions`: the instructions a timed workload
 * executes per job, counted by Valgrind (callgrind, no cache simulation)
 * with V8 in its deterministic mode (`node --predictable`: one thread, no
 * concurrent compilation or GC, fixed seeds).
 *
 * Why: wall time on these shared 2-core machines moves by ±20% from one
 * process to the next (the floors, which run no library code, have moved
 * 0.56–1.48× between two builds), so a 10% regression cannot be told from
 * noise in one run.
 *
 * What is counted: only the timed runs, each inside `COUNTED_REGION`
 * (harness.ts; callgrind's `--toggle-collect`), after a `gc()` outside it,
 * so that setup, checks and the collection of earlier garbage are left out
 * and the workload's own allocations are in. The first timed runs still
 * include JIT compilation (synchronous under --predictable), so a task runs
 * twice, with 2 and with 4 timed runs after 3 warm-ups, and the difference
 * over the 2 × jobs between them is the steady cost of one job. The floors
 * (no library code) come out within 0.2% between two builds; the same
 * command repeats within 0.1%. For a pipeline (an async task) the region is
 * the synchronous part of each run: all of it for a synchronous source and
 * deliver, less the work a scheduler runs afterwards. Counts miss cache
 * misses and memory stalls: they complement the time tables, not replace them.
 */
import { execFileSync, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BENCH_DIST_ENV } from './baseline.js';
import { COUNTED_REGION, type BenchOptions, type Row } from './harness.js';

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
/** One thread, no concurrent compilation or GC, fixed seeds. */
const DETERMINISTIC = ['--predictable', '--random-seed=1', '--hash-seed=1'];

/** Instructions counted in the region over `runs` timed runs of `task`, in a fresh process under callgrind. */
function countRun(moduleUrl: string, task: string, options: BenchOptions, runs: number, dist: string | undefined): Promise<number> {
  const taskOptions: BenchOptions = { ...options, runs, warmup: 3, jobs: INSTRUCTION_JOBS, inline: true, counting: true };
  // tsx's transform cache would let one of the two processes skip work the other does.
  const env: NodeJS.ProcessEnv = { ...process.env, TSX_DISABLE_CACHE: '1' };
  if (dist === undefined) delete env[BENCH_DIST_ENV];
  else env[BENCH_DIST_ENV] = dist;
  const child = fork(CHILD, [moduleUrl, task, JSON.stringify(taskOptions)], {
    execPath: 'valgrind',
    execArgv: [
      '--tool=callgrind',
      `--toggle-collect=${COUNTED_REGION}`,
      '--callgrind-out-file=/dev/null',
      process.execPath,
      ...DETERMINISTIC,
      ...process.execArgv,
    ],
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
      const refs = /Collected\s*:\s*(\d+)/.exec(stderr);
      if (code === 0 && refs !== null) resolve(Number(refs[1]));
      else reject(new Error(`task ${task} under valgrind exited with ${code}:\n${stderr.slice(-2000)}`));
    });
  });
}

/** Instructions per job of `task`'s warmed-up workload, on the build in `dist` (default: ../dist). */
export async function instructionsPerJob(moduleUrl: string, task: string, options: BenchOptions, dist?: string): Promise<number> {
  const [two, four] = await Promise.all([countRun(moduleUrl, task, options, 2, dist), countRun(moduleUrl, task, options, 4, dist)]);
  return (four - two) / (2 * INSTRUCTION_JOBS);
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
