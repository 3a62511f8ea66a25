// Barrier: the clock it reads for the disabled modes (now, else Date.now).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Barrier } from '../../src/index.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Barrier clock', () => {
  it('`now` is the only clock: Date.now and performance.now are never called when it is given', () => {
    const dateNow = vi.spyOn(Date, 'now');
    const performanceNow = vi.spyOn(performance, 'now');
    let time = 0;
    const now = vi.fn(() => time);
    const barrier = new Barrier({
      keyThreshold: 1,
      concurrencyLimit: 1,
      disabledDuration: 5,
      halfEnabledDuration: 5,
      orderingDisabled: (key) => key === 'off',
      now,
    });
    for (let round = 0; round < 4; round++) {
      time += 6;
      for (const key of ['a', 'b', 'off']) {
        barrier.enter(key, round);
        barrier.enter(key, round + 10);
        barrier.wait(key, round + 10);
        barrier.stateChanged(key, round + 10, 'failed');
        barrier.stateChanged(key, round + 10, 'aborted');
        barrier.disabled(key);
      }
      barrier.sync();
      barrier.prune();
      String(barrier);
      Barrier.fromSnapshot(barrier.snapshot(), { now }).prune();
    }
    expect(now).toHaveBeenCalled();
    expect(dateNow).not.toHaveBeenCalled();
    expect(performanceNow).not.toHaveBeenCalled();
  });

  it('without `now`, the barrier reads Date.now', () => {
    const dateNow = vi.spyOn(Date, 'now').mockReturnValue(1234);
    const barrier = new Barrier({ keyThreshold: 1 });
    barrier.enter('k', 1);
    barrier.enter('k', 2);
    expect(dateNow).toHaveBeenCalled();
    expect(barrier.snapshot().records[0]).toMatchObject({ mode: 'disabled', modeSince: 1234 });
  });
});
