// RunningLog: the running ids of keys without a record, chained per key slot.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JobIdSet } from '../../src/core/job-id-set.js';
import { slotOf } from '../../src/core/key-slot.js';
import { RunningLog } from '../../src/core/running-log.js';

// 'xab', 'yab' and 'zab' share a key slot: one chain holds all three.
const KEYS = ['a', 'xab', 'yab', 'zab', ''];

type Op =
  | { op: 'enter' | 'remove' | 'has'; key: string; id: number }
  | { op: 'hasKey' | 'moveTo'; key: string }
  | { op: 'groups' };

const key = fc.constantFrom(...KEYS);
const id = fc.integer({ min: 0, max: 4 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('enter' as const), key, id }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('remove' as const), key, id }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('has' as const), key, id }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('hasKey' as const, 'moveTo' as const), key }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('groups' as const) }) },
);

/** The log as a plain list of [key, id] pairs. */
class Model {
  pairs: [string, number][] = [];
  constructor(readonly limit: number) {}
  private indexOf(key: string, id: number): number {
    return this.pairs.findIndex(([k, i]) => k === key && i === id);
  }
  enter(key: string, id: number): boolean {
    if (this.indexOf(key, id) >= 0) return true;
    if (this.pairs.length >= this.limit) return false;
    this.pairs.push([key, id]);
    return true;
  }
  remove(key: string, id: number): boolean {
    const i = this.indexOf(key, id);
    if (i >= 0) this.pairs.splice(i, 1);
    return i >= 0;
  }
  has(key: string, id: number): boolean {
    return this.indexOf(key, id) >= 0;
  }
  hasKey(key: string): boolean {
    return this.pairs.some(([k]) => k === key);
  }
  moveTo(key: string): number[] {
    const ids = this.pairs.filter(([k]) => k === key).map(([, i]) => i);
    this.pairs = this.pairs.filter(([k]) => k !== key);
    return ids.sort();
  }
  groups(): Record<string, number[]> {
    const groups: Record<string, number[]> = {};
    for (const [k, i] of this.pairs) (groups[k] ??= []).push(i);
    return sortedGroups(groups);
  }
}

function sortedGroups(groups: Record<string, number[]>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(groups).map(([k, ids]) => [k, [...ids].sort()]));
}

function apply(subject: RunningLog | Model, command: Op): unknown {
  switch (command.op) {
    case 'enter':
      return subject.enter(command.key, command.id);
    case 'remove':
      return subject.remove(command.key, command.id);
    case 'has':
      return subject.has(command.key, command.id);
    case 'hasKey':
      return subject.hasKey(command.key);
    case 'moveTo': {
      if (subject instanceof Model) return subject.moveTo(command.key);
      const set = new JobIdSet();
      const moved = subject.moveTo(command.key, set);
      expect(moved).toBe(set.size);
      return set.toArray();
    }
    case 'groups':
      return subject instanceof Model ? subject.groups() : sortedGroups(Object.fromEntries(subject.groups()));
  }
}

describe('RunningLog', () => {
  it('the test keys xab, yab and zab share one key slot', () => {
    expect(new Set(['xab', 'yab', 'zab'].map(slotOf)).size).toBe(1);
  });

  it('answers every call as a plain list of (key, id) pairs with the same limit does, and counts the same size', () => {
    // Invariant: the log is a set of (key, id) pairs of at most `limit`
    // entries, whatever the order of adds and removes and however the keys
    // share slots; entries freed in the middle are reused.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(op, { maxLength: 200, size: 'max' }), (limit, ops) => {
        const log = new RunningLog(limit);
        const model = new Model(limit);
        ops.forEach((command, step) => {
          expect(apply(log, command), `step ${step}: ${JSON.stringify(command)}`).toEqual(apply(model, command));
          expect(log.size).toBe(model.pairs.length);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('a log that never empties reuses the entries freed in the middle: its arrays stay within its limit', () => {
    const log = new RunningLog(20);
    log.enter('stays', 0);
    for (let id = 1; id <= 10_000; id++) {
      log.enter(`k${id % 7}`, id);
      log.enter(`j${id % 5}`, id);
      log.remove(`k${id % 7}`, id);
      log.remove(`j${id % 5}`, id);
    }
    expect(log.size).toBe(1);
    expect(log.capacity).toBeLessThanOrEqual(32);
  });

  it('grows past its first capacity and, emptied, hands out its first entries again', () => {
    const log = new RunningLog(100);
    for (let id = 0; id < 100; id++) expect(log.enter(`k${id}`, id)).toBe(true);
    expect(log.enter('one-more', 100)).toBe(false);
    expect(log.size).toBe(100);
    for (let id = 0; id < 100; id++) expect(log.remove(`k${id}`, id)).toBe(true);
    expect(log.size).toBe(0);
    expect(log.groups().size).toBe(0);
    expect(log.enter('again', 1)).toBe(true);
    expect([...log.groups()]).toEqual([['again', [1]]]);
  });
});
