/**
 * Recipe: send aborted results to a dead-letter sink.
 *
 * `orderedDelivery` gives up on a job in two ways: `deliver` says `'aborted'`
 * (the endpoint refused it for good: HTTP 400, 410), or the failed attempt
 * numbered `maxAttempts` is turned into `'aborted'`, keeping its error. Either
 * way the job's key is released and its later jobs go on; the job itself
 * must not be lost. `deadLetterAborted` writes each aborted result to a sink
 * (a table, a queue, a bucket) and passes the result on only once the write
 * has succeeded, so whatever acknowledges the source downstream never
 * acknowledges a job that is neither delivered nor parked.
 *
 * Run it: npx tsx docs/recipes/dead-letter.ts
 */
import { pathToFileURL } from 'node:url';
import { concatMap, from, lastValueFrom, map, of, toArray, type MonoTypeOperatorFunction } from 'rxjs';
import { BarrierStore, type DeliveryResult } from '../../src/index.js';
import { orderedDelivery, type DeliveryOutcome } from '../../src/operators/index.js';

/** What the dead-letter sink keeps: enough to inspect the job and replay it by hand. */
export interface DeadLetter<T> {
  readonly key: string;
  readonly jobId: number;
  readonly job: T;
  readonly attempts: number;
  /** The last attempt's error, as text; absent when `deliver` itself said `'aborted'`. */
  readonly reason: string | undefined;
}

/**
 * Writes each aborted result to `sink` before passing it on. Results keep
 * their order; a write that fails errors the stream (nothing is dropped
 * silently).
 */
export function deadLetterAborted<T>(sink: (letter: DeadLetter<T>) => Promise<void>): MonoTypeOperatorFunction<DeliveryResult<T>> {
  return concatMap((result) => {
    if (result.state !== 'aborted') return of(result);
    const letter: DeadLetter<T> = {
      key: result.key,
      jobId: result.jobId,
      job: result.job,
      attempts: result.attempts,
      reason: result.error === undefined ? undefined : result.error instanceof Error ? result.error.message : String(result.error),
    };
    return from(sink(letter)).pipe(map(() => result));
  });
}

interface Webhook {
  readonly userId: string;
  readonly seq: number;
  readonly url: string;
}

export interface DeadLetterResult {
  readonly deadLetters: readonly DeadLetter<Webhook>[];
  /** Every result, as `user:seq state attempts`, in the order the stream emitted them. */
  readonly results: readonly string[];
}

export async function main(): Promise<DeadLetterResult> {
  const deadLetters: DeadLetter<Webhook>[] = [];
  const sink = async (letter: DeadLetter<Webhook>): Promise<void> => {
    await new Promise((resolve) => setImmediate(resolve)); // INSERT INTO dead_letters …
    deadLetters.push(letter);
  };

  const store = new BarrierStore<Webhook>({ key: (hook) => hook.userId, jobId: (hook) => hook.seq });
  const hooks: Webhook[] = [
    { userId: 'ann', seq: 1, url: 'https://ann.example/hook' },
    { userId: 'bob', seq: 1, url: 'https://bob.example/gone' }, // 410 Gone: refused for good
    { userId: 'ann', seq: 2, url: 'https://ann.example/down' }, // 503 every time
    { userId: 'ann', seq: 3, url: 'https://ann.example/hook' },
    { userId: 'bob', seq: 2, url: 'https://bob.example/hook' },
  ];
  // Annotated, so TypeScript keeps the outcomes as literals, not `string`.
  const deliver = async (hook: Webhook): Promise<DeliveryOutcome> => {
    if (hook.url.endsWith('/gone')) return 'aborted';
    if (hook.url.endsWith('/down')) throw new Error(`HTTP 503 from ${hook.url}`);
    return 'succeeded';
  };

  const results = await lastValueFrom(
    from(hooks).pipe(
      orderedDelivery(store, { deliver, maxAttempts: 3, retryDelay: 1 }),
      deadLetterAborted(sink),
      map((result) => `${result.key}:${result.jobId} ${result.state} ${result.attempts}`),
      toArray(),
    ),
  );
  return { deadLetters, results };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then((result) => console.log(result), (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
