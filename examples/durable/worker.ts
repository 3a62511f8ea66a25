/**
 * One worker process of the durable run (examples/durable/run.ts starts
 * several): `PgJobQueue.work` delivering the webhook events of the
 * partitions it owns to the receiver, as the in-memory example's `deliver`
 * does, with the attempt number the table says (`context.attempt`).
 *
 * It tells its parent over IPC what it does, for the run's checks and the
 * takeover time: the partitions it owns, each attempt it starts, each
 * result (committed). `{ type: 'close' }` from the parent closes it
 * gracefully. Started with `node --import tsx`; not meant to be run by hand.
 */
import { pathToFileURL } from 'node:url';
import { PgJobQueue, type PgDeliveryOutcome } from '../../src/postgres/index.js';
import { retryDelay } from '../webhook/run.js';
import type { DeliveryRequest } from '../webhook/receiver.js';
import { outcomeOf, type WebhookEvent } from '../webhook/scripts.js';

/** What the parent passes, as JSON in argv[2]. */
export interface DurableWorkerArgs {
  readonly url: string;
  readonly receiverUrl: string;
  readonly workerId: string;
  readonly concurrency: number;
  readonly highWaterMark: number;
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  readonly lease: number;
}

/** Messages to the parent. `at` is wall-clock ms (`performance.timeOrigin + performance.now()`). */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'partitions'; partitions: readonly number[]; at: number }
  /** It lost every partition at once without being closed: its lease ran out (a late heartbeat) or its lock connection failed. */
  | { type: 'lost'; partitions: number; at: number }
  | { type: 'attempt'; id: number; partition: number; attempt: number; at: number }
  | { type: 'result'; id: number; state: 'succeeded' | 'aborted' | 'filtered'; attempts: number }
  /** An attempt ended without an answer: the client's timeout, or the worker's `signal` (its partition lost). */
  | { type: 'unanswered'; id: number; attempt: number; cause: 'timeout' | 'signal' }
  | { type: 'error'; message: string };

export type ParentMessage = { type: 'close' };

/** The queue name of the example's jobs. */
export const QUEUE = 'webhooks';

const now = (): number => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '') as DurableWorkerArgs;
  const send = (message: WorkerMessage): void => {
    if (process.connected) process.send!(message);
  };
  const queue = new PgJobQueue<WebhookEvent>({ connectionString: args.url, queue: QUEUE });
  const worker = queue.work({
    workerId: args.workerId,
    concurrency: args.concurrency,
    highWaterMark: args.highWaterMark,
    maxAttempts: args.maxAttempts,
    retryDelay,
    lease: args.lease,
    // After an aborted event, the user's next events one at a time (as the in-memory example).
    concurrencyLimit: 1,
    deliver: async (job, { attempt, signal }): Promise<PgDeliveryOutcome> => {
      send({ type: 'attempt', id: job.payload.id, partition: job.partition, attempt, at: now() });
      const body: DeliveryRequest = { userId: job.payload.userId, id: job.payload.id, attempt };
      // Read after the await, so that Node 20 does not collect it (nodejs/node#57736, as in run.ts).
      const timeout = AbortSignal.timeout(args.timeoutMs);
      let response: Response;
      try {
        response = await fetch(args.receiverUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.any([signal, timeout]),
        });
        await response.arrayBuffer(); // read the body so the connection is reused
      } catch (error) {
        if (timeout.aborted || signal.aborted) send({ type: 'unanswered', id: job.payload.id, attempt, cause: timeout.aborted ? 'timeout' : 'signal' });
        throw timeout.aborted ? new Error(`no answer from ${args.receiverUrl} in ${args.timeoutMs} ms`) : error;
      }
      const outcome = outcomeOf(response.status);
      if (outcome === 'failed') throw new Error(`HTTP ${response.status} from ${args.receiverUrl}`);
      return outcome;
    },
  });
  // A clean hand-over never takes a live worker's last partition (its fair
  // share is at least one); losing them all at once before close() is a lease lost.
  let closing = false;
  let owned = 0;
  worker.partitions$.subscribe((partitions) => {
    if (!closing && owned > 0 && partitions.length === 0) send({ type: 'lost', partitions: owned, at: now() });
    owned = partitions.length;
    send({ type: 'partitions', partitions, at: now() });
  });
  worker.results$.subscribe((result) =>
    send({ type: 'result', id: result.job.payload.id, state: result.state, attempts: result.attempts }),
  );
  worker.errors$.subscribe((error) => send({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
  send({ type: 'ready' });
  await new Promise<void>((resolve) => process.on('message', (message: ParentMessage) => message.type === 'close' && resolve()));
  closing = true;
  await worker.close();
  await queue.close();
}

// Only as a process started by run.ts (which imports this module's types and QUEUE).
if (process.send !== undefined && process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.disconnect(),
    (error: unknown) => {
      console.error(`durable worker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    },
  );
}
