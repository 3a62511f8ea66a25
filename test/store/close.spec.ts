// Behaviour: graceful close in real time. `store.close()` stops every
// entrance taking jobs, lets deliveries in flight finish and report,
// completes the pipelines, and resolves with the jobs it did not finish
// (held, retrying, arriving meanwhile) in job-id order per key.
import { Subject, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { barrierEnter, orderedDelivery, pull, StoreClosedError, type DeliveryResult } from '../../src/index.js';
import { job, newStore, type Job } from '../support/jobs.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('BarrierStore.close()', () => {
  it('lets deliveries in flight finish, completes the pipeline, and resolves with held, retrying and late jobs', async () => {
    const store = newStore({ retryDelay: 10_000 });
    const source = new Subject<Job>();
    const results: DeliveryResult<Job>[] = [];
    let completed = false;
    const deliver = async (value: Job) => {
      await sleep(value.key === 'slow' ? 60 : 1);
      return value.key === 'bad' ? 'failed' : 'succeeded';
    };
    source.pipe(orderedDelivery(store, { deliver })).subscribe({
      next: (result) => results.push(result),
      complete: () => (completed = true),
    });
    source.next(job('bad', 1)); // fails, then waits 10 s for its retry
    source.next(job('bad', 2)); // held behind it
    source.next(job('slow', 1)); // in flight when close() is called
    source.next(job('slow', 2)); // admitted, queued behind slow#1 in the pipeline: not started
    await sleep(20);
    expect(store.stats()).toMatchObject({ retrying: 1, held: 1, admitted: 2 });

    const closing = store.close();
    source.next(job('late', 1)); // arrives while closing: not admitted
    expect(completed).toBe(false);
    const unfinished = await closing;
    expect(completed).toBe(true);
    // slow#1 was in flight: it finished and reported.
    expect(results.map((r) => `${r.key}#${r.jobId} ${r.state}`)).toEqual(['slow#1 succeeded']);
    // By key, in job-id order within a key.
    expect(unfinished).toEqual([job('bad', 1), job('bad', 2), job('late', 1), job('slow', 2)]);
    expect(store.stats()).toMatchObject({ total: 0, entrances: 0 });
  });

  it('keeps a delivery in flight that fails while closing instead of retrying it', async () => {
    const store = newStore({ retryDelay: 1 });
    const source = new Subject<Job>();
    source.pipe(orderedDelivery(store, { deliver: async () => (await sleep(30), 'failed') })).subscribe();
    source.next(job('a', 1));
    await sleep(5);
    expect(await store.close()).toEqual([job('a', 1)]);
  });

  it('is idempotent: a second call returns the same promise, resolved the same way', async () => {
    const store = newStore();
    const source = new Subject<Job>();
    source.pipe(orderedDelivery(store, { deliver: async () => (await sleep(10), 'succeeded') })).subscribe();
    source.next(job('a', 1));
    const first = store.close();
    const second = store.close();
    expect(second).toBe(first);
    expect(await first).toEqual([]);
    expect(await store.close()).toEqual([]);
  });

  it('resolves at once with nothing to finish, and then refuses new pipelines with StoreClosedError', async () => {
    const store = newStore();
    expect(await store.close()).toEqual([]);
    let error: unknown;
    of(job('a', 1))
      .pipe(barrierEnter(store))
      .subscribe({ error: (caught: unknown) => (error = caught) });
    expect(error).toBeInstanceOf(StoreClosedError);
  });

  it('stops pull asking its source for more', async () => {
    const store = newStore();
    let asked = 0;
    let completed = false;
    const source = async (demand: number) => {
      asked++;
      await sleep(5);
      return Array.from({ length: Math.min(demand, 3) }, (_, i) => job('k', asked * 10 + i));
    };
    pull(source, store, { pollInterval: 5 })
      .pipe(orderedDelivery(store, { deliver: async () => (await sleep(2), 'succeeded') }))
      .subscribe({ complete: () => (completed = true) });
    await sleep(30);
    const unfinished = await store.close();
    const askedAtClose = asked;
    await sleep(40);
    expect(completed).toBe(true);
    expect(asked).toBe(askedAtClose);
    // Whatever arrived meanwhile came back, in id order.
    expect(unfinished.map((value) => value.id)).toEqual([...unfinished.map((value) => value.id)].sort((a, b) => a - b));
  });
});
