import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Barrier } from '../../src/index.js';
import { ENABLED, failedJobOf, KeyRecord, type Entry } from '../../src/core/key-record.js';
import { RecordMap } from '../../src/core/record-map.js';

const record = (): KeyRecord => new KeyRecord(ENABLED, 0, 1, false, null);

describe('RecordMap', () => {
  it('finds what was set and forgets what was deleted, keys sharing a filter slot included', () => {
    const map = new RecordMap();
    // Same length and last character: one filter slot.
    map.set('ab1', 1);
    map.set('cd1', 2);
    expect(map.get('ab1')).toBe(1);
    expect(map.get('cd1')).toBe(2);
    expect(map.get('ef1')).toBeUndefined();
    map.delete('ab1');
    expect(map.get('ab1')).toBeUndefined();
    expect(map.get('cd1')).toBe(2);
    expect(map.size).toBe(1);
  });

  it('the remembered last lookup follows every set and delete of its key', () => {
    const map = new RecordMap();
    map.set('k', 1);
    expect(map.get('k')).toBe(1);
    map.set('k', 2);
    expect(map.get('k')).toBe(2);
    map.delete('k');
    expect(map.get('k')).toBeUndefined();
    map.set('k', 3);
    expect(map.get('k')).toBe(3);
  });

  it('a miss remembered at lookup gives way to the entry the key gets next', () => {
    const map = new RecordMap();
    map.set('other', 1);
    // Filtered out, and remembered as a miss.
    expect(map.lookup('k-1')).toBeUndefined();
    expect(map.get('k-1')).toBeUndefined();
    map.set('k-1', 2);
    expect(map.get('k-1')).toBe(2);
    expect(map.lookup('k-1')).toBe(2);
  });

  it('an idle record reads as none, is not counted, and comes back in place when revived', () => {
    const map = new RecordMap();
    const r = record();
    map.set('k', r);
    map.retire('k', r, true);
    expect(map.get('k')).toBeUndefined();
    expect(map.find('k')).toBe(r);
    expect(map.size).toBe(0);
    expect(map.sorted()).toEqual([]);
    expect([...map.records()]).toEqual([]);
    map.revive(r);
    expect(map.get('k')).toBe(r);
    expect(map.size).toBe(1);
  });

  it('replacing or deleting a record detaches it, so a command queued for it looks the key up again', () => {
    const map = new RecordMap();
    const first = record();
    map.set('k', first);
    map.set('k', 7);
    expect(first.detached).toBe(true);
    const second = record();
    map.set('k', second);
    map.delete('k');
    expect(second.detached).toBe(true);
  });

  it('retiring without keeping deletes; dropIdle deletes every idle record', () => {
    const map = new RecordMap();
    const a = record();
    const b = record();
    map.set('a', a);
    map.set('b', b);
    map.retire('a', a, false);
    expect(map.find('a')).toBeUndefined();
    map.retire('b', b, true);
    map.dropIdle();
    expect(map.find('b')).toBeUndefined();
    expect(map.size).toBe(0);
  });

  it('lists records sorted by key, whatever order they were set in', () => {
    const map = new RecordMap();
    for (const key of ['b', 'a', 'c']) map.set(key, 1);
    expect(map.sorted().map(([key]) => key)).toEqual(['a', 'b', 'c']);
  });

  it('agrees with a plain Map under any sequence of sets, deletes, lookups and failed-job changes (short keys force shared slots)', () => {
    // Invariant: every read equals the model's, and `failing` is the number
    // of entries with a failed job (`wait` skips its lookup when it is 0).
    const keys = ['', 'a', 'b', 'aa', 'ba', 'ab', 'xa', 'xxa', 'yya'];
    const key = fc.constantFrom(...keys);
    const failed = fc.option(fc.integer({ min: -3, max: 3 }), { nil: undefined });
    const command = fc.oneof(
      fc.record({ op: fc.constant('set' as const), key, value: fc.integer({ min: -3, max: 3 }) }),
      fc.record({ op: fc.constant('setRecord' as const), key, failed }),
      fc.record({ op: fc.constant('setFailed' as const), key, failed }),
      fc.record({ op: fc.constant('delete' as const), key }),
      fc.record({ op: fc.constant('get' as const), key }),
      fc.record({ op: fc.constant('lookup' as const), key }),
    );
    fc.assert(
      fc.property(fc.array(command, { maxLength: 60 }), (commands) => {
        const map = new RecordMap();
        const model = new Map<string, Entry>();
        for (const c of commands) {
          if (c.op === 'set' || c.op === 'setRecord') {
            const entry = c.op === 'set' ? c.value : new KeyRecord(ENABLED, 0, c.failed, false, null);
            map.set(c.key, entry);
            model.set(c.key, entry);
          } else if (c.op === 'setFailed') {
            const entry = model.get(c.key);
            if (entry !== undefined && typeof entry !== 'number') map.setFailed(entry, c.failed);
          } else if (c.op === 'delete') {
            map.delete(c.key);
            model.delete(c.key);
          } else if (c.op === 'lookup') {
            expect(map.lookup(c.key)).toBe(model.get(c.key));
          }
          expect(map.get(c.key)).toBe(model.get(c.key));
          expect(map.size).toBe(model.size);
          expect(map.failing).toBe([...model.values()].filter((e) => failedJobOf(e) !== undefined).length);
        }
        for (const k of keys) expect(map.get(k)).toBe(model.get(k));
      }),
    );
  });
});

