import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import fc from 'fast-check';
import { EMPTY, Observable, Subject, defer, finalize, from, of, range, take, tap } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { marbles } from 'rxjs-marbles';
import type { Context } from 'rxjs-marbles';
import { describe, expect, it } from 'vitest';
import { concatMapByKey } from '../../src/operators/index.js';
import { PER_KEY_SERIAL_GLOBAL_BOUND } from '../diagrams.js';
import { playConcatMapByKey } from '../support/diagram-player.js';

// In the diagrams one character is one frame. Values are letters and each
// inner emits its value, so the output diagram shows which inner emitted when.
// Keys: a b c are key A; x y are key X; p q are key P.
const KEY_OF: Record<string, string> = { a: 'A', b: 'A', c: 'A', x: 'X', y: 'X', p: 'P', q: 'P' };
const keyOf = (value: string): string => KEY_OF[value] ?? value;

/** One cold inner per value, made up front so its subscriptions can be checked; also the `project`. */
function inners(m: Context, diagramsByValue: Record<string, string>) {
  const byValue = new Map(Object.entries(diagramsByValue).map(([value, diagram]) => [value, m.cold(diagram, { v: value })]));
  return (value: string) => {
    const inner = byValue.get(value);
    if (inner === undefined) throw new Error(`no inner for ${value}`);
    return inner;
  };
}

