// BarrierStore admission order: jobs pushed while another job is being admitted wait their turn.
import { queueScheduler, Subject, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { barrierEnter, orderedDelivery } from '../../src/operators/index.js';
import { job, newStore, type Job } from '../support/jobs.js';

describe('BarrierStore admission order: jobs pushed while a job is being admitted', () => {
  it('admits jobs pushed into the source during an admission after it, in push order, also when pushed from downstream', () => {
    const store = newStore();
    const source = new Subject<Job>();
    const seen: number[] = [];
    source.pipe(barrierEnter(store)).subscribe((value) => {
      seen.push(value.id);
      if (value.id === 1) {
        source.next(job('a', 2));
        source.next(job('a', 3));
      }
    });
    source.next(job('a', 1));
    expect(seen).toEqual([1, 2, 3]);
  });

  it('completes only after the jobs pushed before a completion that was pushed during an admission: none is lost', () => {
    const store = newStore({ scheduler: queueScheduler });
    const source = new Subject<Job>();
    const results: number[] = [];
    let completed = false;
    source
      .pipe(
        orderedDelivery(store, {
          deliver: (value) => {
            if (value.id === 1) {
              source.next(job('a', 2));
              source.complete();
            }
            return 'succeeded';
          },
        }),
      )
      .subscribe({ next: (result) => results.push(result.jobId), complete: () => (completed = true) });
    source.next(job('a', 1));
    expect(results).toEqual([1, 2]);
    expect(completed).toBe(true);
  });

  it('errors only the pipeline of an invalid job pushed during another admission; the job being admitted goes on', () => {
    const store = newStore();
    const first = new Subject<Job>();
    const second = new Subject<Job>();
    const seen: string[] = [];
    let error: unknown;
    second.pipe(barrierEnter(store)).subscribe({ error: (e: unknown) => (error = e) });
    const watcher = store.events$.subscribe((event) => {
      if (event.type === 'admitted' && event.jobId === 1) second.next({ key: 7, id: 2 } as unknown as Job);
    });
    first.pipe(barrierEnter(store)).subscribe((value) => seen.push(`${value.key}#${value.id}`));
    first.next(job('a', 1));
    watcher.unsubscribe();
    expect(seen).toEqual(['a#1']);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('key must be a string, got 7 for job {"key":7,"id":2}');
    first.next(job('a', 3));
    expect(seen).toEqual(['a#1', 'a#3']);
  });

  it('delivers a job pushed from an events$ handler after the job being admitted, never before it', () => {
    const scheduler = new VirtualTimeScheduler();
    const store = newStore({ scheduler });
    const source = new Subject<Job>();
    const results: number[] = [];
    const watcher = store.events$.subscribe((event) => {
      if (event.type === 'admitted' && event.jobId === 1) source.next(job('a', 2));
    });
    source.pipe(orderedDelivery(store, { deliver: () => 'succeeded' })).subscribe((result) => results.push(result.jobId));
    source.next(job('a', 1));
    scheduler.flush();
    watcher.unsubscribe();
    expect(results).toEqual([1, 2]);
  });
});
