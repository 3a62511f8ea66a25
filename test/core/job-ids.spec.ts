// Barrier: job id 0, negative ids and the safe-integer limits are ordinary ids.
import { describe, expect, it } from 'vitest';
import { Barrier, IllegalJobSequenceError, type BarrierSnapshot } from '../../src/index.js';
import { thrownBy } from '../support/thrown.js';
import { accepted, rejected, waits, goesOn } from '../support/barrier-results.js';

describe('Barrier job id 0 and negative ids', () => {
  it('job id 0 is a valid failed job everywhere, not "no failed job"', () => {
    const barrier = new Barrier({ concurrencyLimit: 1 });
    expect(barrier.enter('k', 0)).toEqual(accepted());
    expect(barrier.stateChanged('k', 0, 'failed')).toBe(false);
    expect(barrier.peek('k')).toBe(0);
    expect(barrier.size).toBe(1);
    expect(barrier.enter('k', 1)).toEqual(rejected(0));
    expect(barrier.wait('k', 1)).toEqual(waits(0));
    expect(barrier.wait('k', 0)).toEqual(goesOn(0));
    expect(barrier.enter('k', 0)).toEqual(accepted(0));
    expect(barrier.toString()).toContain('failed job 0');
    expect(barrier.snapshot().records[0]!.failedJobId).toBe(0);
    expect(() => barrier.wait('k', -1)).toThrow(IllegalJobSequenceError);

    const restored = Barrier.fromSnapshot(JSON.parse(JSON.stringify(barrier.snapshot())) as BarrierSnapshot);
    expect(restored.peek('k')).toBe(0);
    expect(restored.enter('k', 1)).toEqual(rejected(0));

    // A terminal state of another job is out of date; only 0's own clears it.
    expect(barrier.stateChanged('k', 1, 'succeeded')).toBe(true);
    barrier.sync();
    expect(barrier.peek('k')).toBe(0);
    expect(barrier.stateChanged('k', 0, 'aborted')).toBe(true);
    barrier.sync();
    expect(barrier.peek('k')).toBeUndefined();
    expect(barrier.snapshot().records[0]).toMatchObject({ draining: [] });
    expect(barrier.enter('k', 1)).toEqual(accepted());
    expect(barrier.enter('k', 2)).toEqual(rejected());
  });

  it('job id 0 as the failed job of a record with running sets', () => {
    const barrier = new Barrier({ keyThreshold: 4, concurrencyLimit: 1 });
    barrier.enter('k', 0);
    barrier.enter('k', 1);
    expect(barrier.snapshot().records[0]!.concurrent).toEqual([0, 1]);
    barrier.stateChanged('k', 0, 'failed');
    expect(barrier.peek('k')).toBe(0);
    expect(barrier.wait('k', 1)).toEqual(waits(0));
    expect(barrier.enter('k', 0)).toEqual(accepted(0));
    barrier.stateChanged('k', 0, 'succeeded');
    barrier.sync();
    expect(barrier.peek('k')).toBeUndefined();
    expect(barrier.snapshot().records[0]).toMatchObject({ failedJobId: null, concurrent: [1] });
    barrier.leave('k', 1);
    expect(barrier.size).toBe(0);
  });

  it('negative ids order like any others', () => {
    const barrier = new Barrier();
    barrier.enter('k', -5);
    barrier.stateChanged('k', -5, 'failed');
    expect(barrier.peek('k')).toBe(-5);
    expect(barrier.enter('k', -4)).toEqual(rejected(-5));
    expect(barrier.enter('k', -5)).toEqual(accepted(-5));
    const error = thrownBy(() => barrier.enter('k', -6)) as IllegalJobSequenceError;
    expect(error).toBeInstanceOf(IllegalJobSequenceError);
    expect([error.previousFailedJobId, error.jobId]).toEqual([-5, -6]);
  });

  it('the largest and smallest safe integers are valid ids', () => {
    const barrier = new Barrier();
    barrier.stateChanged('k', Number.MAX_SAFE_INTEGER, 'failed');
    expect(barrier.peek('k')).toBe(Number.MAX_SAFE_INTEGER);
    barrier.stateChanged('j', Number.MIN_SAFE_INTEGER, 'failed');
    expect(barrier.enter('j', Number.MIN_SAFE_INTEGER)).toEqual(accepted(Number.MIN_SAFE_INTEGER));
  });
});