describe('concatMapByKey', () => {
  describe('scheduling', () => {
    it(
      'runs the values of one key one after another, in arrival order',
      marbles((m) => {
        const inner = inners(m, { a: '--v|', b: '--v|' });
        const source = m.cold('-ab------|');
        m.expect(source.pipe(concatMapByKey(keyOf, inner))).toBeObservable('---a--b--|');
        m.expect(inner('a')).toHaveSubscriptions('-^--!');
        m.expect(inner('b')).toHaveSubscriptions('----^--!');
      }),
    );

    it(
      'runs different keys side by side',
      marbles((m) => {
        const inner = inners(m, { a: '--v|', x: '--v|' });
        const source = m.cold('-ax---|');
        m.expect(source.pipe(concatMapByKey(keyOf, inner))).toBeObservable('---ax-|');
        m.expect(inner('a')).toHaveSubscriptions('-^--!');
        m.expect(inner('x')).toHaveSubscriptions('--^--!');
      }),
    );

    it(
      'never runs more than `concurrency` inners, over all keys',
      marbles((m) => {
        const inner = inners(m, { a: '--v|', x: '--v|', p: '--v|' });
        const source = m.cold('-axp----|');
        m.expect(source.pipe(concatMapByKey(keyOf, inner, 2))).toBeObservable('---ax-p-|');
        // p waits for the first free slot, a's at 4.
        m.expect(inner('p')).toHaveSubscriptions('----^--!');
      }),
    );

    it(
      'when a slot frees, starts the value that arrived first among keys with nothing running',
      marbles((m) => {
        playConcatMapByKey(m, PER_KEY_SERIAL_GLOBAL_BOUND);
      }),
    );

    it(
      'starts the next inner of a key after the previous one is torn down',
      marbles((m) => {
        const log: string[] = [];
        const source = m.cold('-ab---|');
        const project = (value: string) =>
          m.cold('-v|', { v: value }).pipe(
            tap({ subscribe: () => log.push(`start ${value}`) }),
            finalize(() => log.push(`end ${value}`)),
          );
        m.expect(source.pipe(concatMapByKey(keyOf, project))).toBeObservable('--a-b-|');
        m.flush();
        expect(log).toEqual(['start a', 'end a', 'start b', 'end b']);
      }),
    );

    it(
      "passes project each value's index in the source",
      marbles((m) => {
        const source = m.cold('-axb-|');
        const project = (value: string, index: number) => m.cold('-v|', { v: `${value}${index}` });
        m.expect(source.pipe(concatMapByKey(keyOf, project, 1))).toBeObservable('--a-x-b|', {
          a: 'a0',
          x: 'x1',
          b: 'b2',
        });
      }),
    );

    it('calls the key selector once per value', () => {
      const calls: string[] = [];
      const key = (value: string) => {
        calls.push(value);
        return keyOf(value);
      };
      from(['a', 'b', 'x', 'c']).pipe(concatMapByKey(key, (value) => of(value), 1)).subscribe();
      expect(calls).toEqual(['a', 'b', 'x', 'c']);
    });
  });

  describe('completion', () => {
    it(
      'completes when the source has completed and the last inner has completed',
      marbles((m) => {
        const inner = inners(m, { a: '---v|' });
        m.expect(m.cold('-a|').pipe(concatMapByKey(keyOf, inner))).toBeObservable('----a|');
      }),
    );

    it(
      'completes at once when the source completes with nothing running',
      marbles((m) => {
        m.expect(m.cold('---|').pipe(concatMapByKey(keyOf, (value: string) => of(value)))).toBeObservable('---|');
      }),
    );

    it(
      'does not complete while an inner is still running',
      marbles((m) => {
        const inner = inners(m, { a: '-v--' });
        m.expect(m.cold('-a|').pipe(concatMapByKey(keyOf, inner))).toBeObservable('--a-');
      }),
    );
  });

  describe('errors', () => {
    const failure = new Error('boom');

    it(
      "errors with the source's error and unsubscribes the inners",
      marbles((m) => {
        const inner = inners(m, { a: '-----v|' });
        const source = m.cold('-a-#', undefined, failure);
        m.expect(source.pipe(concatMapByKey(keyOf, inner))).toBeObservable('---#', undefined, failure);
        m.expect(inner('a')).toHaveSubscriptions('-^-!');
      }),
    );

    it(
      "errors with an inner's error and unsubscribes the source and the other inners",
      marbles((m) => {
        const source = m.cold('-ax----|');
        const a = m.cold('--#', undefined, failure);
        const x = m.cold('-----v|', { v: 'x' });
        const project = (value: string) => (value === 'a' ? a : x);
        m.expect(source.pipe(concatMapByKey(keyOf, project))).toBeObservable('---#', undefined, failure);
        m.expect(x).toHaveSubscriptions('--^!');
        m.expect(source).toHaveSubscriptions('^--!');
      }),
    );

    it(
      'errors with what the key selector throws',
      marbles((m) => {
        const inner = inners(m, { a: '-----v|' });
        const key = (value: string) => {
          if (value === 'e') throw failure;
          return keyOf(value);
        };
        const source = m.cold('-a-e--|');
        m.expect(source.pipe(concatMapByKey(key, inner))).toBeObservable('---#', undefined, failure);
        m.expect(inner('a')).toHaveSubscriptions('-^-!');
        m.expect(source).toHaveSubscriptions('^--!');
      }),
    );

    it(
      'errors with what project throws',
      marbles((m) => {
        const inner = inners(m, { a: '-----v|' });
        const project = (value: string) => {
          if (value === 'e') throw failure;
          return inner(value);
        };
        const source = m.cold('-a-e--|');
        m.expect(source.pipe(concatMapByKey(keyOf, project))).toBeObservable('---#', undefined, failure);
        m.expect(inner('a')).toHaveSubscriptions('-^-!');
      }),
    );

    it('errors with a TypeError when project returns something that is not an ObservableInput', () => {
      let error: unknown;
      of('a')
        .pipe(concatMapByKey(keyOf, () => 42 as unknown as Observable<string>))
        .subscribe({ error: (err: unknown) => (error = err) });
      expect(error).toBeInstanceOf(TypeError);
    });
  });

  describe('unsubscribing', () => {
    it(
      'unsubscribes the source and every running inner, and starts no queued value',
      marbles((m) => {
        const inner = inners(m, { a: '-----v|', x: '-----v|', b: '-v|' });
        const source = m.cold('-axb---|');
        m.expect(source.pipe(concatMapByKey(keyOf, inner)), '^---!').toBeObservable('-----');
        m.expect(source).toHaveSubscriptions('^---!');
        m.expect(inner('a')).toHaveSubscriptions('-^--!');
        m.expect(inner('x')).toHaveSubscriptions('--^-!');
        m.expect(inner('b')).toHaveSubscriptions([]);
      }),
    );

    it('stops an endless synchronous source once downstream has taken enough', () => {
      let pulled = 0;
      let projected = 0;
      const endless = new Observable<number>((subscriber) => {
        while (!subscriber.closed) subscriber.next(pulled++);
      });
      const taken: number[] = [];
      endless
        .pipe(
          concatMapByKey(
            (i) => String(i % 3),
            (i) => {
              projected++;
              return of(i);
            },
          ),
          take(3),
        )
        .subscribe((i) => taken.push(i));
      expect(taken).toEqual([0, 1, 2]);
      expect(projected).toBe(3);
      expect(pulled).toBe(3);
    });

    it('stops a synchronous source at once when the key selector throws', () => {
      let pulled = 0;
      let error: unknown;
      range(0, 1000)
        .pipe(
          tap(() => pulled++),
          concatMapByKey(
            (i) => {
              if (i === 5) throw new Error('no key');
              return String(i);
            },
            (i) => of(i),
          ),
        )
        .subscribe({ error: (err: unknown) => (error = err) });
      expect(error).toEqual(new Error('no key'));
      expect(pulled).toBe(6);
    });
  });

  describe('concurrency option', () => {
    it.each([0, -1, 1.5, Number.NaN, -Infinity])(
      'throws a RangeError naming %s when called, before any subscription',
      (concurrency) => {
        expect(() => concatMapByKey(keyOf, (value: string) => of(value), concurrency)).toThrow(RangeError);
        expect(() => concatMapByKey(keyOf, (value: string) => of(value), concurrency)).toThrow(
          `concurrency must be a positive safe integer or Infinity, got ${String(concurrency)}`,
        );
      },
    );

    it('throws a TypeError for a concurrency that is not a number', () => {
      const call = () => concatMapByKey(keyOf, (value: string) => of(value), '2' as unknown as number);
      expect(call).toThrow(TypeError);
      expect(call).toThrow('concurrency must be a number, got "2"');
    });

    it.each([1, 7, Infinity, undefined])('accepts %s', (concurrency) => {
      const out: string[] = [];
      from(['a', 'x', 'b']).pipe(concatMapByKey(keyOf, (value) => of(value), concurrency)).subscribe((v) => out.push(v));
      expect(out).toEqual(['a', 'x', 'b']);
    });
  });

  describe('re-entrancy', () => {
    it.each([1, 2, Infinity])('runs inners that complete synchronously, in arrival order (concurrency %s)', (concurrency) => {
      const out: string[] = [];
      let completed = false;
      from(['a', 'b', 'x', 'c', 'y', 'p'])
        .pipe(concatMapByKey(keyOf, (value) => of(value), concurrency))
        .subscribe({ next: (v) => out.push(v), complete: () => (completed = true) });
      expect(out).toEqual(['a', 'b', 'x', 'c', 'y', 'p']);
      expect(completed).toBe(true);
    });

    it('completes when every inner is EMPTY', () => {
      let projected = 0;
      let completed = false;
      from(['a', 'b', 'x'])
        .pipe(
          concatMapByKey(
            keyOf,
            () => {
              projected++;
              return EMPTY;
            },
            1,
          ),
        )
        .subscribe({ complete: () => (completed = true) });
      expect(projected).toBe(3);
      expect(completed).toBe(true);
    });

    it("queues a value the source emits from inside an inner's finalize behind that inner", () => {
      const source = new Subject<string>();
      const log: string[] = [];
      const follow: Record<string, string> = { a: 'b', b: 'x', x: 'c' };
      source
        .pipe(
          concatMapByKey(
            keyOf,
            (value) =>
              defer(() => {
                log.push(`start ${value}`);
                return of(value);
              }).pipe(
                finalize(() => {
                  log.push(`end ${value}`);
                  const next = follow[value];
                  if (next === undefined) source.complete();
                  else source.next(next);
                }),
              ),
            1,
          ),
        )
        .subscribe({ complete: () => log.push('complete') });
      source.next('a');
      expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start x', 'end x', 'start c', 'end c', 'complete']);
    });

    it("queues a value the source emits from inside an asynchronous inner's finalize behind that inner", () => {
      const source = new Subject<string>();
      const pending: Subject<string>[] = [];
      const log: string[] = [];
      source
        .pipe(
          concatMapByKey(keyOf, (value) => {
            const inner = new Subject<string>();
            pending.push(inner);
            log.push(`start ${value}`);
            return inner.pipe(
              finalize(() => {
                log.push(`end ${value}`);
                if (value === 'a') source.next('b');
              }),
            );
          }),
        )
        .subscribe();
      source.next('a');
      source.next('x');
      expect(log).toEqual(['start a', 'start x']);
      pending[0]?.complete(); // a ends, and emits b from its finalize
      expect(log).toEqual(['start a', 'start x', 'end a', 'start b']);
    });

    it('queues values the source emits while project is running, and starts them in arrival order', () => {
      const source = new Subject<string>();
      const log: string[] = [];
      source
        .pipe(
          concatMapByKey(
            keyOf,
            (value) => {
              log.push(`project ${value}`);
              if (value === 'a') {
                source.next('p');
                source.next('b');
              }
              return of(value).pipe(finalize(() => log.push(`end ${value}`)));
            },
            1,
          ),
        )
        .subscribe((value) => log.push(`emit ${value}`));
      source.next('a');
      expect(log).toEqual(['project a', 'emit a', 'end a', 'project p', 'emit p', 'end p', 'project b', 'emit b', 'end b']);
    });

    it('runs 100k synchronous values without overflowing the stack', () => {
      for (const concurrency of [1, 3, Infinity]) {
        for (const keys of [1, 7, 100_000]) {
          let emitted = 0;
          let completed = false;
          range(0, 100_000)
            .pipe(concatMapByKey((i) => String(i % keys), (i) => (i % 2 === 0 ? of(i) : EMPTY), concurrency))
            .subscribe({ next: () => emitted++, complete: () => (completed = true) });
          expect(emitted).toBe(50_000);
          expect(completed).toBe(true);
        }
      }
    });

    it('runs a chain of 100k values, each emitted from the finalize of the one before, without overflowing the stack', () => {
      const source = new Subject<number>();
      let emitted = 0;
      let completed = false;
      source
        .pipe(
          concatMapByKey(
            (i) => String(i % 2),
            (i) =>
              of(i).pipe(
                finalize(() => {
                  if (i < 100_000) source.next(i + 1);
                  else source.complete();
                }),
              ),
            1,
          ),
        )
        .subscribe({ next: () => emitted++, complete: () => (completed = true) });
      source.next(1);
      expect(emitted).toBe(100_000);
      expect(completed).toBe(true);
    });
  });

  describe('memory', () => {
    // Lanes are private, so the test watches the heap: were each key's
    // bookkeeping kept after its inner ended, 1M distinct keys would hold
    // around 100 MB by the end.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('typeof gc === "function" ? gc : undefined') as (() => void) | undefined;

    it('forgets a key once it has nothing queued or running (1M distinct keys)', () => {
      // setFlagsFromString exposes gc in a new context on every Node this runs on.
      expect(gc).toBeTypeOf('function');
      const collect = gc as () => void;
      const heapAt = new Map<number, number>();
      const sample = (i: number) => {
        if (i === 100_000 || i === 999_999) {
          collect();
          heapAt.set(i, process.memoryUsage().heapUsed);
        }
      };
      let emitted = 0;
      range(0, 1_000_000)
        .pipe(
          concatMapByKey(
            (i) => `key-${i}`,
            (i) => {
              sample(i);
              return of(i);
            },
            16,
          ),
        )
        .subscribe(() => emitted++);
      expect(emitted).toBe(1_000_000);
      const growth = (heapAt.get(999_999) ?? 0) - (heapAt.get(100_000) ?? 0);
      expect(growth).toBeLessThan(16 * 1024 * 1024);
    });
  });

  describe('properties', () => {
    interface PlannedValue {
      key: string;
      /** Frames after the previous value; 0: in the same frame, right after it. */
      gap: number;
      /** Frames the inner runs; 0: it completes synchronously. */
      latency: number;
      /** A value the inner feeds back into the source, as it starts or as it ends. */
      echo: { key: string; latency: number; at: 'start' | 'end' } | null;
    }

    interface Scenario {
      values: PlannedValue[];
      concurrency: number;
      /** Frames from the last planned value to the source's completion. */
      tail: number;
    }

    interface Item {
      id: number;
      key: string;
      latency: number;
      echo: PlannedValue['echo'];
    }

    type Event =
      | { type: 'arrive'; item: Item }
      | { type: 'start'; item: Item; running: number; runningOfKey: number }
      | { type: 'end'; item: Item };

    interface Run {
      events: Event[];
      projected: { id: number; index: number }[];
      emitted: number[];
      sourceCompletedAt: number;
      lastEndAt: number;
      completedAt: number | undefined;
      error: unknown;
    }

    const keyArb = fc.constantFrom('A', 'B', 'C', 'D');
    const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
      values: fc.array(
        fc.record({
          key: keyArb,
          gap: fc.nat({ max: 3 }),
          latency: fc.nat({ max: 6 }),
          echo: fc.option(
            fc.record({ key: keyArb, latency: fc.nat({ max: 6 }), at: fc.constantFrom('start' as const, 'end' as const) }),
            { freq: 4 },
          ),
        }),
        { maxLength: 40 },
      ),
      concurrency: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant(Infinity)),
      tail: fc.nat({ max: 8 }),
    });

    /** Runs a scenario in virtual time and records what happened, in order. */
    function simulate(scenario: Scenario): Run {
      const scheduler = new TestScheduler(() => undefined);
      scheduler.maxFrames = Infinity;
      const source = new Subject<Item>();
      const run: Run = {
        events: [],
        projected: [],
        emitted: [],
        sourceCompletedAt: 0,
        lastEndAt: 0,
        completedAt: undefined,
        error: undefined,
      };
      let nextId = 0;
      let running = 0;
      const runningByKey = new Map<string, number>();
      const echo = (item: Item) => {
        if (item.echo === null) return;
        source.next({ id: nextId++, key: item.echo.key, latency: item.echo.latency, echo: null });
      };
      const project = (item: Item, index: number): Observable<number> => {
        run.projected.push({ id: item.id, index });
        return new Observable<number>((subscriber) => {
          running++;
          const runningOfKey = (runningByKey.get(item.key) ?? 0) + 1;
          runningByKey.set(item.key, runningOfKey);
          run.events.push({ type: 'start', item, running, runningOfKey });
          if (item.echo?.at === 'start') echo(item);
          const finish = () => {
            subscriber.next(item.id);
            subscriber.complete();
          };
          const timer = item.latency === 0 ? (finish(), undefined) : scheduler.schedule(finish, item.latency);
          return () => {
            timer?.unsubscribe();
            if (item.echo?.at === 'end') echo(item);
            running--;
            runningByKey.set(item.key, (runningByKey.get(item.key) ?? 1) - 1);
            run.events.push({ type: 'end', item });
            run.lastEndAt = scheduler.now();
          };
        });
      };

      const items: Item[] = scenario.values.map((value) => ({
        id: nextId++,
        key: value.key,
        latency: value.latency,
        echo: value.echo,
      }));
      let at = 0;
      let batch: Item[] = [];
      const emitAt = (frame: number, due: Item[]) => scheduler.schedule(() => due.forEach((item) => source.next(item)), frame);
      scenario.values.forEach((value, i) => {
        if (value.gap > 0 && batch.length > 0) {
          emitAt(at, batch);
          batch = [];
        }
        at += value.gap;
        batch.push(items[i] as Item);
      });
      if (batch.length > 0) emitAt(at, batch);
      run.sourceCompletedAt = at + scenario.tail;
      scheduler.schedule(() => source.complete(), run.sourceCompletedAt);

      source
        .pipe(
          tap((item) => run.events.push({ type: 'arrive', item })),
          concatMapByKey((item) => item.key, project, scenario.concurrency),
        )
        .subscribe({
          next: (id) => run.emitted.push(id),
          error: (err: unknown) => (run.error = err),
          complete: () => (run.completedAt = scheduler.now()),
        });
      scheduler.flush();
      return run;
    }

    const arrivals = (run: Run) => run.events.flatMap((event) => (event.type === 'arrive' ? [event.item] : []));
    const starts = (run: Run) => run.events.flatMap((event) => (event.type === 'start' ? [event] : []));
    const property = (check: (run: Run, scenario: Scenario) => void) => () =>
      fc.assert(
        fc.property(scenarioArb, (scenario) => check(simulate(scenario), scenario)),
        { numRuns: 300 },
      );

    it(
      'never runs two inners of one key at once',
      property((run) => {
        for (const start of starts(run)) expect(start.runningOfKey).toBe(1);
      }),
    );

    it(
      'never runs more than `concurrency` inners at once',
      property((run, scenario) => {
        for (const start of starts(run)) expect(start.running).toBeLessThanOrEqual(scenario.concurrency);
      }),
    );

    it(
      'per key, starts inners in arrival order',
      property((run) => {
        for (const key of ['A', 'B', 'C', 'D']) {
          const arrived = arrivals(run).filter((item) => item.key === key).map((item) => item.id);
          const started = starts(run).filter((start) => start.item.key === key).map((start) => start.item.id);
          expect(started).toEqual(arrived.slice(0, started.length));
        }
      }),
    );

    it(
      'projects every value exactly once, with its index in the source',
      property((run) => {
        const byId = (one: { id: number }, other: { id: number }) => one.id - other.id;
        const expected = arrivals(run).map((item, index) => ({ id: item.id, index }));
        expect([...run.projected].sort(byId)).toEqual(expected.sort(byId));
        expect([...run.emitted].sort((one, other) => one - other)).toEqual(expected.map(({ id }) => id));
      }),
    );

    it(
      'when it starts an inner, it is for the earliest-arrived waiting value whose key has nothing running',
      property((run) => {
        const waiting: Item[] = [];
        const busyKeys = new Set<string>();
        for (const event of run.events) {
          if (event.type === 'arrive') waiting.push(event.item);
          else if (event.type === 'end') busyKeys.delete(event.item.key);
          else {
            const earliest = waiting.find((item) => !busyKeys.has(item.key));
            expect(event.item.id).toBe(earliest?.id);
            waiting.splice(waiting.indexOf(event.item), 1);
            busyKeys.add(event.item.key);
          }
        }
      }),
    );

    it(
      'completes as soon as the source and the last inner have completed, keeping no key behind',
      property((run) => {
        expect(run.error).toBeUndefined();
        expect(run.completedAt).toBe(Math.max(run.sourceCompletedAt, run.lastEndAt));
      }),
    );
  });
});
