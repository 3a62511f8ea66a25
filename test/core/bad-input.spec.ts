// Barrier: keys, ids and states it cannot take are typed errors that change nothing.
import { describe, expect, it, vi } from 'vitest';
import { Barrier, UnsupportedStateError, type JobState } from '../../src/index.js';
import { thrownBy } from '../support/thrown.js';

describe('Barrier bad input', () => {
  const badKeys: unknown[] = [1, null, undefined, {}, Symbol('k'), new String('k'), ['k']];

  const badIds: [unknown, typeof TypeError | typeof RangeError][] = [
    [NaN, RangeError],
    [Infinity, RangeError],
    [-Infinity, RangeError],
    [1.5, RangeError],
    [2 ** 53, RangeError],
    [-(2 ** 53), RangeError],
    ['1', TypeError],
    [1n, TypeError],
    [undefined, TypeError],
    [null, TypeError],
    [Symbol('1'), TypeError],
    [{ valueOf: () => 1 }, TypeError],
  ];

  /** A barrier with every kind of state: records of each mode and a queue. */
  function busyBarrier(): Barrier {
    let now = 0;
    const barrier = new Barrier({ keyThreshold: 2, concurrencyLimit: 1, disabledDuration: 5, now: () => now });
    barrier.enter('a', 1);
    barrier.stateChanged('a', 1, 'failed');
    barrier.enter('b', 1);
    barrier.enter('b', 2);
    barrier.enter('b', 3);
    barrier.enter('c', 4);
    barrier.stateChanged('c', 4, 'succeeded');
    now = 10;
    return barrier;
  }

  type Call = (b: Barrier, key: unknown, id: unknown) => unknown;

  const withKeyAndId: [string, Call][] = [
    ['enter', (b, key, id) => b.enter(key as string, id as number)],
    ['leave', (b, key, id) => b.leave(key as string, id as number)],
    ['wait', (b, key, id) => b.wait(key as string, id as number)],
    ['stateChanged', (b, key, id) => b.stateChanged(key as string, id as number, 'failed')],
  ];

  const withKey: [string, (b: Barrier, key: unknown) => unknown][] = [
    ['peek', (b, key) => b.peek(key as string)],
    ['disabled', (b, key) => b.disabled(key as string)],
  ];

  it.each(withKeyAndId)('%s rejects a key that is not a string with a TypeError, changing nothing', (_, call) => {
    for (const key of badKeys) {
      const barrier = busyBarrier();
      const before = barrier.snapshot();
      const error = thrownBy(() => call(barrier, key, 1));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(/^key must be a string/);
      expect(barrier.snapshot()).toEqual(before);
    }
  });

  it.each(withKey)('%s rejects a key that is not a string with a TypeError', (_, call) => {
    for (const key of badKeys) {
      const error = thrownBy(() => call(busyBarrier(), key));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(/^key must be a string/);
    }
  });

  it.each(withKeyAndId)('%s rejects a job id that is not a safe integer with a typed error, changing nothing', (_, call) => {
    for (const key of ['a', 'b', 'new']) {
      for (const [id, errorClass] of badIds) {
        const barrier = busyBarrier();
        const before = barrier.snapshot();
        const error = thrownBy(() => call(barrier, key, id));
        expect(error).toBeInstanceOf(errorClass);
        expect(error.message).toMatch(/^job id must be/);
        expect(barrier.snapshot()).toEqual(before);
      }
    }
  });

  it('bigint and symbol job ids are reported as bad job ids, not as a failed number conversion', () => {
    // Regression: the fast integer test ran `jobId | 0` before checking the
    // type, so a bigint threw "Cannot mix BigInt and other types" and a
    // symbol "Cannot convert a Symbol value to a number".
    const barrier = new Barrier();
    expect(() => barrier.enter('k', 1n as unknown as number)).toThrow(/^job id must be a number, got 1n/);
    expect(() => barrier.wait('k', Symbol('x') as unknown as number)).toThrow(/^job id must be a number, got Symbol\(x\)/);
  });

  it('a job id object is rejected without calling its valueOf', () => {
    const valueOf = vi.fn(() => 1);
    expect(() => new Barrier().enter('k', { valueOf } as unknown as number)).toThrow(TypeError);
    expect(valueOf).not.toHaveBeenCalled();
  });

  it('checks the key first, then the job id, then the state', () => {
    const barrier = busyBarrier();
    const before = barrier.snapshot();
    const keyError = thrownBy(() => barrier.stateChanged(7 as unknown as string, NaN, 'bogus' as JobState));
    expect(keyError).toBeInstanceOf(TypeError);
    expect(keyError.message).toMatch(/^key/);
    const idError = thrownBy(() => barrier.stateChanged('a', NaN, 'bogus' as JobState));
    expect(idError).toBeInstanceOf(RangeError);
    expect(idError.message).toMatch(/^job id/);
    const typeIdError = thrownBy(() => barrier.stateChanged('a', '1' as unknown as number, 'bogus' as JobState));
    expect(typeIdError).toBeInstanceOf(TypeError);
    expect(typeIdError.message).toMatch(/^job id/);
    expect(() => barrier.stateChanged('a', 1, 'bogus' as JobState)).toThrow(UnsupportedStateError);
    expect(() => barrier.stateChanged('a', 1, 1 as unknown as JobState)).toThrow(UnsupportedStateError);
    expect(() => barrier.stateChanged('a', 1, undefined as unknown as JobState)).toThrow(UnsupportedStateError);
    expect(barrier.snapshot()).toEqual(before);
  });

  it('checks the job id before the illegal-sequence check', () => {
    const barrier = busyBarrier();
    expect(() => barrier.enter('a', 0.5)).toThrow(RangeError);
    expect(() => barrier.wait('a', -Infinity)).toThrow(RangeError);
  });

  it('an error message shows the offending value', () => {
    const barrier = new Barrier();
    expect(() => barrier.enter('k', 1.5)).toThrow('1.5');
    expect(() => barrier.enter('k', 2 ** 53)).toThrow('9007199254740992');
    expect(() => barrier.enter('k', '7' as unknown as number)).toThrow('"7"');
    expect(() => barrier.enter(42 as unknown as string, 1)).toThrow('42');
  });
});
