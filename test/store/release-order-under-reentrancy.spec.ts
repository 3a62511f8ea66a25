import { Subject, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { BarrierStore } from '../../src/index.js';
import { orderedDelivery, type DeliveryOutcome } from '../../src/operators/index.js';

interface Job {
  key: string;
  id: number;
}

const job = (key: string, id: number): Job => ({ key, id });

describe('releases are serialised against re-entrant pushes, as admissions are', () => {
  it('a job pushed from the handler of a released event is delivered after the released job', () => {
    const scheduler = new VirtualTimeScheduler();
    const store = new BarrierStore<Job>({ key: (value) => value.key, jobId: (value) => value.id, scheduler, retryDelay: 1 });
    const source = new Subject<Job>();
    const delivered: number[] = [];
    const tried = new Set<number>();
    let pushed = false;
    store.events$.subscribe((event) => {
      if (event.type === 'released' && event.jobId === 2 && !pushed) {
        pushed = true;
        source.next(job('k', 3));
      }
    });
    let error: unknown;
    source
      .pipe(
        orderedDelivery(store, {
          deliver: (value): DeliveryOutcome => {
            delivered.push(value.id);
            const first = !tried.has(value.id);
            tried.add(value.id);
            return first && value.id === 1 ? 'failed' : 'succeeded';
          },
        }),
      )
      .subscribe({ error: (e: unknown) => (error = e) });
    source.next(job('k', 1)); // fails once
    source.next(job('k', 2)); // held behind it
    scheduler.flush();
    expect(error).toBeUndefined();
    expect(delivered).toEqual([1, 1, 2, 3]);
  });
});
