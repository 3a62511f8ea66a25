import { map, Subject, timer, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { BarrierStore, type BarrierStoreOptions } from '../../src/index.js';
import { orderedDelivery, type DeliveryOutcome } from '../../src/operators/index.js';

interface Job {
  key: string;
  id: number;
}

const job = (key: string, id: number): Job => ({ key, id });

/**
 * Runs k#1..k#n through orderedDelivery (concurrency 1) on a virtual clock;
 * `latency(id)` is how long an attempt of job `id` takes, and the first
 * attempt of every id in `failOnce` fails. Returns what the stream did.
 */
function run(options: Partial<BarrierStoreOptions<Job>>, n: number, failOnce: number[], latency: (id: number) => number) {
  const scheduler = new VirtualTimeScheduler();
  const store = new BarrierStore<Job>({ key: (value) => value.key, jobId: (value) => value.id, scheduler, ...options });
  const tried = new Set<number>();
  const out = { results: [] as string[], error: undefined as unknown, completed: false };
  const source = new Subject<Job>();
  source
    .pipe(
      orderedDelivery(store, {
        concurrency: 1,
        deliver: (value) => {
          const first = !tried.has(value.id);
          tried.add(value.id);
          const outcome: DeliveryOutcome = first && failOnce.includes(value.id) ? 'failed' : 'succeeded';
          const ms = latency(value.id);
          return ms === 0 ? outcome : timer(ms, scheduler).pipe(map(() => outcome));
        },
      }),
    )
    .subscribe({
      next: (result) => out.results.push(`${result.jobId}:${result.state}`),
      error: (error: unknown) => (out.error = error),
      complete: () => (out.completed = true),
    });
  for (let id = 1; id <= n; id++) source.next(job('k', id));
  source.complete();
  scheduler.flush();
  return { ...out, stats: store.stats() };
}

describe('a key whose ordering was traded away never fails the stream with an illegal sequence of the store\'s making', () => {
  it('keyThreshold: a retry of a failure ignored while disabled re-enters behind a later job that fails once enabled', () => {
    // k#2 fails at once while the key is disabled (ignored by the barrier);
    // its retry comes back while half-enabled, behind k#3, which fails after 3 ms.
    const out = run({ keyThreshold: 1, disabledDuration: 0, halfEnabledDuration: 0, retryDelay: 1 }, 3, [2, 3], (id) => (id === 3 ? 3 : 0));
    expect(out.error).toBeUndefined();
    expect(out.completed).toBe(true);
    expect([...out.results].sort()).toEqual(['1:succeeded', '2:succeeded', '3:succeeded']);
    expect(out.stats).toMatchObject({ total: 0, records: 0 });
  });

  it('orderingDisabled: two failures, one while ordering was off, are both retried to success', () => {
    const scheduler = new VirtualTimeScheduler();
    const off = (): boolean => scheduler.now() >= 3 && scheduler.now() <= 6;
    const store = new BarrierStore<Job>({ key: (value) => value.key, jobId: (value) => value.id, scheduler, orderingDisabled: off, retryDelay: 1 });
    const tried = new Set<number>();
    const results: string[] = [];
    let error: unknown;
    let completed = false;
    const source = new Subject<Job>();
    source
      .pipe(
        orderedDelivery(store, {
          deliver: (value) => {
            const outcome: DeliveryOutcome = tried.has(value.id) ? 'succeeded' : 'failed';
            tried.add(value.id);
            return timer(value.id === 1 ? 5 : 2, scheduler).pipe(map(() => outcome));
          },
        }),
      )
      .subscribe({ next: (r) => results.push(`${r.jobId}:${r.state}`), error: (e: unknown) => (error = e), complete: () => (completed = true) });
    source.next(job('k', 1));
    source.next(job('k', 2));
    source.complete();
    scheduler.flush();
    expect(error).toBeUndefined();
    expect(completed).toBe(true);
    expect([...results].sort()).toEqual(['1:succeeded', '2:succeeded']);
  });
});
