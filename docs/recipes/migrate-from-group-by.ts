/**
 * Recipe: migrate from `groupBy` + `concatMap`.
 *
 * The idiomatic RxJS way to keep each user's events in order is
 *
 *   events$.pipe(groupBy((e) => e.userId), mergeMap((group) => group.pipe(concatMap(send))))
 *
 * It keeps the order, but:
 * - nothing bounds how many `send`s run at once: one per user, however many
 *   users there are;
 * - a group lives until the source completes (or you add a `duration`
 *   selector, which brings its own race: a new group for the key can start
 *   while the old one is still sending), so memory grows with every user ever seen;
 * - a retry (`retry` inside the `concatMap`) blocks the user's queue but also
 *   holds its slot while it waits, and a job that fails for good either
 *   errors the whole stream or is swallowed.
 *
 * `concatMapByKey(key, project, concurrency)` is the drop-in replacement for
 * the first two: one inner per key, `concurrency` in all, per-key state
 * dropped when a key is idle. `orderedDelivery` adds hold-on-failure: a failed
 * job is retried later without holding a slot, its key's later jobs wait, and
 * every job ends in exactly one result.
 *
 * Run it: npx tsx docs/recipes/migrate-from-group-by.ts
 */
import { pathToFileURL } from 'node:url';
import { concatMap, finalize, groupBy, map, mergeMap, Subject, timer, VirtualTimeScheduler, type Observable } from 'rxjs';
import { BarrierStore } from '../../src/index.js';
import { concatMapByKey, orderedDelivery, type DeliveryOutcome } from '../../src/operators/index.js';

interface Event {
  readonly userId: string;
  readonly seq: number;
}

/** What one way of running the events did. */
export interface Run {
  /** Per user, the order its events were sent in. */
  readonly order: Readonly<Record<string, readonly number[]>>;
  /** The most `send`s running at once. */
  readonly maxInFlight: number;
  /** Groups still open once every event has been sent (the source is still open, as a live one is). */
  readonly openGroups?: number;
}

export interface MigrationResult {
  readonly before: Run;
  readonly afterConcatMapByKey: Run;
  readonly afterOrderedDelivery: Run;
}

const USERS = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];

/** Runs `pipeline` over 3 events per user from a source that stays open, in virtual time. */
function run(
  pipeline: (events$: Observable<Event>, send: (event: Event) => Observable<Event>, scheduler: VirtualTimeScheduler) => Observable<unknown>,
): Run {
  const scheduler = new VirtualTimeScheduler();
  const order: Record<string, number[]> = {};
  let inFlight = 0;
  let maxInFlight = 0;
  // Sending takes 5 ms.
  const send = (event: Event): Observable<Event> => {
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    (order[event.userId] ??= []).push(event.seq);
    return timer(5, scheduler).pipe(
      map(() => event),
      finalize(() => inFlight--),
    );
  };
  const source = new Subject<Event>();
  pipeline(source, send, scheduler).subscribe();
  for (let seq = 1; seq <= 3; seq++) for (const userId of USERS) source.next({ userId, seq });
  scheduler.flush();
  return { order, maxInFlight };
}

export function main(): MigrationResult {
  // Before: groupBy + concatMap.
  let openGroups = 0;
  const before = run((events$, send) =>
    events$.pipe(
      groupBy((event) => event.userId),
      mergeMap((group) => {
        openGroups++;
        return group.pipe(
          concatMap(send),
          finalize(() => openGroups--),
        );
      }),
    ),
  );

  // After: the same order per user, 2 sends at most in all.
  const afterConcatMapByKey = run((events$, send) => events$.pipe(concatMapByKey((event) => event.userId, send, 2)));

  // After, with hold-on-failure and retries: orderedDelivery. (The source
  // stays open here, so the stream does not complete; results arrive as jobs end.)
  const afterOrderedDelivery = run((events$, send, scheduler) => {
    const store = new BarrierStore<Event>({ key: (event) => event.userId, jobId: (event) => event.seq, scheduler });
    const deliver = (event: Event): Observable<DeliveryOutcome> => send(event).pipe(map((): DeliveryOutcome => 'succeeded'));
    return events$.pipe(orderedDelivery(store, { deliver, concurrency: 2 }));
  });

  return {
    before: { order: before.order, maxInFlight: before.maxInFlight, openGroups },
    afterConcatMapByKey: { order: afterConcatMapByKey.order, maxInFlight: afterConcatMapByKey.maxInFlight },
    afterOrderedDelivery: { order: afterOrderedDelivery.order, maxInFlight: afterOrderedDelivery.maxInFlight },
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.dir(main(), { depth: null });
}
