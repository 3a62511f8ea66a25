// Barrier: enter, wait, stateChanged, leave and sync in the original's scenarios, and outcomes queued until sync.
import { describe, expect, it } from 'vitest';
import { Barrier } from '../../src/index.js';
import { accepted, rejected, waits, goesOn } from '../support/barrier-results.js';

describe("Barrier operations: the original's scenarios", () => {
  it('failed job: later jobs wait until the failed job succeeds and a sync applies it', () => {
    const barrier = new Barrier({ metadata: { router: 'webhooks' } });
    expect(barrier.peek('user-1')).toBeUndefined();

    expect(barrier.enter('user-1', 1)).toEqual(accepted());
    expect(barrier.enter('user-1', 2)).toEqual(accepted());
    expect(barrier.wait('user-1', 1)).toEqual(goesOn());
    expect(barrier.wait('user-1', 2)).toEqual(goesOn());

    expect(barrier.stateChanged('user-1', 1, 'failed')).toBe(false);
    expect(barrier.wait('user-1', 2)).toEqual(waits(1));
    expect(barrier.size).toBe(1);
    const text = barrier.toString();
    expect(text).toContain('router=webhooks');
    expect(text).toContain('"user-1"');
    expect(text).toContain('failed job 1');

    expect(barrier.stateChanged('user-1', 2, 'waiting')).toBe(true);
    expect(barrier.pending).toBe(1);
    expect(barrier.sync()).toBe(1);
    expect(barrier.pending).toBe(0);
    expect(barrier.peek('user-1')).toBe(1);

    expect(barrier.enter('user-1', 1)).toEqual(accepted(1));
    expect(barrier.wait('user-1', 1)).toEqual(goesOn(1));
    expect(barrier.stateChanged('user-1', 1, 'succeeded')).toBe(true);
    expect(barrier.enter('user-1', 2)).toEqual(rejected(1));
    expect(barrier.sync()).toBe(1);
    expect(barrier.enter('user-1', 2)).toEqual(accepted());
    expect(barrier.peek('user-1')).toBeUndefined();
    expect(barrier.size).toBe(0);
  });

  it('aborted job with concurrencyLimit 1: one job at a time drains the key until one ends', () => {
    const barrier = new Barrier({ concurrencyLimit: 1 });
    expect(barrier.enter('k', 1)).toEqual(accepted());
    expect(barrier.sync()).toBe(0);
    expect(barrier.stateChanged('k', 1, 'failed')).toBe(false);
    expect(barrier.enter('k', 1)).toEqual(accepted(1));
    expect(barrier.stateChanged('k', 1, 'aborted')).toBe(true);
    expect(barrier.enter('k', 2)).toEqual(rejected(1));
    expect(barrier.sync()).toBe(1);

    expect(barrier.enter('k', 2)).toEqual(accepted());
    expect(barrier.enter('k', 3)).toEqual(rejected());
    expect(barrier.stateChanged('k', 2, 'aborted')).toBe(true);
    expect(barrier.enter('k', 3)).toEqual(rejected());
    expect(barrier.sync()).toBe(1);
    expect(barrier.sync()).toBe(0);

    for (const id of [3, 4, 5, 6]) expect(barrier.enter('k', id)).toEqual(accepted());
    expect(barrier.size).toBe(0);
  });

  it('abort then fail with concurrencyLimit 2: an abort with no failed job changes nothing', () => {
    const barrier = new Barrier({ concurrencyLimit: 2 });
    expect(barrier.enter('k', 1)).toEqual(accepted());
    expect(barrier.stateChanged('k', 1, 'aborted')).toBe(false);
    expect(barrier.pending).toBe(0);
    expect(barrier.sync()).toBe(0);

    for (const id of [2, 3, 4]) expect(barrier.enter('k', id)).toEqual(accepted());
    expect(barrier.stateChanged('k', 2, 'failed')).toBe(false);
    expect(barrier.wait('k', 3)).toEqual(waits(2));
    expect(barrier.wait('k', 4)).toEqual(waits(2));
    expect(barrier.stateChanged('k', 3, 'waiting')).toBe(true);
    expect(barrier.stateChanged('k', 4, 'waiting')).toBe(true);
    expect(barrier.sync()).toBe(2);
    expect(barrier.enter('k', 2)).toEqual(accepted(2));
  });

  it('fail then abort with concurrencyLimit 2: draining admits two jobs, a new failure ends draining', () => {
    const barrier = new Barrier({ concurrencyLimit: 2 });
    expect(barrier.enter('k', 1)).toEqual(accepted());
    expect(barrier.stateChanged('k', 1, 'failed')).toBe(false);
    expect(barrier.sync()).toBe(0);
    expect(barrier.enter('k', 1)).toEqual(accepted(1));
    expect(barrier.enter('k', 2)).toEqual(rejected(1));
    expect(barrier.stateChanged('k', 1, 'aborted')).toBe(true);
    expect(barrier.enter('k', 2)).toEqual(rejected(1));
    expect(barrier.sync()).toBe(1);

    expect(barrier.enter('k', 2)).toEqual(accepted());
    expect(barrier.enter('k', 3)).toEqual(accepted());
    expect(barrier.enter('k', 4)).toEqual(rejected());
    expect(barrier.stateChanged('k', 2, 'failed')).toBe(false);
    expect(barrier.wait('k', 3)).toEqual(waits(2));
    expect(barrier.stateChanged('k', 3, 'waiting')).toBe(true);
    expect(barrier.sync()).toBe(1);
    expect(barrier.snapshot().records).toEqual([
      { key: 'k', mode: 'enabled', modeSince: 0, failedJobId: 2, concurrent: null, draining: null },
    ]);
  });

  it('leave with concurrencyLimit 1: a job that leaves frees its drain slot', () => {
    const barrier = new Barrier({ concurrencyLimit: 1 });
    expect(barrier.enter('k', 1)).toEqual(accepted());
    barrier.stateChanged('k', 1, 'failed');
    expect(barrier.enter('k', 2)).toEqual(rejected(1));
    expect(barrier.stateChanged('k', 1, 'aborted')).toBe(true);
    expect(barrier.sync()).toBe(1);
    expect(barrier.enter('k', 2)).toEqual(accepted());
    expect(barrier.enter('k', 3)).toEqual(rejected());
    barrier.leave('k', 2);
    expect(barrier.enter('k', 3)).toEqual(accepted());
  });

  it('leave is idempotent and fine for unknown keys and ids', () => {
    const barrier = new Barrier({ concurrencyLimit: 1 });
    barrier.leave('nobody', 1);
    barrier.enter('k', 1);
    barrier.stateChanged('k', 1, 'failed');
    barrier.stateChanged('k', 1, 'aborted');
    barrier.sync();
    barrier.enter('k', 2);
    barrier.leave('k', 2);
    const after = barrier.snapshot();
    barrier.leave('k', 2);
    barrier.leave('k', 99);
    expect(barrier.snapshot()).toEqual(after);
    expect(after.records).toEqual([
      { key: 'k', mode: 'enabled', modeSince: 0, failedJobId: null, concurrent: null, draining: [] },
    ]);
  });
});

