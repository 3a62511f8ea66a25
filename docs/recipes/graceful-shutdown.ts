/**
 * Recipe: shut down on SIGTERM without dropping work. `await store.close()`
 * stops the pipeline taking messages, lets the deliveries in flight finish
 * (their results are acknowledged as usual), completes the pipeline, and
 * resolves with the messages it did not finish: held behind a failed one,
 * waiting for a retry, or fetched and not yet started. Hand those back to the
 * broker (`nack`, or leave them unacknowledged) so another consumer, or this
 * one after its restart, delivers them in order.
 *
 * Unsubscribing instead would drop the deliveries in flight.
 *
 * Here the broker is a fake, and the signal is simulated.
 *
 * Run it: npx tsx docs/recipes/graceful-shutdown.ts
 */
import { pathToFileURL } from 'node:url';
import { BarrierStore, orderedDelivery, pull, type DeliveryOutcome } from '../../src/index.js';

/** A message as the broker hands it out: `sequence` increases per key. */
export interface Message {
  readonly key: string;
  readonly sequence: number;
}

/** A broker client: `messages()` yields, `ack` confirms a message is done, `nack` hands it back for redelivery. */
export class FakeBroker {
  readonly acked: string[] = [];
  readonly nacked: string[] = [];

  constructor(private readonly published: readonly Message[]) {}

  async *messages(): AsyncGenerator<Message> {
    for (const message of this.published) {
      await new Promise((resolve) => setTimeout(resolve, 1)); // a network fetch
      yield message;
    }
  }

  ack(message: Message): void {
    this.acked.push(`${message.key}:${message.sequence}`);
  }

  nack(message: Message): void {
    this.nacked.push(`${message.key}:${message.sequence}`);
  }
}

export interface ShutdownResult {
  readonly acked: readonly string[];
  readonly nacked: readonly string[];
  /** Whether the pipeline completed (rather than being torn down). */
  readonly completed: boolean;
}

/**
 * Runs the consumer until `onSignal`'s handler is called (in a service:
 * `(handler) => process.once('SIGTERM', handler)`), then shuts it down.
 */
export async function main(
  onSignal: (handler: () => void) => void = (handler) => setTimeout(handler, 40),
): Promise<ShutdownResult> {
  const published: Message[] = [];
  for (let sequence = 1; sequence <= 50; sequence++) {
    for (const key of ['orders-eu', 'orders-us']) published.push({ key, sequence });
  }
  const broker = new FakeBroker(published);
  const store = new BarrierStore<Message>({
    key: (message) => message.key,
    jobId: (message) => message.sequence,
    highWaterMark: 16,
    retryDelay: 1_000,
  });

  // orders-us #3 fails: its retry is a second away, so it and the orders-us
  // messages behind it are still in the store when the signal comes.
  const deliver = async (message: Message, { signal }: { signal: AbortSignal }): Promise<DeliveryOutcome> => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (signal.aborted) return 'failed';
    return message.key === 'orders-us' && message.sequence === 3 ? 'failed' : 'succeeded';
  };

  let completed = false;
  const done = new Promise<void>((resolve, reject) => {
    pull(broker.messages(), store)
      .pipe(orderedDelivery(store, { deliver, attemptTimeout: 10_000 }))
      .subscribe({
        next: (result) => broker.ack(result.job),
        error: reject,
        complete: () => {
          completed = true;
          resolve();
        },
      });
  });

  await new Promise<void>((resolve) => {
    onSignal(() => {
      void store.close().then((unfinished) => {
        for (const message of unfinished) broker.nack(message);
        resolve();
      });
    });
  });
  await done;
  return { acked: broker.acked, nacked: broker.nacked, completed };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main((handler) => process.once('SIGTERM', handler)).then((result) => console.log(result), (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
  console.log(`send SIGTERM to ${process.pid} (kill ${process.pid}) to shut down`);
}