describe('Barrier with keyThreshold: retired records are reused, never seen', () => {
  it('a key whose last job finished has no record, though its record is kept for reuse', () => {
    const barrier = new Barrier({ keyThreshold: 5 });
    barrier.enter('k', 1);
    expect(barrier.size).toBe(1);
    expect(barrier.stateChanged('k', 1, 'succeeded')).toBe(true);
    barrier.sync();
    expect(barrier.size).toBe(0);
    expect(barrier.has('k')).toBe(false);
    expect(barrier.snapshot().records).toEqual([]);
    expect(String(barrier)).toBe('Barrier 0 keys, 0 pending');
    // With no record, a state is applied at once (to nothing), not queued.
    expect(barrier.stateChanged('k', 2, 'succeeded')).toBe(false);
    expect(barrier.enter('k', 2)).toEqual({ accepted: true, previousFailedJobId: undefined });
    expect(barrier.snapshot().records).toEqual([
      { key: 'k', mode: 'enabled', modeSince: 0, failedJobId: null, concurrent: [2], draining: null },
    ]);
  });

  it('a failure of a key with a kept record starts from a clean record', () => {
    const barrier = new Barrier({ keyThreshold: 5 });
    barrier.enter('k', 1);
    barrier.stateChanged('k', 1, 'succeeded');
    barrier.sync();
    barrier.stateChanged('k', 2, 'failed');
    expect(barrier.snapshot().records).toEqual([
      { key: 'k', mode: 'enabled', modeSince: 0, failedJobId: 2, concurrent: null, draining: null },
    ]);
  });

  it('a command queued for a record that was replaced before the sync applies to the key as it is then', () => {
    let disabledKey = '';
    const barrier = new Barrier({ keyThreshold: 5, orderingDisabled: (key) => key === disabledKey, now: () => 0 });
    barrier.enter('k', 1);
    barrier.stateChanged('k', 1, 'failed');
    expect(barrier.stateChanged('k', 1, 'succeeded')).toBe(true);
    disabledKey = 'k';
    barrier.enter('k', 2); // replaces the record with a fresh disabled one
    disabledKey = '';
    barrier.sync(); // 'succeeded' on a disabled record changes nothing
    expect(barrier.disabled('k')).toBe(true);
    expect(barrier.peek('k')).toBeUndefined();
  });

  it('past its limit of kept records, the barrier deletes them all and goes on as before', () => {
    const barrier = new Barrier({ keyThreshold: 5 });
    const keys = 20_000;
    for (let id = 0; id < keys; id++) {
      barrier.enter(`k${id}`, id);
      barrier.stateChanged(`k${id}`, id, 'succeeded');
    }
    expect(barrier.size).toBe(keys);
    expect(barrier.sync()).toBe(keys);
    expect(barrier.size).toBe(0);
    for (let id = 0; id < keys; id += 997) {
      expect(barrier.has(`k${id}`)).toBe(false);
      expect(barrier.enter(`k${id}`, keys + id)).toEqual({ accepted: true, previousFailedJobId: undefined });
    }
    expect(barrier.size).toBe(Math.ceil(keys / 997));
  });

  it('prune drops kept records without counting them', () => {
    const barrier = new Barrier({ keyThreshold: 5 });
    for (let id = 1; id <= 3; id++) {
      barrier.enter(`k${id}`, id);
      barrier.stateChanged(`k${id}`, id, 'succeeded');
    }
    barrier.sync();
    expect(barrier.prune()).toBe(0);
    expect(barrier.size).toBe(0);
  });
});