describe('Barrier operations: queueing outcomes until sync', () => {
  it('stateChanged queues every state but failed when the key has a record, and applies it at once otherwise', () => {
    const barrier = new Barrier();
    for (const state of ['succeeded', 'aborted', 'waiting', 'filtered'] as const) {
      expect(barrier.stateChanged('free', 1, state)).toBe(false);
    }
    expect(barrier.pending).toBe(0);
    expect(barrier.size).toBe(0);
    barrier.stateChanged('k', 1, 'failed');
    for (const state of ['succeeded', 'aborted', 'waiting', 'filtered'] as const) {
      expect(barrier.stateChanged('k', 2, state)).toBe(true);
    }
    expect(barrier.pending).toBe(4);
    expect(barrier.sync()).toBe(4);
    expect(barrier.peek('k')).toBe(1);
  });

  it('sync applies the queue in arrival order', () => {
    const barrier = new Barrier({ concurrencyLimit: 1 });
    barrier.stateChanged('k', 1, 'failed');
    barrier.stateChanged('k', 1, 'aborted'); // starts draining
    barrier.stateChanged('k', 2, 'succeeded'); // ends it
    expect(barrier.sync()).toBe(2);
    expect(barrier.size).toBe(0);

    barrier.stateChanged('j', 1, 'failed');
    barrier.stateChanged('j', 2, 'succeeded'); // out of date while 1 is failed
    barrier.stateChanged('j', 1, 'aborted');
    expect(barrier.sync()).toBe(2);
    expect(barrier.snapshot().records).toEqual([
      { key: 'j', mode: 'enabled', modeSince: 0, failedJobId: null, concurrent: null, draining: [] },
    ]);
  });

  it('a long queue is applied completely and the barrier keeps working after it', () => {
    const barrier = new Barrier();
    // Ids past 32 bits, and every terminal state: the queue keeps each exactly as it grows.
    const states = ['succeeded', 'aborted', 'filtered'] as const;
    const id = (i: number): number => 2 ** 40 + i;
    for (let i = 0; i < 5000; i++) barrier.stateChanged(`k${i}`, id(i), 'failed');
    for (let i = 0; i < 5000; i++) barrier.stateChanged(`k${i}`, id(i), states[i % 3]!);
    expect(barrier.pending).toBe(5000);
    expect(barrier.snapshot().queue).toEqual(
      Array.from({ length: 5000 }, (_, i) => ({ key: `k${i}`, jobId: id(i), state: states[i % 3] })),
    );
    expect(barrier.sync()).toBe(5000);
    expect(barrier.size).toBe(0);
    barrier.stateChanged('k', 1, 'failed');
    barrier.stateChanged('k', 1, 'filtered');
    expect(barrier.snapshot().queue).toEqual([{ key: 'k', jobId: 1, state: 'filtered' }]);
    expect(barrier.sync()).toBe(1);
    expect(barrier.size).toBe(0);
  });

  it('failing counts the keys with a failed job: up when one fails, down only when the sync applies its success', () => {
    const barrier = new Barrier({ keyThreshold: 10 });
    barrier.enter('a', 1);
    barrier.enter('b', 1);
    barrier.enter('c', 1);
    expect(barrier.failing).toBe(0);
    barrier.stateChanged('a', 1, 'failed');
    barrier.stateChanged('b', 1, 'failed');
    expect(barrier.failing).toBe(2);
    expect(barrier.size).toBe(3);
    barrier.stateChanged('a', 1, 'succeeded');
    expect(barrier.failing).toBe(2);
    barrier.sync();
    expect(barrier.failing).toBe(1);
  });

  it('keys that look like Object.prototype members are ordinary keys', () => {
    const barrier = new Barrier();
    for (const key of ['__proto__', 'constructor', 'toString', '']) {
      expect(barrier.peek(key)).toBeUndefined();
      expect(barrier.enter(key, 1)).toEqual(accepted());
      barrier.stateChanged(key, 1, 'failed');
      expect(barrier.enter(key, 2)).toEqual(rejected(1));
    }
    expect(barrier.size).toBe(4);
  });
});
