// Barrier: toSnapshot and fromSnapshot round-trip, and reject a malformed snapshot.
import { describe, expect, it } from 'vitest';
import { Barrier, type BarrierSnapshot } from '../../src/index.js';
import { thrownBy } from '../support/thrown.js';
import { accepted, rejected } from '../support/barrier-results.js';

describe('Barrier snapshots', () => {
  function variedBarrier(now: () => number): Barrier {
    const barrier = new Barrier({ keyThreshold: 2, concurrencyLimit: 1, disabledDuration: 10, halfEnabledDuration: 10, now });
    barrier.stateChanged('plain', 0, 'failed');
    barrier.enter('running', 4);
    barrier.enter('running', 5);
    barrier.stateChanged('running', 5, 'failed');
    barrier.enter('hot', 1);
    barrier.enter('hot', 2);
    barrier.enter('hot', 3);
    barrier.stateChanged('drain', 8, 'failed');
    barrier.stateChanged('drain', 8, 'aborted');
    barrier.sync();
    barrier.enter('drain', 9);
    barrier.stateChanged('running', 4, 'succeeded');
    barrier.stateChanged('plain', 1, 'waiting');
    barrier.stateChanged('drain', 9, 'filtered');
    return barrier;
  }

  it('a snapshot survives a JSON round trip unchanged', () => {
    const snapshot = variedBarrier(() => 5).snapshot();
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
    expect(snapshot.queue).toEqual([
      { key: 'running', jobId: 4, state: 'succeeded' },
      { key: 'plain', jobId: 1, state: 'waiting' },
      { key: 'drain', jobId: 9, state: 'filtered' },
    ]);
  });

  it('a barrier restored from a JSON round trip has the same snapshot, text and behaviour', () => {
    let now = 5;
    const options = { keyThreshold: 2, concurrencyLimit: 1, disabledDuration: 10, halfEnabledDuration: 10, now: () => now };
    const original = variedBarrier(options.now);
    const restored = Barrier.fromSnapshot(JSON.parse(JSON.stringify(original.snapshot())) as BarrierSnapshot, options);
    expect(restored.snapshot()).toEqual(original.snapshot());
    expect(restored.toString()).toBe(original.toString());
    expect(restored.size).toBe(original.size);
    expect(restored.pending).toBe(original.pending);

    now = 20;
    for (const barrier of [original, restored]) {
      expect(barrier.sync()).toBe(3);
      expect(barrier.enter('hot', 4)).toEqual(accepted());
      expect(barrier.disabled('hot')).toBe(false);
      expect(barrier.enter('running', 6)).toEqual(rejected(5));
      expect(barrier.enter('drain', 10)).toEqual(accepted()); // the queued filtered 9 ended draining
      expect(barrier.enter('drain', 11)).toEqual(accepted());
      expect(barrier.enter('drain', 12)).toEqual(accepted()); // the key threshold disables 'drain'
      expect(barrier.disabled('drain')).toBe(true);
    }
    expect(restored.snapshot()).toEqual(original.snapshot());
  });

  it('a snapshot is a copy: changing it changes neither the barrier nor what it was restored into', () => {
    const barrier = variedBarrier(() => 5);
    const snapshot = barrier.snapshot();
    const restored = Barrier.fromSnapshot(snapshot, { keyThreshold: 2, concurrencyLimit: 1 });
    const expected = barrier.snapshot();
    snapshot.records[0]!.failedJobId = 99;
    snapshot.records[1]!.concurrent!.push(42);
    snapshot.queue.length = 0;
    expect(barrier.snapshot()).toEqual(expected);
    expect(restored.snapshot()).toEqual(expected);
  });

  it('regression: restoring under keyThreshold 0 disabled every key with a running set at its next enter', () => {
    const snapshot = variedBarrier(() => 5).snapshot();
    const restored = Barrier.fromSnapshot(snapshot, { concurrencyLimit: 1 });
    expect(restored.enter('running', 5)).toEqual({ accepted: true, previousFailedJobId: 5 });
    expect(restored.disabled('running')).toBe(false);
    expect(restored.snapshot().records.every((record) => record.concurrent === null)).toBe(true);
  });

  it('regression: restoring under concurrencyLimit 0 kept draining sets that rejected every job of the key', () => {
    const barrier = new Barrier({ concurrencyLimit: 1 });
    barrier.stateChanged('k', 1, 'failed');
    barrier.stateChanged('k', 1, 'aborted');
    barrier.sync();
    expect(barrier.enter('k', 2)).toEqual({ accepted: true, previousFailedJobId: undefined });
    const restored = Barrier.fromSnapshot(barrier.snapshot());
    // The draining record is inactive without its set: nothing is restored.
    expect(restored.size).toBe(0);
    expect(restored.enter('k', 3)).toEqual({ accepted: true, previousFailedJobId: undefined });
    expect(restored.enter('k', 4)).toEqual({ accepted: true, previousFailedJobId: undefined });
  });

  it('an empty barrier round-trips', () => {
    const restored = Barrier.fromSnapshot({ version: 1, records: [], queue: [] });
    expect(restored.size).toBe(0);
    expect(restored.pending).toBe(0);
  });

  const valid = (): Record<string, unknown> => ({
    version: 1,
    records: [
      { key: 'a', mode: 'enabled', modeSince: 0, failedJobId: 1, concurrent: null, draining: null },
      { key: 'b', mode: 'disabled', modeSince: 3, failedJobId: null, concurrent: [1, 2], draining: [2] },
    ],
    queue: [{ key: 'a', jobId: 1, state: 'succeeded' }],
  });

  type Snap = { version: unknown; records: Record<string, unknown>[]; queue: Record<string, unknown>[] };

  const malformed: [string, (s: Snap) => unknown][] = [
    ['snapshot', () => null],
    ['snapshot', () => 'snapshot'],
    ['version', (s) => ({ ...s, version: 2 })],
    ['version', (s) => ({ ...s, version: undefined })],
    ['records', (s) => ({ ...s, records: {} })],
    ['queue', (s) => ({ ...s, queue: undefined })],
    ['records[1]', (s) => ({ ...s, records: [s.records[0], null] })],
    ['records[0].key', (s) => (s.records[0]!.key = 1, s)],
    ['records[1].key', (s) => (s.records[1]!.key = 'a', s)],
    ['records[0].mode', (s) => (s.records[0]!.mode = 'off', s)],
    ['records[0].modeSince', (s) => (s.records[0]!.modeSince = NaN, s)],
    ['records[0].modeSince', (s) => (s.records[0]!.modeSince = '0', s)],
    ['records[0].failedJobId', (s) => (s.records[0]!.failedJobId = 1.5, s)],
    ['records[0].failedJobId', (s) => (delete s.records[0]!.failedJobId, s)],
    ['records[0].failedJobId', (s) => (s.records[0]!.failedJobId = '1', s)],
    ['records[1].concurrent', (s) => (s.records[1]!.concurrent = 'x', s)],
    ['records[1].concurrent[1]', (s) => (s.records[1]!.concurrent = [1, 'a'], s)],
    ['records[1].draining', (s) => (delete s.records[1]!.draining, s)],
    ['records[1].draining[0]', (s) => (s.records[1]!.draining = [2 ** 53], s)],
    ['queue[0]', (s) => (s.queue[0] = 5 as never, s)],
    ['queue[0].key', (s) => (s.queue[0]!.key = null, s)],
    ['queue[0].jobId', (s) => (s.queue[0]!.jobId = NaN, s)],
    ['queue[0].state', (s) => (s.queue[0]!.state = 'failed', s)],
    ['queue[0].state', (s) => (s.queue[0]!.state = 'executing', s)],
  ];

  it('the valid example used below is accepted', () => {
    expect(Barrier.fromSnapshot(valid() as unknown as BarrierSnapshot).size).toBe(2);
  });

  it.each(malformed)('fromSnapshot rejects a malformed %s with a TypeError naming it', (field, change) => {
    const snapshot = change(valid() as unknown as Snap);
    const error = thrownBy(() => Barrier.fromSnapshot(snapshot as BarrierSnapshot));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain(`invalid barrier snapshot: ${field} must`);
  });
});
