import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JobIdSet } from '../../src/core/job-id-set.js';

describe('JobIdSet', () => {
  it('starts empty and does not contain 0', () => {
    const set = new JobIdSet();
    expect(set.size).toBe(0);
    expect(set.has(0)).toBe(false);
    expect(set.toArray()).toEqual([]);
  });

  it('holds job id 0 like any other id', () => {
    const set = new JobIdSet();
    set.add(0);
    expect(set.has(0)).toBe(true);
    expect(set.size).toBe(1);
    set.delete(0);
    expect(set.has(0)).toBe(false);
    expect(set.size).toBe(0);
  });

  it('counts an id added twice once, inline and in the grown set', () => {
    const set = new JobIdSet();
    set.add(7);
    set.add(7);
    expect(set.size).toBe(1);
    set.add(8);
    set.add(8);
    set.add(7);
    expect(set.size).toBe(2);
    expect(set.toArray()).toEqual([7, 8]);
  });

  it('grows from one inline id to many and keeps the first id', () => {
    const set = new JobIdSet();
    set.add(3);
    set.add(1);
    set.add(2);
    expect(set.size).toBe(3);
    expect([1, 2, 3].map((id) => set.has(id))).toEqual([true, true, true]);
    expect(set.has(4)).toBe(false);
  });

  it('lists ids in numeric, not lexicographic, order (negatives first)', () => {
    const set = JobIdSet.of([10, 9, -1, 100, 0]);
    expect(set.toArray()).toEqual([-1, 0, 9, 10, 100]);
  });

  it('ignores deleting an id it does not hold, inline or grown', () => {
    const one = JobIdSet.of([5]);
    one.delete(6);
    expect(one.toArray()).toEqual([5]);
    const empty = new JobIdSet();
    empty.delete(0);
    expect(empty.size).toBe(0);
    const many = JobIdSet.of([1, 2]);
    many.delete(3);
    expect(many.toArray()).toEqual([1, 2]);
  });

  it('keeps working after shrinking back from many ids to none', () => {
    const set = JobIdSet.of([1, 2]);
    set.delete(1);
    set.delete(2);
    expect(set.size).toBe(0);
    set.add(0);
    expect(set.has(0)).toBe(true);
    expect(set.toArray()).toEqual([0]);
  });

  it('is empty after clear, whether inline or grown', () => {
    const inline = JobIdSet.of([4]);
    inline.clear();
    expect(inline.size).toBe(0);
    expect(inline.has(4)).toBe(false);
    const grown = JobIdSet.of([4, 5, 6]);
    grown.clear();
    expect(grown.size).toBe(0);
    expect(grown.has(5)).toBe(false);
    grown.add(5);
    expect(grown.toArray()).toEqual([5]);
  });

  it('toArray returns a copy the caller may change', () => {
    const set = JobIdSet.of([1, 2]);
    set.toArray().push(3);
    expect(set.toArray()).toEqual([1, 2]);
  });

  it('behaves as a Set<number> for any sequence of add, delete, leave, reset and clear', () => {
    // Invariant: size, has and toArray equal the model's after every command;
    // leave returns the model's size after the delete.
    const command = fc.oneof(
      fc.record({ op: fc.constant('add' as const), id: fc.integer({ min: -2, max: 4 }) }),
      fc.record({ op: fc.constant('delete' as const), id: fc.integer({ min: -2, max: 4 }) }),
      fc.record({ op: fc.constant('leave' as const), id: fc.integer({ min: -2, max: 4 }) }),
      fc.record({ op: fc.constant('reset' as const), id: fc.integer({ min: -2, max: 4 }) }),
      fc.record({ op: fc.constant('clear' as const), id: fc.constant(0) }),
    );
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
        const set = new JobIdSet();
        const model = new Set<number>();
        for (const { op, id } of commands) {
          if (op === 'add') {
            set.add(id);
            model.add(id);
          } else if (op === 'delete') {
            set.delete(id);
            model.delete(id);
          } else if (op === 'leave') {
            model.delete(id);
            expect(set.leave(id)).toBe(model.size);
          } else if (op === 'reset') {
            set.reset(id);
            model.clear();
            model.add(id);
          } else {
            set.clear();
            model.clear();
          }
          expect(set.size).toBe(model.size);
          for (let probe = -2; probe <= 4; probe++) expect(set.has(probe)).toBe(model.has(probe));
          expect(set.toArray()).toEqual([...model].sort((a, b) => a - b));
        }
      }),
      { numRuns: 300 },
    );
  });
});
