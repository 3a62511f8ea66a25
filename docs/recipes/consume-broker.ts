/**
 * Recipe: consume a message broker's client as an async iterable, in order
 * per key, acknowledging each message once it is done.
 *
 * Most broker clients (Kafka, NATS JetStream, RabbitMQ streams, Redis
 * streams) can be read with `for await`. `pull` turns such an iterator into
 * an Observable that asks for the next message only while the store is below
 * its `highWaterMark`, so a slow endpoint makes the consumer stop fetching
 * instead of buffering the whole topic in memory. (Messages blocked behind a
 * failed one do not count toward the mark: set `maxHeldPerKey` to bound them.) Messages are acknowledged
 * after their terminal result: an aborted one too, once it is dead-lettered
 * (see dead-letter.ts).
 *
 * Here the client is a fake async generator over a fixed list.
 *
 * Run it: npx tsx docs/recipes/consume-broker.ts
 */
import { pathToFileURL } from 'node:url';
import { lastValueFrom, tap, toArray } from 'rxjs';
import { BarrierStore, pull } from '../../src/index.js';
import { orderedDelivery, type DeliveryOutcome } from '../../src/operators/index.js';

/** A message as the broker hands it out: `sequence` increases per key (a partition offset, a stream id). */
export interface Message {
  readonly key: string;
  readonly sequence: number;
  readonly body: string;
}

/** A broker client: `messages()` yields what is published, `ack` confirms a message is done. */
export class FakeBrokerClient {
  /**
   * The most messages the consumer was ahead of its acknowledgements, not
   * counting those `blocked()` says are blocked, measured each time it asks
   * for the next message and counting that one.
   */
  maxUnacked = 0;
  /** How many unacknowledged messages wait behind a failed one (the store's `stats().blocked`). */
  blocked: () => number = () => 0;
  readonly acked: string[] = [];
  private handedOut = 0;

  constructor(private readonly published: readonly Message[]) {}

  async *messages(): AsyncGenerator<Message> {
    for (const message of this.published) {
      // Measured when the consumer asks (pull calls next() right after the
      // store granted room), not when the message comes: meanwhile a sync may
      // unblock held messages (a failed one's retry succeeded), which then
      // count again without the consumer having fetched anything.
      this.maxUnacked = Math.max(this.maxUnacked, this.handedOut + 1 - this.acked.length - this.blocked());
      await new Promise((resolve) => setImmediate(resolve)); // a network fetch
      this.handedOut++;
      yield message;
    }
  }

  ack(message: Message): void {
    this.acked.push(`${message.key}:${message.sequence}`);
  }
}

export interface ConsumeResult {
  /** The order messages were acknowledged in. */
  readonly acked: readonly string[];
  /**
   * How far the consumer got ahead of its acknowledgements when it asked for
   * a message, counting that one: never above the high-water mark, plus the
   * messages blocked behind a failed one (those are bounded per key by
   * `maxHeldPerKey`, not by the mark). Between the ask and the message's
   * arrival a sync may unblock held messages, so counted when the message
   * arrives it can exceed the mark by those.
   */
  readonly maxUnacked: number;
  readonly highWaterMark: number;
  /** `true` once the store reached the mark and `pull` stopped asking, `false` once it fell back to half. */
  readonly pressure: readonly boolean[];
}

export async function main(): Promise<ConsumeResult> {
  const published: Message[] = [];
  for (let sequence = 1; sequence <= 6; sequence++) {
    for (const key of ['orders-eu', 'orders-us', 'orders-apac']) published.push({ key, sequence, body: `${key} #${sequence}` });
  }
  const client = new FakeBrokerClient(published);
  const highWaterMark = 4;
  const store = new BarrierStore<Message>({
    key: (message) => message.key,
    jobId: (message) => message.sequence,
    highWaterMark,
    retryDelay: 2,
  });
  client.blocked = () => store.stats().blocked;
  const pressure: boolean[] = [];
  store.pressure$.subscribe((full) => pressure.push(full));

  // The downstream service: slow, and it fails the first attempt at orders-us #3.
  let failedOnce = false;
  const deliver = async (message: Message): Promise<DeliveryOutcome> => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (message.key === 'orders-us' && message.sequence === 3 && !failedOnce) {
      failedOnce = true;
      return 'failed';
    }
    return 'succeeded';
  };

  await lastValueFrom(
    pull(client.messages(), store).pipe(
      orderedDelivery(store, { deliver, concurrency: 2 }),
      // Terminal: the broker may forget the message.
      tap((result) => client.ack(result.job)),
      toArray(),
    ),
  );
  return { acked: client.acked, maxUnacked: client.maxUnacked, highWaterMark, pressure };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then((result) => console.log(result), (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
