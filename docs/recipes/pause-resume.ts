/**
 * Recipe: pause one key and resume it later.
 *
 * A customer announces maintenance on their endpoint, or an operator wants
 * to stop one noisy account without stopping the service. `store.pause(key)`
 * holds every new job of that key at the entrance, in job-id order; jobs of
 * other keys go on; a job of the key already admitted runs to its end.
 * `store.resume(key)` releases the held jobs in order. Nothing is dropped, and
 * the stream stays open while a paused key holds jobs.
 *
 * Here the maintenance windows arrive as a stream of notices, and everything
 * runs in virtual time.
 *
 * Run it: npx tsx docs/recipes/pause-resume.ts
 */
import { pathToFileURL } from 'node:url';
import { concatMap, from, map, mergeMap, of, take, timer, VirtualTimeScheduler, type Observable } from 'rxjs';
import { BarrierStore } from '../../src/index.js';
import { orderedDelivery, type DeliveryOutcome } from '../../src/operators/index.js';

interface Event {
  readonly tenant: string;
  readonly seq: number;
}

/** A maintenance notice: the tenant's endpoint goes down, or comes back. */
interface Notice {
  readonly at: number;
  readonly tenant: string;
  readonly down: boolean;
}

/** Pauses and resumes keys as notices arrive. */
export function followMaintenance<T>(store: BarrierStore<T>, notices$: Observable<Notice>) {
  return notices$.subscribe((notice) => (notice.down ? store.pause(notice.tenant) : store.resume(notice.tenant)));
}

export interface PauseResumeResult {
  /** Each delivery as `tenant:seq@ms`, in the order they happened. */
  readonly delivered: readonly string[];
  /** The maintenance window of `acme`. */
  readonly window: { readonly from: number; readonly to: number };
}

export function main(): PauseResumeResult {
  const scheduler = new VirtualTimeScheduler();
  const store = new BarrierStore<Event>({ key: (event) => event.tenant, jobId: (event) => event.seq, scheduler });
  const window = { from: 15, to: 55 };

  // acme's endpoint is down from 15 to 55 ms.
  const notices: Notice[] = [
    { at: window.from, tenant: 'acme', down: true },
    { at: window.to, tenant: 'acme', down: false },
  ];
  followMaintenance(store, from(notices).pipe(mergeMap((notice) => timer(notice.at, scheduler).pipe(map(() => notice)))));

  // One event per tenant every 10 ms, from 0 to 60.
  const events$ = timer(0, 10, scheduler).pipe(
    take(7),
    concatMap((tick): Event[] => [
      { tenant: 'acme', seq: tick + 1 },
      { tenant: 'globex', seq: tick + 1 },
    ]),
  );

  const delivered: string[] = [];
  const deliver = (event: Event): Observable<DeliveryOutcome> => {
    delivered.push(`${event.tenant}:${event.seq}@${scheduler.now()}`);
    return of('succeeded');
  };
  events$.pipe(orderedDelivery(store, { deliver })).subscribe();
  scheduler.flush();
  return { delivered, window };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(main());
}
