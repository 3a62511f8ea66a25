// Bad arguments get a typed error that names the function and the value,
// when the function is called (before any subscription) where it can.
import { of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { BarrierStore, type JobStatus } from '../../src/index.js';
import { barrierEnter, barrierState, barrierWait, concatMapByKey, orderedDelivery } from '../../src/operators/index.js';
import { thrownBy } from '../support/thrown.js';
import { newStore, type Job } from '../support/jobs.js';

const store = newStore();

describe('operators reject something that is not a store, when called', () => {
  const operators = { barrierEnter, barrierWait, barrierState } as const;

  it.each(Object.keys(operators) as (keyof typeof operators)[])('%s', (name) => {
    for (const value of [undefined, null, {}, 'store']) {
      const error = thrownBy(() => operators[name](value as never));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toBe(`${name} needs a BarrierStore, got ${value === undefined ? 'undefined' : JSON.stringify(value)}`);
    }
  });

  it('a store passes whichever build made it: the check is by a registered symbol, not the class', () => {
    const port = Symbol.for('rx-barrier.store-port');
    const store = new BarrierStore<Job>({ key: (value) => value.key, jobId: (value) => value.id });
    const otherBuild = { [port]: (store as unknown as Record<symbol, unknown>)[port] } as unknown as BarrierStore<Job>;
    expect(() => barrierEnter(otherBuild)).not.toThrow();
    expect(() => barrierEnter(Object.create(BarrierStore.prototype) as BarrierStore<Job>)).toThrow(TypeError);
  });
});

describe('concatMapByKey arguments', () => {
  it.each([
    ['key', undefined, 'concatMapByKey key must be a function, got undefined'],
    ['key', 'userId', 'concatMapByKey key must be a function, got "userId"'],
    ['project', undefined, 'concatMapByKey project must be a function, got undefined'],
  ])('rejects a %s of %s when called', (which, value, message) => {
    const key = which === 'key' ? value : (n: number) => String(n);
    const project = which === 'project' ? value : (n: number) => of(n);
    const error = thrownBy(() => concatMapByKey(key as never, project as never));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(message);
  });

  it('errors the stream when the key selector returns something that is not a string', () => {
    const values: number[] = [];
    let error: unknown;
    of({ id: 1, userId: 'a' }, { id: 2 })
      .pipe(concatMapByKey((value) => (value as { userId: string }).userId, (value) => of(value.id)))
      .subscribe({ next: (value) => values.push(value), error: (e: unknown) => (error = e) });
    expect(values).toEqual([1]);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('concatMapByKey key must return a string, got undefined for {"id":2}');
  });
});

describe('barrierState statuses', () => {
  it.each([
    ['x', '"x"'],
    [null, 'null'],
    [{ job: { key: 'a', id: 1 } }, '{"job":{"key":"a","id":1}}'],
  ])('errors the stream on %s, which is not a status, naming it', (value, shown) => {
    let error: unknown;
    of(value as unknown as JobStatus<Job>)
      .pipe(barrierState(store))
      .subscribe({ error: (e: unknown) => (error = e) });
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe(`barrierState takes { job, state } statuses, got ${shown}`);
  });
});

describe('orderedDelivery arguments', () => {
  it('checks the store before the options', () => {
    const error = thrownBy(() => orderedDelivery(undefined as never, { deliver: () => 'succeeded' }));
    expect(error.message).toBe('orderedDelivery needs a BarrierStore, got undefined');
  });
});
