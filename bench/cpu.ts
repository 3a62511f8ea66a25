/**
 * The CPU the bench pins its measuring processes to, with `taskset`.
 *
 * Why: an unpinned process keeps the CPU the kernel first gave its main
 * thread, and on the 2-vCPU VMs this bench runs on, one vCPU at times ran
 * the same process 1.8× slower than the other (orderedDelivery, threshold 0:
 * about 900 ns/job pinned to one, 500 pinned to the other; minutes later
 * both ran at 500: the host's other work comes and goes). Two processes a
 * ratio compares then ran on one vCPU in some runs and on different ones in
 * others, and the ratio moved by as much. Pinned to one CPU, the processes
 * of a comparison share its slow spells: they take turns on it seconds apart.
 *
 * Which: `RX_BARRIER_BENCH_CPU=<n>`, or `none` not to pin; else the last CPU
 * (any one would do: which vCPU was slow changed from one hour to the next).
 * No pinning without `taskset` (Debian: util-linux) or with one CPU.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Pinning {
  /** The CPU measuring processes run on; undefined when not pinned. */
  readonly cpu: number | undefined;
  /** One line for the bench's header. */
  readonly description: string;
}

function choose(): Pinning {
  const setting = process.env['RX_BARRIER_BENCH_CPU'];
  const count = os.availableParallelism();
  if (setting === 'none') return { cpu: undefined, description: 'measuring processes not pinned (RX_BARRIER_BENCH_CPU=none)' };
  if (!hasTaskset()) return { cpu: undefined, description: 'measuring processes not pinned: no taskset (util-linux)' };
  if (setting !== undefined) {
    const cpu = Number(setting);
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= count) {
      throw new RangeError(`RX_BARRIER_BENCH_CPU=${JSON.stringify(setting)} is not a CPU of this machine (0–${count - 1}) nor "none"`);
    }
    return { cpu, description: `measuring processes pinned to CPU ${cpu} (RX_BARRIER_BENCH_CPU; bench/cpu.ts)` };
  }
  if (count < 2) return { cpu: undefined, description: 'measuring processes not pinned: one CPU' };
  const cpu = count - 1;
  return { cpu, description: `measuring processes pinned to CPU ${cpu} with taskset (bench/cpu.ts; RX_BARRIER_BENCH_CPU to choose)` };
}

let chosen: Pinning | undefined;

/** The pinning, chosen at the first call (in the bench's main process only: measuring processes start pinned). */
export function pinning(): Pinning {
  return (chosen ??= choose());
}

/**
 * The `execPath` and `execArgv` for `fork` that start `node` with this
 * process's flags on the pinned CPU.
 */
export function pinnedNode(): { execPath: string; execArgv: string[] } {
  const { cpu } = pinning();
  if (cpu === undefined) return { execPath: process.execPath, execArgv: process.execArgv };
  return { execPath: 'taskset', execArgv: ['-c', String(cpu), process.execPath, ...process.execArgv] };
}
