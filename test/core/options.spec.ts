// Barrier: options validation, metadata, and options that cannot be turned into a string.
import { describe, expect, it } from 'vitest';
import { Barrier, type BarrierOptions } from '../../src/index.js';
import { thrownBy } from '../support/thrown.js';

describe('Barrier options validation', () => {
  const invalid: [string, unknown, typeof TypeError | typeof RangeError][] = [
    ['concurrencyLimit', -1, RangeError],
    ['concurrencyLimit', 1.5, RangeError],
    ['concurrencyLimit', NaN, RangeError],
    ['concurrencyLimit', Infinity, RangeError],
    ['concurrencyLimit', 2 ** 53, RangeError],
    ['concurrencyLimit', '1', TypeError],
    ['concurrencyLimit', null, TypeError],
    ['keyThreshold', -1, RangeError],
    ['keyThreshold', 0.5, RangeError],
    ['keyThreshold', 1n, TypeError],
    ['disabledDuration', -1, RangeError],
    ['disabledDuration', NaN, RangeError],
    ['disabledDuration', Infinity, RangeError],
    ['disabledDuration', '10m', TypeError],
    ['halfEnabledDuration', -0.5, RangeError],
    ['halfEnabledDuration', -Infinity, RangeError],
    ['halfEnabledDuration', {}, TypeError],
    ['metadata', null, TypeError],
    ['metadata', 'router', TypeError],
    ['metadata', ['a'], TypeError],
    ['orderingDisabled', true, TypeError],
    ['onIllegalSequence', 'log', TypeError],
    ['onIllegalSequence', null, TypeError],
    ['debugInfo', 'info', TypeError],
    ['now', 123, TypeError],
  ];

  it.each(invalid)('option %s = %o is rejected with a %o naming it', (name, value, errorClass) => {
    const error = thrownBy(() => new Barrier({ [name]: value } as BarrierOptions));
    expect(error).toBeInstanceOf(errorClass);
    expect(error.message).toContain(name);
  });

  it.each(invalid)('fromSnapshot with option %s = %o throws and leaves the source barrier unchanged', (name, value, errorClass) => {
    const source = new Barrier({ concurrencyLimit: 1 });
    source.enter('k', 1);
    source.stateChanged('k', 1, 'failed');
    source.stateChanged('k', 1, 'aborted');
    const before = source.snapshot();
    expect(() => Barrier.fromSnapshot(before, { [name]: value } as BarrierOptions)).toThrow(errorClass);
    expect(source.snapshot()).toEqual(before);
  });

  it('options that are not an object are rejected', () => {
    expect(() => new Barrier(null as unknown as BarrierOptions)).toThrow(TypeError);
    expect(() => new Barrier(5 as unknown as BarrierOptions)).toThrow(TypeError);
  });

  it('accepts the boundary values: zero limits and durations, the largest safe integer, undefined for defaults', () => {
    expect(
      () =>
        new Barrier({
          concurrencyLimit: 0,
          keyThreshold: Number.MAX_SAFE_INTEGER,
          disabledDuration: 0,
          halfEnabledDuration: 0.5,
          metadata: {},
          onIllegalSequence: 'throw',
          orderingDisabled: undefined,
          now: undefined,
        }),
    ).not.toThrow();
  });
});

describe('Barrier options: values that cannot be turned into a string', () => {
  it('regression: an object without a prototype as an option threw an unrelated conversion error, not one naming the option', () => {
    const value = Object.create(null) as unknown as number;
    expect(() => new Barrier({ concurrencyLimit: value })).toThrow(/^option concurrencyLimit must be a number, got \{\}$/);
  });
});

describe('Barrier metadata', () => {
  it.each([
    [{ router: {} }, 'option metadata.router must be a string, a number or a boolean, got {}'],
    [{ n: 1n }, 'option metadata.n must be a string, a number or a boolean, got 1n'],
    [{ f: () => 1 }, 'option metadata.f must be a string, a number or a boolean, got () => 1'],
  ])('rejects %s naming the entry', (metadata, message) => {
    const error = thrownBy(() => new Barrier({ metadata: metadata as never }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(message);
  });

  it('accepts strings, numbers and booleans', () => {
    expect(String(new Barrier({ metadata: { router: 'webhooks', shard: 3, canary: false } }))).toBe(
      'Barrier {router=webhooks, shard=3, canary=false} 0 keys, 0 pending',
    );
  });
});
