import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HeldQueue } from '../../src/store/held-queue.js';
import type { Ticket } from '../../src/store/ticket.js';

const ticket = (id: number, tag = ''): Ticket<string> => ({
  job: `${id}${tag}`,
  key: 'k',
  id,
  entrance: {} as Ticket<string>['entrance'],
  state: 1,
  failures: 0,
  returning: false,
  unordered: false,
});

const jobs = (queue: HeldQueue<string>): string[] => Array.from({ length: queue.length }, (_, i) => queue.at(i)!.job);

describe('HeldQueue', () => {
  it('keeps job-id order, a later ticket of the same id after the earlier one', () => {
    const queue = new HeldQueue<string>();
    for (const t of [ticket(5), ticket(2), ticket(9), ticket(5, 'b'), ticket(1)]) queue.insert(t);
    expect(jobs(queue)).toEqual(['1', '2', '5', '5b', '9']);
  });

  it('takes the first in place and puts an older job in front of the rest', () => {
    const queue = new HeldQueue<string>();
    const [one, two, three] = [ticket(1), ticket(2), ticket(3)];
    for (const t of [one, two, three]) queue.insert(t);
    expect(queue.remove(one)).toBe(true);
    expect(queue.remove(one)).toBe(false);
    queue.insert(ticket(0));
    expect(jobs(queue)).toEqual(['0', '2', '3']);
    expect(queue.find((t) => t.id === 3)).toBe(three);
  });

  it('removeAll keeps the order of what stays and counts what went', () => {
    const queue = new HeldQueue<string>();
    for (let id = 1; id <= 6; id++) queue.insert(ticket(id));
    queue.remove(queue.at(0)!);
    expect(queue.removeAll((t) => t.id % 2 === 0)).toBe(3);
    expect(jobs(queue)).toEqual(['3', '5']);
  });

  it('releases 200,000 held jobs and removes a closed entrance\'s 150,000 without a spread', () => {
    // The store used to splice each released job off the front (quadratic)
    // and to rebuild a key's list with splice(0, n, ...kept), which throws a
    // RangeError past V8's argument limit.
    const queue = new HeldQueue<string>();
    for (let id = 0; id < 200_000; id++) queue.insert(ticket(id));
    expect(queue.removeAll((t) => t.id >= 50_000)).toBe(150_000);
    let released = 0;
    while (queue.length > 0) {
      expect(queue.remove(queue.at(0)!)).toBe(true);
      released++;
    }
    expect(released).toBe(50_000);
  });

  it('agrees with a sorted array under any sequence of inserts and removals', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('insert' as const), id: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ kind: fc.constant('removeFirst' as const) }),
      fc.record({ kind: fc.constant('removeAt' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('removeOdd' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const queue = new HeldQueue<string>();
        const model: Ticket<string>[] = [];
        let n = 0;
        for (const o of ops) {
          if (o.kind === 'insert') {
            const t = ticket(o.id, `#${n++}`);
            queue.insert(t);
            let i = model.length;
            while (i > 0 && model[i - 1]!.id > t.id) i--;
            model.splice(i, 0, t);
          } else if (o.kind === 'removeFirst' && model.length > 0) {
            expect(queue.remove(model.shift()!)).toBe(true);
          } else if (o.kind === 'removeAt' && model.length > 0) {
            const [t] = model.splice(o.at % model.length, 1);
            expect(queue.remove(t!)).toBe(true);
          } else if (o.kind === 'removeOdd') {
            const odd = model.filter((t) => t.id % 2 === 1).length;
            expect(queue.removeAll((t) => t.id % 2 === 1)).toBe(odd);
            model.splice(0, model.length, ...model.filter((t) => t.id % 2 === 0));
          }
          expect(jobs(queue)).toEqual(model.map((t) => t.job));
        }
      }),
    );
  });
});
