// Operators over a synchronous producer stop it once their subscriber is gone.
import { map, mergeMap, Observable, of, range, take, type OperatorFunction } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { BarrierStore } from '../../src/index.js';
import { barrierEnter, concatMapByKey } from '../../src/operators/index.js';
import { job, type Job } from '../support/jobs.js';

describe('operators stop a synchronous producer once unsubscribed', () => {
  it('barrierEnter admits nothing after downstream unsubscribed inside next (take(1) over a synchronous source)', () => {
    const scheduler = new TestScheduler(() => undefined);
    let keyCalls = 0;
    const store = new BarrierStore<Job>({
      key: (value) => {
        keyCalls++;
        return value.key;
      },
      jobId: (value) => value.id,
      scheduler,
    });
    const admitted: number[] = [];
    store.events$.subscribe((event) => {
      if (event.type === 'admitted') admitted.push(event.jobId);
    });
    const seen: number[] = [];
    range(1, 1000)
      .pipe(map((id) => job(`k${id}`, id)), barrierEnter(store), take(1))
      .subscribe((value) => seen.push(value.id));
    expect(seen).toEqual([1]);
    expect(admitted).toEqual([1]);
    expect(keyCalls).toBe(1);
  });

  it('concatMapByKey stops a synchronously emitting inner once the output is unsubscribed, as mergeMap does', () => {
    const emittedBefore = (operator: (inner: Observable<number>) => OperatorFunction<string, number>): number => {
      let emitted = 0;
      const inner = new Observable<number>((subscriber) => {
        for (let i = 0; i < 1000 && !subscriber.closed; i++) {
          emitted++;
          subscriber.next(i);
        }
        subscriber.complete();
      });
      of('a').pipe(operator(inner), take(1)).subscribe();
      return emitted;
    };
    expect(emittedBefore((inner) => mergeMap(() => inner))).toBe(1);
    expect(emittedBefore((inner) => concatMapByKey((value: string) => value, () => inner))).toBe(1);
  });
});
