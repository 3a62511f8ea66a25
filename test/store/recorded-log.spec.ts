import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordedLog } from '../../src/store/recorded-log.js';

type Command =
  | { readonly type: 'add'; readonly key: string }
  | { readonly type: 'finish'; readonly pick: number }
  | { readonly type: 'clear' }
  | { readonly type: 'drain' };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ type: fc.constant('add' as const), key: fc.constantFrom('a', 'b', 'c') }) },
  { weight: 5, arbitrary: fc.record({ type: fc.constant('finish' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ type: 'clear' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'drain' as const }) },
);

const entry = (key: string, id: number): string => `${key}#${id}`;

describe('RecordedLog (the recorded untracked jobs an entrance leaves at close)', () => {
  it('drains every unfinished job once, in the order logged, whatever was added, finished, cleared and drained before', () => {
    // Invariant: drain yields each job added since the last clear/drain and
    // not yet finished exactly once, in add order, plus perhaps finished ones
    // not swept yet (leaving those again is harmless), and nothing older; the
    // log never holds more than twice the most unfinished jobs it has had
    // since it was last emptied, plus 64 (the sweep keeps it bounded).
    fc.assert(
      fc.property(fc.array(command, { maxLength: 400 }), (commands) => {
        const log = new RecordedLog();
        let logged: string[] = [];
        const unfinished = new Set<string>();
        const stillTracked = (key: string, id: number): boolean => unfinished.has(entry(key, id));
        let nextId = 1;
        let peak = 0;
        for (const c of commands) {
          if (c.type === 'add') {
            const id = nextId++;
            log.add(c.key, id, stillTracked);
            logged.push(entry(c.key, id));
            unfinished.add(entry(c.key, id));
            peak = Math.max(peak, unfinished.size);
          } else if (c.type === 'finish') {
            if (unfinished.size === 0) continue;
            // Mostly the oldest, as a synchronous pipeline finishes them.
            const open = [...unfinished];
            const chosen = c.pick % 3 === 0 ? open[c.pick % open.length]! : open[0]!;
            unfinished.delete(chosen);
            const [key, id] = chosen.split('#') as [string, string];
            log.finished(key, Number(id));
          } else {
            const drained: string[] = [];
            if (c.type === 'drain') log.drain((key, id) => drained.push(entry(key, id)));
            else log.clear();
            if (c.type === 'drain') {
              expect(drained.filter((e) => unfinished.has(e))).toEqual([...unfinished]);
              expect(drained.every((e) => logged.includes(e))).toBe(true);
              expect(new Set(drained).size).toBe(drained.length);
            }
            expect(log.size).toBe(0);
            logged = [];
            unfinished.clear();
            peak = 0;
          }
          expect(log.size).toBeGreaterThanOrEqual(unfinished.size);
          expect(log.size).toBeLessThan(2 * peak + 64);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reuses its arrays after a clear: the next job overwrites the stale slot, and drain yields only it', () => {
    const log = new RecordedLog();
    const never = (): boolean => false;
    log.add('a', 1, never);
    log.add('b', 2, never);
    log.clear();
    log.add('c', 3, never);
    const drained: string[] = [];
    log.drain((key, id) => drained.push(entry(key, id)));
    expect(drained).toEqual(['c#3']);
  });
});
