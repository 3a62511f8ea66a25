// Barrier: a key past keyThreshold is disabled, then half-enabled, then enabled again.
import { describe, expect, it, vi } from 'vitest';
import { Barrier, IllegalJobSequenceError } from '../../src/index.js';
import { accepted, rejected, waits, goesOn } from '../support/barrier-results.js';

describe('Barrier keyThreshold and the disabled modes', () => {
  it('key threshold 2 with an injected clock: disabled, then half-enabled, then enabled again', () => {
    let now = 1_000;
    const barrier = new Barrier({ keyThreshold: 2, disabledDuration: 100, halfEnabledDuration: 50, now: () => now });
    expect(barrier.enter('hot', 1)).toEqual(accepted());
    expect(barrier.enter('hot', 2)).toEqual(accepted());
    expect(barrier.disabled('hot')).toBe(false);
    expect(barrier.snapshot().records[0]).toMatchObject({ mode: 'enabled', concurrent: [1, 2] });

    // The third running job disables the key and is not counted.
    expect(barrier.enter('hot', 3)).toEqual(accepted());
    expect(barrier.disabled('hot')).toBe(true);
    expect(barrier.snapshot().records).toEqual([
      { key: 'hot', mode: 'disabled', modeSince: 1_000, failedJobId: null, concurrent: [], draining: null },
    ]);

    // While disabled nothing waits and failures are ignored.
    expect(barrier.stateChanged('hot', 2, 'failed')).toBe(false);
    expect(barrier.peek('hot')).toBeUndefined();
    expect(barrier.wait('hot', 4)).toEqual(goesOn());
    expect(barrier.enter('hot', 4)).toEqual(accepted());

    // "Older than" is strict: exactly disabledDuration later it is still disabled.
    now = 1_100;
    expect(barrier.enter('hot', 5)).toEqual(accepted());
    expect(barrier.disabled('hot')).toBe(true);

    now = 1_101;
    expect(barrier.enter('hot', 6)).toEqual(accepted());
    expect(barrier.disabled('hot')).toBe(false);
    expect(barrier.snapshot().records[0]).toMatchObject({ mode: 'halfEnabled', modeSince: 1_101, concurrent: [6] });

    // Half-enabled: ordering is enforced, but a lower job is not illegal.
    expect(barrier.stateChanged('hot', 6, 'failed')).toBe(false);
    expect(barrier.peek('hot')).toBe(6);
    expect(barrier.stateChanged('hot', 5, 'failed')).toBe(false);
    expect(barrier.peek('hot')).toBe(6);
    expect(barrier.wait('hot', 5)).toEqual(waits(6));
    expect(barrier.enter('hot', 5)).toEqual(rejected(6));
    expect(barrier.enter('hot', 7)).toEqual(rejected(6));

    now = 1_151; // exactly halfEnabledDuration: still half-enabled
    expect(barrier.enter('hot', 6)).toEqual(accepted(6));
    expect(barrier.snapshot().records[0]).toMatchObject({ mode: 'halfEnabled' });
    now = 1_152;
    expect(barrier.enter('hot', 6)).toEqual(accepted(6));
    expect(barrier.snapshot().records[0]).toMatchObject({ mode: 'enabled', modeSince: 1_152 });
    expect(() => barrier.stateChanged('hot', 5, 'failed')).toThrow(IllegalJobSequenceError);
  });

  it("the threshold counts all of a key's running ids, however many other keys run", () => {
    const barrier = new Barrier({ keyThreshold: 3, now: () => 5 });
    for (const key of ['a', 'b', 'c']) expect(barrier.enter(key, 1)).toEqual(accepted());
    // Three jobs run: a fourth of any key is counted against its key alone.
    expect(barrier.enter('a', 2)).toEqual(accepted());
    expect(barrier.enter('a', 3)).toEqual(accepted());
    expect(barrier.disabled('a')).toBe(false);
    expect(barrier.snapshot().records.map((r) => [r.key, r.concurrent])).toEqual([
      ['a', [1, 2, 3]],
      ['b', [1]],
      ['c', [1]],
    ]);
    expect(barrier.enter('a', 4)).toEqual(accepted());
    expect(barrier.disabled('a')).toBe(true);
    // The other keys' outcomes are queued as any recorded job's.
    expect(barrier.stateChanged('b', 1, 'succeeded')).toBe(true);
    expect(barrier.stateChanged('c', 1, 'failed')).toBe(false);
    expect(barrier.peek('c')).toBe(1);
    expect(barrier.size).toBe(3);
    barrier.sync();
    expect(barrier.size).toBe(2);
    expect(barrier.has('b')).toBe(false);
    expect(barrier.snapshot().records.map((r) => [r.key, r.mode, r.failedJobId, r.concurrent])).toEqual([
      ['a', 'disabled', null, []],
      ['c', 'enabled', 1, []],
    ]);
  });

  it('prune after both durations deletes an idle disabled record', () => {
    let now = 0;
    const barrier = new Barrier({ keyThreshold: 1, disabledDuration: 10, halfEnabledDuration: 5, now: () => now });
    barrier.enter('idle', 1);
    barrier.enter('idle', 2);
    expect(barrier.disabled('idle')).toBe(true);
    barrier.enter('busy', 1);
    expect(barrier.prune()).toBe(0);

    now = 11;
    // A prune applies one mode step per record, as an enter would: the key is
    // half-enabled now, from now on.
    expect(barrier.prune()).toBe(0);
    const records = barrier.snapshot().records;
    expect(records).toHaveLength(2);
    expect(records).toContainEqual({ key: 'idle', mode: 'halfEnabled', modeSince: 11, failedJobId: null, concurrent: [], draining: null });
    expect(records).toContainEqual({ key: 'busy', mode: 'enabled', modeSince: 0, failedJobId: null, concurrent: [1], draining: null });
    now = 16;
    expect(barrier.prune()).toBe(0);
    now = 17;
    expect(barrier.prune()).toBe(1);
    expect(barrier.size).toBe(1);
    expect(barrier.disabled('idle')).toBe(false);
    expect(barrier.snapshot().records.map((record) => record.key)).toEqual(['busy']);
    expect(barrier.prune()).toBe(0);
  });

  it('prune keeps a record that is half-enabled by then but still has a failed job', () => {
    let now = 0;
    const barrier = new Barrier({ keyThreshold: 1, disabledDuration: 0, halfEnabledDuration: 0, now: () => now });
    barrier.enter('k', 1);
    barrier.enter('k', 2); // disabled at 0
    now = 1;
    barrier.enter('k', 3); // half-enabled at 1
    barrier.stateChanged('k', 3, 'failed');
    now = 2;
    expect(barrier.prune()).toBe(0);
    expect(barrier.snapshot().records[0]).toMatchObject({ mode: 'enabled', failedJobId: 3 });
  });

  it('disabled() neither calls orderingDisabled nor changes the mode', () => {
    let now = 0;
    const orderingDisabled = vi.fn((key: string) => key === 'bulk');
    const barrier = new Barrier({ keyThreshold: 1, disabledDuration: 1, orderingDisabled, now: () => now });
    barrier.enter('k', 1);
    barrier.enter('k', 2);
    orderingDisabled.mockClear();
    now = 100;
    expect(barrier.disabled('k')).toBe(true);
    expect(barrier.disabled('bulk')).toBe(false);
    expect(barrier.disabled('nobody')).toBe(false);
    expect(orderingDisabled).not.toHaveBeenCalled();
    expect(barrier.snapshot().records[0]).toMatchObject({ mode: 'disabled', modeSince: 0 });
  });

  it('orderingDisabled for one key: that key accepts everything and never waits, other keys still wait', () => {
    const barrier = new Barrier({ orderingDisabled: (key) => key === 'bulk' });
    expect(barrier.enter('bulk', 1)).toEqual(accepted());
    expect(barrier.stateChanged('bulk', 1, 'failed')).toBe(false);
    expect(barrier.peek('bulk')).toBeUndefined();
    expect(barrier.enter('bulk', 2)).toEqual(accepted());
    expect(barrier.wait('bulk', 2)).toEqual(goesOn());
    expect(barrier.stateChanged('bulk', 0, 'failed')).toBe(false); // not illegal either: ignored

    expect(barrier.enter('user', 1)).toEqual(accepted());
    expect(barrier.enter('user', 2)).toEqual(accepted());
    barrier.stateChanged('user', 1, 'failed');
    expect(barrier.enter('user', 3)).toEqual(rejected(1));
    expect(barrier.wait('user', 2)).toEqual(waits(1));
    expect(barrier.snapshot().records.map((record) => record.key)).toEqual(['user']);
  });

  it('orderingDisabled with a key threshold keeps a disabled record for the key', () => {
    const barrier = new Barrier({ keyThreshold: 3, orderingDisabled: (key) => key === 'bulk', now: () => 42 });
    expect(barrier.enter('bulk', 1)).toEqual(accepted());
    expect(barrier.disabled('bulk')).toBe(true);
    expect(barrier.snapshot().records).toEqual([
      { key: 'bulk', mode: 'disabled', modeSince: 42, failedJobId: null, concurrent: [], draining: null },
    ]);
  });

  it('orderingDisabled switched on for a key with a failed job drops the failed job (deviation)', () => {
    let off = false;
    const barrier = new Barrier({ orderingDisabled: () => off, now: () => 7 });
    barrier.enter('k', 1);
    barrier.stateChanged('k', 1, 'failed');
    expect(barrier.enter('k', 2)).toEqual(rejected(1));
    off = true;
    expect(barrier.enter('k', 2)).toEqual(accepted());
    expect(barrier.peek('k')).toBeUndefined();
    expect(barrier.disabled('k')).toBe(true);
    expect(barrier.snapshot().records).toEqual([
      { key: 'k', mode: 'disabled', modeSince: 7, failedJobId: null, concurrent: null, draining: null },
    ]);
  });

  it('a failure with no record creates a record outside the key threshold', () => {
    const barrier = new Barrier({ keyThreshold: 1 });
    barrier.stateChanged('k', 5, 'failed');
    expect(barrier.snapshot().records).toEqual([
      { key: 'k', mode: 'enabled', modeSince: 0, failedJobId: 5, concurrent: null, draining: null },
    ]);
    expect(barrier.enter('k', 5)).toEqual(accepted(5));
    expect(barrier.enter('k', 5)).toEqual(accepted(5));
    expect(barrier.disabled('k')).toBe(false);
  });
});
