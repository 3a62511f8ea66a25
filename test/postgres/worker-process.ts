// A worker process for the multi-process tests: `node --import tsx
// test/postgres/worker-process.ts` with its configuration as JSON in
// RXB_WORKER. It delivers every job by POSTing it to the receiver, with a
// timeout, and reports to its parent over IPC: its partitions on every change,
// its errors, and 'closed' after a graceful close (asked by a 'close' message).
import { PgJobQueue } from '../../src/postgres/index.js';
import { postJson } from './support/post.js';

export interface WorkerProcessConfig {
  url: string;
  queue: string;
  partitions: number;
  receiver: string;
  workerId: string;
  lease: number;
  heartbeat: number;
  /** Milliseconds before a delivery counts as failed (aborted through its signal). */
  timeout: number;
  maxAttempts: number;
  concurrency: number;
  maxHeldPerKey?: number;
  highWaterMark?: number;
}

export type WorkerMessage =
  | { type: 'partitions'; partitions: readonly number[]; at: number }
  | { type: 'error'; message: string }
  | { type: 'delivered'; count: number }
  | { type: 'closed' };

const config = JSON.parse(process.env['RXB_WORKER'] ?? '{}') as WorkerProcessConfig;
const send = (message: WorkerMessage) => process.send?.(message);
const queue = new PgJobQueue<unknown>({ connectionString: config.url, queue: config.queue, partitions: config.partitions });
const worker = queue.work({
  workerId: config.workerId,
  lease: config.lease,
  heartbeat: config.heartbeat,
  pollInterval: 50,
  concurrency: config.concurrency,
  maxAttempts: config.maxAttempts,
  ...(config.maxHeldPerKey === undefined ? {} : { maxHeldPerKey: config.maxHeldPerKey }),
  ...(config.highWaterMark === undefined ? {} : { highWaterMark: config.highWaterMark }),
  retryDelay: 20,
  deliver: async (job, { attempt, signal }) => {
    // Its own controller and timer: a signal from AbortSignal.timeout inside
    // AbortSignal.any may be collected before it fires.
    const controller = new AbortController();
    const abort = () => controller.abort(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    const timer = setTimeout(() => controller.abort(new Error(`delivery of job ${job.id} timed out`)), config.timeout);
    try {
      const { outcome } = await postJson<{ outcome: 'succeeded' | 'failed' | 'aborted' | 'filtered' }>(
        config.receiver,
        { id: job.id, key: job.key, attempt, partition: job.partition, worker: config.workerId },
        controller.signal,
      );
      return outcome;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', abort);
    }
  },
});
worker.partitions$.subscribe((partitions) => send({ type: 'partitions', partitions, at: Date.now() }));
worker.errors$.subscribe((error) => send({ type: 'error', message: String(error) }));
process.on('message', (message: { type: string }) => {
  if (message.type === 'close') {
    void queue.close().then(() => {
      send({ type: 'closed' });
      process.disconnect();
    });
  }
});
