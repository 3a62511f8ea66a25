// Behaviour: stalls, in real time. Held jobs behind a key that fails forever
// are blocked and do not fill the high-water mark, so healthy keys are not
// starved (issue 12, evidence 3); a store at its mark where no job moves
// for stallTimeout says so once on events$ and in stats().stalled.
import { NEVER } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { orderedDelivery, pull, type BarrierStoreEvent, type DeliveryResult } from '../../src/index.js';
import { job, newStore, type Job } from '../support/jobs.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('stalls', () => {
  it('delivers all 150 jobs of healthy keys within 2 s while one key fails forever (highWaterMark 20, maxAttempts Infinity)', async () => {
    const store = newStore({ highWaterMark: 20, retryDelay: 5 });
    // 50 jobs of the failing key interleaved with 150 of 15 healthy keys, in id order per key.
    const jobs: Job[] = [];
    for (let i = 1; i <= 50; i++) {
      jobs.push(job('failing', i));
      for (let k = 0; k < 3; k++) jobs.push(job(`healthy-${(i * 3 + k) % 15}`, i * 3 + k));
    }
    let cursor = 0;
    const source = async (demand: number): Promise<Job[] | null> => {
      await sleep(0);
      if (cursor >= jobs.length) return null;
      const batch = jobs.slice(cursor, cursor + demand);
      cursor += batch.length;
      return batch;
    };
    const healthy: DeliveryResult<Job>[] = [];
    const subscription = pull(source, store, { pollInterval: 5 })
      .pipe(
        orderedDelivery(store, {
          maxAttempts: Infinity,
          deliver: async (value) => (await sleep(0), value.key === 'failing' ? 'failed' : 'succeeded'),
        }),
      )
      .subscribe((result) => healthy.push(result));
    const started = Date.now();
    while (healthy.length < 150 && Date.now() - started < 2_000) await sleep(10);
    subscription.unsubscribe();
    expect(healthy.length).toBe(150);
    expect(healthy.every((result) => result.state === 'succeeded' && result.key.startsWith('healthy'))).toBe(true);
  });

  it('announces a stall once when the store is at its mark and nothing moves for stallTimeout, and shows it in stats()', async () => {
    const store = newStore({ highWaterMark: 4, stallTimeout: 40 });
    const events: BarrierStoreEvent<Job>[] = [];
    store.events$.subscribe((event) => event.type === 'stalled' && events.push(event));
    let next = 0;
    // Four endpoints that fail once and then hang: the retries never settle
    // (no attemptTimeout), and the keys' later jobs wait behind them.
    const source = async (demand: number): Promise<Job[]> => {
      const batch: Job[] = [];
      for (let i = 0; i < demand && next < 40; i++, next++) batch.push(job(`k${next % 4}`, next));
      return batch;
    };
    const subscription = pull(source, store, { pollInterval: 5 })
      .pipe(orderedDelivery(store, { retryDelay: 1, deliver: (_job, { attempt }) => (attempt === 1 ? 'failed' : NEVER) }))
      .subscribe();
    await sleep(20);
    expect(store.stats().stalled).toBe(false);
    // Six stall timeouts: announced once.
    await sleep(250);
    expect(events).toHaveLength(1);
    // The keys holding the most jobs, most first (then by name).
    expect(events[0]).toEqual({ type: 'stalled', keys: ['k0', 'k1', 'k2', 'k3'] });
    expect(store.stats()).toMatchObject({ admitted: 4, retrying: 0 });
    expect(store.stats().stalled).toBe(true);
    subscription.unsubscribe();
    expect(store.stats().stalled).toBe(false);
  });

  it('does not call a store that is busy at its mark stalled', async () => {
    const store = newStore({ highWaterMark: 2, stallTimeout: 30 });
    let stalled = 0;
    store.events$.subscribe((event) => event.type === 'stalled' && stalled++);
    let next = 0;
    const source = async (demand: number): Promise<Job[]> => Array.from({ length: demand }, () => job('k', next++));
    const subscription = pull(source, store, { pollInterval: 1 })
      .pipe(orderedDelivery(store, { deliver: async () => (await sleep(5), 'succeeded') }))
      .subscribe();
    await sleep(200);
    subscription.unsubscribe();
    expect(next).toBeGreaterThan(10);
    expect(stalled).toBe(0);
  });
});
