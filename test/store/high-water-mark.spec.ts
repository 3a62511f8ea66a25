import { firstValueFrom, Subject, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { BarrierStore, pull } from '../../src/index.js';
import { orderedDelivery, type DeliveryOutcome } from '../../src/operators/index.js';

interface Job {
  key: string;
  id: number;
}

const job = (key: string, id: number): Job => ({ key, id });

describe('highWaterMark bounds the jobs that can make progress; jobs blocked behind a failed job do not count', () => {
  it('the documented database poller (manual sync at the start of each poll) does not deadlock', async () => {
    const store = new BarrierStore<Job>({
      key: (value) => value.key,
      jobId: (value) => value.id,
      sync: 'manual',
      highWaterMark: 4,
      retryDelay: 1,
    });
    const table = Array.from({ length: 8 }, (_, i) => job('a', i + 1));
    let next = 0;
    const poll = async (demand: number): Promise<Job[]> => {
      store.sync(); // as delivery.md's recipe does: one owner, at the start of each poll
      // A table poller never ends: with nothing new it polls again after pollInterval.
      const batch = table.slice(next, next + demand);
      next += batch.length;
      return batch;
    };
    let failedOnce = false;
    const results = pull(poll, store, { pollInterval: 5 }).pipe(
      orderedDelivery(store, {
        deliver: (value): DeliveryOutcome => {
          if (value.id === 1 && !failedOnce) {
            failedOnce = true;
            return 'failed';
          }
          return 'succeeded';
        },
      }),
      take(8),
      toArray(),
    );
    const timeout = new Promise<'deadlocked'>((resolve) => setTimeout(() => resolve('deadlocked'), 2_000));
    const ids = await Promise.race([firstValueFrom(results).then((all) => all.map((result) => result.jobId)), timeout]);
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('stats() counts held jobs of a key with a failed job as blocked', () => {
    const store = new BarrierStore<Job>({ key: (value) => value.key, jobId: (value) => value.id, sync: 'manual', retryDelay: 1_000 });
    const source = new Subject<Job>();
    let failedOnce = false;
    const subscription = source
      .pipe(
        orderedDelivery(store, {
          deliver: (value): DeliveryOutcome => {
            if (value.id === 1 && !failedOnce) {
              failedOnce = true;
              return 'failed';
            }
            return 'succeeded';
          },
        }),
      )
      .subscribe();
    for (let id = 1; id <= 4; id++) source.next(job('a', id));
    source.next(job('b', 1));
    expect(store.stats()).toMatchObject({ retrying: 1, held: 3, blocked: 3, admitted: 0, total: 4 });
    subscription.unsubscribe();
  });

  it('pressure$ turns on at the high-water mark of jobs that can make progress, not of blocked ones', () => {
    const store = new BarrierStore<Job>({ key: (value) => value.key, jobId: (value) => value.id, highWaterMark: 3, retryDelay: 1_000 });
    const pressure: boolean[] = [];
    store.pressure$.subscribe((full) => pressure.push(full));
    const source = new Subject<Job>();
    let failedOnce = false;
    const subscription = source
      .pipe(orderedDelivery(store, { deliver: (value): DeliveryOutcome => (value.id === 1 && !failedOnce ? ((failedOnce = true), 'failed') : 'succeeded') }))
      .subscribe();
    for (let id = 1; id <= 6; id++) source.next(job('a', id)); // a#1 retrying, a#2..a#6 blocked
    expect(pressure).toEqual([false]);
    subscription.unsubscribe();
  });
});
