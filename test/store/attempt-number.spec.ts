// Behaviour: the attempt number on the low-level path (barrierEnter,
// barrierWait, barrierState): store.attempt(job) is 1 for a job that has not
// failed and 1 + its failures once it is admitted again.
import { concatMap, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { barrierEnter, barrierState, barrierWait } from '../../src/index.js';
import { job, newStore } from '../support/jobs.js';
import { advanceTo, newScheduler } from '../support/store-harness.js';

describe('BarrierStore.attempt(job)', () => {
  it('numbers the attempts a barrierState pipeline makes: 1, 2, 3 for a job that fails twice', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 10 });
    const seen: number[] = [];
    of(job('a', 1), job('b', 1))
      .pipe(
        barrierEnter(store),
        concatMap((value) =>
          of(value).pipe(
            barrierWait(store),
            concatMap((admitted) => {
              const attempt = store.attempt(admitted);
              if (admitted.key === 'a') seen.push(attempt);
              return of({ job: admitted, state: admitted.key === 'a' && attempt < 3 ? ('failed' as const) : ('succeeded' as const) });
            }),
            barrierState(store),
          ),
        ),
      )
      .subscribe();
    advanceTo(scheduler, 100);
    expect(seen).toEqual([1, 2, 3]);
    expect(store.attempt(job('b', 1))).toBe(1);
  });

  it('names the job in a TypeError when its key cannot be read', () => {
    const store = newStore();
    expect(() => store.attempt({ key: 1, id: 1 } as never)).toThrow(TypeError);
  });
});
