// BarrierStore options: validation, and what reaches the barrier.
import { describe, expect, it } from 'vitest';
import { BarrierStore, type BarrierStoreOptions } from '../../src/index.js';
import { thrownBy } from '../support/thrown.js';
import { job, newStore, type Job } from '../support/jobs.js';
import { newScheduler, advanceTo, Entry } from '../support/store-harness.js';

describe('BarrierStore options', () => {
  const base = { key: (value: Job) => value.key, jobId: (value: Job) => value.id };

  const invalid: [string, Record<string, unknown>, ErrorConstructor, RegExp][] = [
    ['key missing', { key: undefined }, TypeError, /option key must be a function/],
    ['jobId not a function', { jobId: 'id' }, TypeError, /option jobId must be a function/],
    ['onOverflow not a function', { onOverflow: 1 }, TypeError, /option onOverflow must be a function/],
    ['retryDelay negative', { retryDelay: -1 }, RangeError, /option retryDelay/],
    ['retryDelay NaN', { retryDelay: NaN }, RangeError, /option retryDelay/],
    ['retryDelay Infinity', { retryDelay: Infinity }, RangeError, /option retryDelay/],
    ['retryDelay a string', { retryDelay: '5' }, TypeError, /option retryDelay/],
    ['sync unknown', { sync: 'sometimes' }, TypeError, /option sync must be 'auto' or 'manual', got "sometimes"/],
    ['scheduler not a SchedulerLike', { scheduler: {} }, TypeError, /option scheduler must be a SchedulerLike/],
    ['highWaterMark 0', { highWaterMark: 0 }, RangeError, /option highWaterMark must be a positive safe integer or Infinity, got 0/],
    ['highWaterMark fractional', { highWaterMark: 1.5 }, RangeError, /option highWaterMark/],
    ['highWaterMark NaN', { highWaterMark: NaN }, RangeError, /option highWaterMark/],
    ['highWaterMark a string', { highWaterMark: '10' }, TypeError, /option highWaterMark must be a number/],
    ['maxHeldPerKey negative', { maxHeldPerKey: -1 }, RangeError, /option maxHeldPerKey must be a non-negative safe integer or Infinity, got -1/],
    ['concurrencyLimit negative (a barrier option)', { concurrencyLimit: -1 }, RangeError, /option concurrencyLimit/],
    ['keyThreshold a string (a barrier option)', { keyThreshold: '2' }, TypeError, /option keyThreshold/],
  ];

  it.each(invalid)('rejects %s with an error naming the option', (_label, options, type, message) => {
    const error = thrownBy(() => new BarrierStore<Job>({ ...base, ...options } as unknown as BarrierStoreOptions<Job>));
    expect(error).toBeInstanceOf(type);
    expect(error.message).toMatch(message);
  });

  it.each(['highWaterMark', 'maxHeldPerKey', 'sync', 'scheduler', 'retryDelay', 'onOverflow'])(
    'names the option %s even when its value has no string form',
    (option) => {
      // Regression: the message was built with String(value), which throws a
      // TypeError of its own ("Cannot convert object to primitive value")
      // for an object without a prototype, naming no option.
      const error = thrownBy(() => new BarrierStore<Job>({ ...base, [option]: Object.create(null) } as unknown as BarrierStoreOptions<Job>));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(new RegExp(`^option ${option} must be .*, got \\{\\}$`));
    },
  );

  it('rejects options that are not an object', () => {
    const error = thrownBy(() => new BarrierStore<Job>(null as unknown as BarrierStoreOptions<Job>));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/BarrierStore options must be an object/);
  });

  it('accepts Infinity for highWaterMark and maxHeldPerKey, and 0 for maxHeldPerKey', () => {
    expect(() => new BarrierStore<Job>({ ...base, highWaterMark: Infinity, maxHeldPerKey: Infinity })).not.toThrow();
    expect(() => new BarrierStore<Job>({ ...base, maxHeldPerKey: 0 })).not.toThrow();
  });

  it("passes the barrier options through, and gives the barrier the scheduler's clock", () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, keyThreshold: 1, metadata: { router: 'webhooks' } });
    expect(String(store.barrier)).toContain('router=webhooks');
    advanceTo(scheduler, 42);
    const entry = new Entry(store).push(job('k', 1), job('k', 2));
    expect(entry.admitted).toEqual(['k#1', 'k#2']);
    // The second running job tripped keyThreshold 1: the key was disabled at the scheduler's now.
    expect(store.barrier.snapshot().records).toEqual([
      { key: 'k', mode: 'disabled', modeSince: 42, failedJobId: null, concurrent: [], draining: null },
    ]);
  });
});
