import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerMessage, WorkerProcessConfig } from '../worker-process.js';

const script = fileURLToPath(new URL('../worker-process.ts', import.meta.url));

/** A worker process and what it told its parent. */
export interface WorkerProcess {
  readonly id: string;
  readonly process: ChildProcess;
  /** Its partitions now, as it last reported them. */
  partitions: readonly number[];
  /** Every partitions report, with its time. */
  readonly history: { partitions: readonly number[]; at: number }[];
  readonly errors: string[];
  readonly exited: Promise<number | null>;
  /** Graceful: `close()` in the worker, resolves once it has exited. */
  close(): Promise<void>;
  /** `kill -9`. */
  kill(): void;
}

/** Spawns `node --import tsx test/postgres/worker-process.ts` with this configuration. */
export function spawnWorker(config: WorkerProcessConfig): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, RXB_WORKER: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const handle: WorkerProcess = {
    id: config.workerId,
    process: child,
    partitions: [],
    history: [],
    errors: [],
    exited,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: 'close' });
      await exited;
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
  child.on('message', (message: WorkerMessage) => {
    if (message.type === 'partitions') {
      handle.partitions = message.partitions;
      handle.history.push({ partitions: message.partitions, at: message.at });
    } else if (message.type === 'error') handle.errors.push(message.message);
  });
  return handle;
}

/** Kills every worker still running (the test's teardown: no process outlives the run). */
export async function killAll(workers: readonly WorkerProcess[]): Promise<void> {
  for (const worker of workers) if (worker.process.exitCode === null && worker.process.signalCode === null) worker.kill();
  await Promise.all(workers.map((worker) => worker.exited));
}
