import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Barrier,
  IllegalJobSequenceError,
  UnsupportedStateError,
  type BarrierOptions,
  type BarrierSnapshot,
  type JobState,
} from '../src/index.js';
import { thrownBy } from './support/thrown.js';


const accepted = (previousFailedJobId?: number) => ({ accepted: true, previousFailedJobId });
const rejected = (previousFailedJobId?: number) => ({ accepted: false, previousFailedJobId });
const waits = (previousFailedJobId?: number) => ({ wait: true, previousFailedJobId });
const goesOn = (previousFailedJobId?: number) => ({ wait: false, previousFailedJobId });

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the original's scenarios", () => {
  it('failed job: later jobs wait until the failed job succeeds and a sync applies it', () => {
    const barrier = new Barrier({ metadata: { router: 'webhooks' } });
    expect(barrier.peek('user-1')).toBeUndefined();

    expect(barrier.enter('user-1', 1)).toEqual(accepted());
    expect(barrier.enter('user-1', 2)).toEqual(accepted());
    expect(barrier.wait('user-1', 1)).toEqual(goesOn());
    expect(barrier.wait('user-1', 2)).toEqual(goesOn());

    expect(barrier.stateChanged('user-1', 1, 'failed')).toBe(false);
    expect(barrier.wait('user-1', 2)).toEqual(waits(1));
    expect(barrier.size).toBe(1);
    const text = barrier.toString();
    expect(text).toContain('router=webhooks');
    expect(text).toContain('"user-1"');
    expect(text).toContain('failed job 1');

    expect(barrier.stateChanged('user-1', 2, 'waiting')).toBe(true);
    expect(barrier.pending).toBe(1);
    expect(barrier.sync()).toBe(1);
    expect(barrier.pending).toBe(0);
    expect(barrier.peek('user-1')).toBe(1);

    expect(barrier.enter('user-1', 1)).toEqual(accepted(1));
    expect(barrier.wait('user-1', 1)).toEqual(goesOn(1));
    expect(barrier.stateChanged('user-1', 1, 'succeeded')).toBe(true);
    expect(barrier.enter('user-1', 2)).toEqual(rejected(1));
    expect(barrier.sync()).toBe(1);
    expect(barrier.enter('user-1', 2)).toEqual(accepted());
    expect(barrier.peek('user-1')).toBeUndefined();
    expect(barrier.size).toBe(0);
  });

  it('aborted job with concurrencyLimit 1: one job at a time drains the key until one ends', () => {
    const barrier = new Barrier({ concurrencyLimit: 1 });
    expect(barrier.enter('k', 1)).toEqual(accepted());
    expect(barrier.sync()).toBe(0);
    expect(barrier.stateChanged('k', 1, 'failed')).toBe(false);
    expect(barrier.enter('k', 1)).toEqual(accepted(1));
    expect(barrier.stateChanged('k', 1, 'aborted')).toBe(true);
    expect(barrier.enter('k', 2)).toEqual(rejected(1));
    expect(barrier.sync()).toBe(1);

    expect(barrier.enter('k', 2)).toEqual(accepted());
    expect(barrier.enter('k', 3)).toEqual(rejected());
    expect(barrier.stateChanged('k', 2, 'aborted')).toBe(true);
    expect(barrier.enter('k', 3)).toEqual(rejected());
    expect(barrier.sync()).toBe(1);
    expect(barrier.sync()).toBe(0);

    for (const id of [3, 4, 5, 6]) expect(barrier.enter('k', id)).toEqual(accepted());
    expect(barrier.size).toBe(0);
  });

  it('abort then fail with concurrencyLimit 2: an abort with no failed job changes nothing', () => {
    const barrier = new Barrier({ concurrencyLimit: 2 });
    expect(barrier.enter('k', 1)).toEqual(accepted());
    expect(barrier.stateChanged('k', 1, 'aborted')).toBe(false);
    expect(barrier.pending).toBe(0);
    expect(barrier.sync()).toBe(0);

    for (const id of [2, 3, 4]) expect(barrier.enter('k', id)).toEqual(accepted());
    expect(barrier.stateChanged('k', 2, 'failed')).toBe(false);
    expect(barrier.wait('k', 3)).toEqual(waits(2));
    expect(barrier.wait('k', 4)).toEqual(waits(2));
    expect(barrier.stateChanged('k', 3, 'waiting')).toBe(true);
    expect(barrier.stateChanged('k', 4, 'waiting')).toBe(true);
    expect(barrier.sync()).toBe(2);
    expect(barrier.enter('k', 2)).toEqual(accepted(2));
  });

  it('fail then abort with concurrencyLimit 2: draining admits two jobs, a new failure ends draining', () => {
    const barrier = new Barrier({ concurrencyLimit: 2 });
    expect(barrier.enter('k', 1)).toEqual(accepted());
    expect(barrier.stateChanged('k', 1, 'failed')).toBe(false);
    expect(barrier.sync()).toBe(0);
    expect(barrier.enter('k', 1)).toEqual(accepted(1));
    expect(barrier.enter('k', 2)).toEqual(rejected(1));
    expect(barrier.stateChanged('k', 1, 'aborted')).toBe(true);
    expect(barrier.enter('k', 2)).toEqual(rejected(1));
    expect(barrier.sync()).toBe(1);

    expect(barrier.enter('k', 2)).toEqual(accepted());
    expect(barrier.enter('k', 3)).toEqual(accepted());
    expect(barrier.enter('k', 4)).toEqual(rejected());
    expect(barrier.stateChanged('k', 2, 'failed')).toBe(false);
    expect(barrier.wait('k', 3)).toEqual(waits(2));
    expect(barrier.stateChanged('k', 3, 'waiting')).toBe(true);
    expect(barrier.sync()).toBe(1);
    expect(barrier.snapshot().records).toEqual([
      { key: 'k', mode: 'enabled', modeSince: 0, failedJobId: 2, concurrent: null, draining: null },
    ]);
  });

  it('leave with concurrencyLimit 1: a job that leaves frees its drain slot', () => {
    const barrier = new Barrier({ concurrencyLimit: 1 });
    expect(barrier.enter('k', 1)).toEqual(accepted());
    barrier.stateChanged('k', 1, 'failed');
    expect(barrier.enter('k', 2)).toEqual(rejected(1));
    expect(barrier.stateChanged('k', 1, 'aborted')).toBe(true);
    expect(barrier.sync()).toBe(1);
    expect(barrier.enter('k', 2)).toEqual(accepted());
    expect(barrier.enter('k', 3)).toEqual(rejected());
    barrier.leave('k', 2);
    expect(barrier.enter('k', 3)).toEqual(accepted());
  });

  it('leave is idempotent and fine for unknown keys and ids', () => {
    const barrier = new Barrier({ concurrencyLimit: 1 });
    barrier.leave('nobody', 1);
    barrier.enter('k', 1);
    barrier.stateChanged('k', 1, 'failed');
    barrier.stateChanged('k', 1, 'aborted');
    barrier.sync();
    barrier.enter('k', 2);
    barrier.leave('k', 2);
    const after = barrier.snapshot();
    barrier.leave('k', 2);
    barrier.leave('k', 99);
    expect(barrier.snapshot()).toEqual(after);
    expect(after.records).toEqual([
      { key: 'k', mode: 'enabled', modeSince: 0, failedJobId: null, concurrent: null, draining: [] },
    ]);
  });
});

describe('illegal sequences', () => {
  const metadata = { router: 'webhooks-eu', shard: 3 };

  function failedTwo(options: BarrierOptions = {}): Barrier {
    const barrier = new Barrier({ metadata, ...options });
    barrier.enter('user-9', 2);
    barrier.stateChanged('user-9', 2, 'failed');
    return barrier;
  }

  it.each(['other state', 'executing', ''])('state %j throws UnsupportedStateError and changes nothing', (state) => {
    const barrier = failedTwo();
    barrier.enter('user-9', 2);
    const before = barrier.snapshot();
    const error = thrownBy(() => barrier.stateChanged('user-9', 2, state as JobState));
    expect(error).toBeInstanceOf(UnsupportedStateError);
    expect(error.name).toBe('UnsupportedStateError');
    expect((error as UnsupportedStateError).state).toBe(state);
    expect(error.message).toContain(JSON.stringify(state));
    expect(barrier.snapshot()).toEqual(before);
  });

  it('an unsupported state for a key with no record throws too', () => {
    const barrier = new Barrier();
    expect(() => barrier.stateChanged('free', 1, 'executing' as JobState)).toThrow(UnsupportedStateError);
    expect(barrier.size).toBe(0);
    expect(barrier.pending).toBe(0);
  });

  it.each([
    ['wait', (b: Barrier) => b.wait('user-9', 1)],
    ['job_failed', (b: Barrier) => b.stateChanged('user-9', 1, 'failed')],
    ['enter', (b: Barrier) => b.enter('user-9', 1)],
  ] as const)('at %s, a job older than the failed one throws IllegalJobSequenceError naming everything', (location, call) => {
    const barrier = failedTwo({ debugInfo: (key) => `in flight for ${key}: [2]` });
    const before = barrier.snapshot();
    const error = thrownBy(() => call(barrier));
    expect(error).toBeInstanceOf(IllegalJobSequenceError);
    const illegal = error as IllegalJobSequenceError;
    expect(illegal.name).toBe('IllegalJobSequenceError');
    expect(illegal.location).toBe(location);
    expect(illegal.key).toBe('user-9');
    expect(illegal.previousFailedJobId).toBe(2);
    expect(illegal.jobId).toBe(1);
    expect(illegal.message).toContain(location);
    expect(illegal.message).toContain('"user-9"');
    expect(illegal.message).toContain('job 1');
    expect(illegal.message).toContain('failed job 2');
    expect(illegal.message).toContain('router=webhooks-eu');
    expect(illegal.message).toContain('shard=3');
    expect(illegal.message).toContain('in flight for user-9: [2]');
    expect(barrier.snapshot()).toEqual(before);
  });

  it("a thrown failed of a lower job leaves the running sets as they were ('throw' mode)", () => {
    const barrier = new Barrier({ keyThreshold: 5 });
    barrier.enter('k', 1);
    barrier.enter('k', 2);
    barrier.stateChanged('k', 2, 'failed');
    const before = barrier.snapshot();
    expect(before.records[0]!.concurrent).toEqual([1]);
    expect(() => barrier.stateChanged('k', 1, 'failed')).toThrow(IllegalJobSequenceError);
    expect(barrier.snapshot()).toEqual(before);
  });

  it('a thrown enter leaves a half-enabled key half-enabled (the time-driven mode change is undone too)', () => {
    let now = 0;
    const barrier = Barrier.fromSnapshot(
      {
        version: 1,
        records: [{ key: 'k', mode: 'halfEnabled', modeSince: 0, failedJobId: 5, concurrent: [], draining: null }],
        queue: [],
      },
      { keyThreshold: 3, halfEnabledDuration: 10, now: () => now },
    );
    now = 11; // enter would make the key enabled, and then job 4 is illegal
    const before = barrier.snapshot();
    expect(() => barrier.enter('k', 4)).toThrow(IllegalJobSequenceError);
    expect(barrier.snapshot()).toEqual(before);
  });

  it('with a callback, enter, wait and job_failed are reported instead of thrown and the calls complete', () => {
    const reported: IllegalJobSequenceError[] = [];
    const barrier = new Barrier({ metadata, keyThreshold: 5, onIllegalSequence: (error) => reported.push(error) });
    barrier.enter('user-9', 1);
    barrier.enter('user-9', 2);
    barrier.stateChanged('user-9', 2, 'failed');

    expect(barrier.enter('user-9', 1)).toEqual(rejected(2));
    expect(barrier.wait('user-9', 1)).toEqual(waits(2));
    expect(barrier.stateChanged('user-9', 1, 'failed')).toBe(false);

    expect(reported.map((error) => error.location)).toEqual(['enter', 'wait', 'job_failed']);
    for (const error of reported) {
      expect(error).toBeInstanceOf(IllegalJobSequenceError);
      expect([error.key, error.previousFailedJobId, error.jobId]).toEqual(['user-9', 2, 1]);
      expect(error.message).toContain('router=webhooks-eu');
    }
    // The failed of the lower job took effect: it left the running set, and
    // the failed job stayed the one it was.
    expect(barrier.peek('user-9')).toBe(2);
    expect(barrier.snapshot().records).toEqual([
      { key: 'user-9', mode: 'enabled', modeSince: 0, failedJobId: 2, concurrent: [], draining: null },
    ]);
  });

  it('with a callback, the failed of a lower job still resets draining', () => {
    const reported: IllegalJobSequenceError[] = [];
    const barrier = Barrier.fromSnapshot(
      {
        version: 1,
        records: [{ key: 'k', mode: 'enabled', modeSince: 0, failedJobId: 4, concurrent: [1, 3], draining: [1, 3] }],
        queue: [],
      },
      { concurrencyLimit: 2, keyThreshold: 5, onIllegalSequence: (error) => reported.push(error) },
    );
    expect(barrier.stateChanged('k', 1, 'failed')).toBe(false);
    expect(reported.map((error) => error.location)).toEqual(['job_failed']);
    expect(barrier.snapshot().records).toEqual([
      { key: 'k', mode: 'enabled', modeSince: 0, failedJobId: 4, concurrent: [3], draining: null },
    ]);
  });

  it('the callback runs after the operation has taken effect', () => {
    let seen: BarrierSnapshot | undefined;
    const barrier = new Barrier({
      keyThreshold: 5,
      onIllegalSequence: () => {
        seen = barrier.snapshot();
      },
    });
    barrier.enter('k', 1);
    barrier.enter('k', 2);
    barrier.stateChanged('k', 2, 'failed');
    barrier.stateChanged('k', 1, 'failed');
    expect(seen?.records[0]?.concurrent).toEqual([]);
  });

  it('an error thrown by the callback reaches the caller and the effect stands', () => {
    const barrier = new Barrier({
      keyThreshold: 5,
      onIllegalSequence: (error) => {
        throw new Error(`logged: ${error.location}`);
      },
    });
    barrier.enter('k', 1);
    barrier.enter('k', 2);
    barrier.stateChanged('k', 2, 'failed');
    expect(() => barrier.stateChanged('k', 1, 'failed')).toThrow('logged: job_failed');
    expect(barrier.snapshot().records[0]).toMatchObject({ failedJobId: 2, concurrent: [] });
  });

  it('a job newer than the failed one, or the failed one itself, is never illegal', () => {
    const barrier = failedTwo();
    expect(barrier.wait('user-9', 3)).toEqual(waits(2));
    expect(barrier.enter('user-9', 3)).toEqual(rejected(2));
    expect(barrier.stateChanged('user-9', 3, 'failed')).toBe(false);
    expect(barrier.peek('user-9')).toBe(2);
    expect(barrier.wait('user-9', 2)).toEqual(goesOn(2));
    expect(barrier.enter('user-9', 2)).toEqual(accepted(2));
  });
});

describe('key threshold and the disabled modes', () => {
  it('key threshold 2 with an injected clock: disabled, then half-enabled, then enabled again', () => {
    let now = 1_000;
    const barrier = new Barrier({ keyThreshold: 2, disabledDuration: 100, halfEnabledDuration: 50, now: () => now });
    expect(barrier.enter('hot', 1)).toEqual(accepted());
    expect(barrier.enter('hot', 2)).toEqual(accepted());
    expect(barrier.disabled('hot')).toBe(false);
    expect(barrier.snapshot().records[0]).toMatchObject({ mode: 'enabled', concurrent: [1, 2] });

    // The third running job disables the key and is not counted.
    expect(barrier.enter('hot', 3)).toEqual(accepted());
    expect(barrier.disabled('hot')).toBe(true);
    expect(barrier.snapshot().records).toEqual([
      { key: 'hot', mode: 'disabled', modeSince: 1_000, failedJobId: null, concurrent: [], draining: null },
    ]);

    // While disabled nothing waits and failures are ignored.
    expect(barrier.stateChanged('hot', 2, 'failed')).toBe(false);
    expect(barrier.peek('hot')).toBeUndefined();
    expect(barrier.wait('hot', 4)).toEqual(goesOn());
    expect(barrier.enter('hot', 4)).toEqual(accepted());

    // "Older than" is strict: exactly disabledDuration later it is still disabled.
    now = 1_100;
    expect(barrier.enter('hot', 5)).toEqual(accepted());
    expect(barrier.disabled('hot')).toBe(true);

    now = 1_101;
    expect(barrier.enter('hot', 6)).toEqual(accepted());
    expect(barrier.disabled('hot')).toBe(false);
    expect(barrier.snapshot().records[0]).toMatchObject({ mode: 'halfEnabled', modeSince: 1_101, concurrent: [6] });

    // Half-enabled: ordering is enforced, but a lower job is not illegal.
    expect(barrier.stateChanged('hot', 6, 'failed')).toBe(false);
    expect(barrier.peek('hot')).toBe(6);
    expect(barrier.stateChanged('hot', 5, 'failed')).toBe(false);
    expect(barrier.peek('hot')).toBe(6);
    expect(barrier.wait('hot', 5)).toEqual(waits(6));
    expect(barrier.enter('hot', 5)).toEqual(rejected(6));
    expect(barrier.enter('hot', 7)).toEqual(rejected(6));

    now = 1_151; // exactly halfEnabledDuration: still half-enabled
    expect(barrier.enter('hot', 6)).toEqual(accepted(6));
    expect(barrier.snapshot().records[0]).toMatchObject({ mode: 'halfEnabled' });
    now = 1_152;
    expect(barrier.enter('hot', 6)).toEqual(accepted(6));
    expect(barrier.snapshot().records[0]).toMatchObject({ mode: 'enabled', modeSince: 1_152 });
    expect(() => barrier.stateChanged('hot', 5, 'failed')).toThrow(IllegalJobSequenceError);
  });

  it('prune after both durations deletes an idle disabled record', () => {
    let now = 0;
    const barrier = new Barrier({ keyThreshold: 1, disabledDuration: 10, halfEnabledDuration: 5, now: () => now });
    barrier.enter('idle', 1);
    barrier.enter('idle', 2);
    expect(barrier.disabled('idle')).toBe(true);
    barrier.enter('busy', 1);
    expect(barrier.prune()).toBe(0);

    now = 11;
    // A prune applies one mode step per record, as an enter would: the key is
    // half-enabled now, from now on.
    expect(barrier.prune()).toBe(0);
    const records = barrier.snapshot().records;
    expect(records).toHaveLength(2);
    expect(records).toContainEqual({ key: 'idle', mode: 'halfEnabled', modeSince: 11, failedJobId: null, concurrent: [], draining: null });
    expect(records).toContainEqual({ key: 'busy', mode: 'enabled', modeSince: 0, failedJobId: null, concurrent: [1], draining: null });
    now = 16;
    expect(barrier.prune()).toBe(0);
    now = 17;
    expect(barrier.prune()).toBe(1);
    expect(barrier.size).toBe(1);
    expect(barrier.disabled('idle')).toBe(false);
    expect(barrier.snapshot().records.map((record) => record.key)).toEqual(['busy']);
    expect(barrier.prune()).toBe(0);
  });

  it('prune keeps a record that is half-enabled by then but still has a failed job', () => {
    let now = 0;
    const barrier = new Barrier({ keyThreshold: 1, disabledDuration: 0, halfEnabledDuration: 0, now: () => now });
    barrier.enter('k', 1);
    barrier.enter('k', 2); // disabled at 0
    now = 1;
    barrier.enter('k', 3); // half-enabled at 1
    barrier.stateChanged('k', 3, 'failed');
    now = 2;
    expect(barrier.prune()).toBe(0);
    expect(barrier.snapshot().records[0]).toMatchObject({ mode: 'enabled', failedJobId: 3 });
  });

  it('disabled() neither calls orderingDisabled nor changes the mode', () => {
    let now = 0;
    const orderingDisabled = vi.fn((key: string) => key === 'bulk');
    const barrier = new Barrier({ keyThreshold: 1, disabledDuration: 1, orderingDisabled, now: () => now });
    barrier.enter('k', 1);
    barrier.enter('k', 2);
    orderingDisabled.mockClear();
    now = 100;
    expect(barrier.disabled('k')).toBe(true);
    expect(barrier.disabled('bulk')).toBe(false);
    expect(barrier.disabled('nobody')).toBe(false);
    expect(orderingDisabled).not.toHaveBeenCalled();
    expect(barrier.snapshot().records[0]).toMatchObject({ mode: 'disabled', modeSince: 0 });
  });

  it('orderingDisabled for one key: that key accepts everything and never waits, other keys still wait', () => {
    const barrier = new Barrier({ orderingDisabled: (key) => key === 'bulk' });
    expect(barrier.enter('bulk', 1)).toEqual(accepted());
    expect(barrier.stateChanged('bulk', 1, 'failed')).toBe(false);
    expect(barrier.peek('bulk')).toBeUndefined();
    expect(barrier.enter('bulk', 2)).toEqual(accepted());
    expect(barrier.wait('bulk', 2)).toEqual(goesOn());
    expect(barrier.stateChanged('bulk', 0, 'failed')).toBe(false); // not illegal either: ignored

    expect(barrier.enter('user', 1)).toEqual(accepted());
    expect(barrier.enter('user', 2)).toEqual(accepted());
    barrier.stateChanged('user', 1, 'failed');
    expect(barrier.enter('user', 3)).toEqual(rejected(1));
    expect(barrier.wait('user', 2)).toEqual(waits(1));
    expect(barrier.snapshot().records.map((record) => record.key)).toEqual(['user']);
  });

  it('orderingDisabled with a key threshold keeps a disabled record for the key', () => {
    const barrier = new Barrier({ keyThreshold: 3, orderingDisabled: (key) => key === 'bulk', now: () => 42 });
    expect(barrier.enter('bulk', 1)).toEqual(accepted());
    expect(barrier.disabled('bulk')).toBe(true);
    expect(barrier.snapshot().records).toEqual([
      { key: 'bulk', mode: 'disabled', modeSince: 42, failedJobId: null, concurrent: [], draining: null },
    ]);
  });

  it('orderingDisabled switched on for a key with a failed job drops the failed job (deviation)', () => {
    let off = false;
    const barrier = new Barrier({ orderingDisabled: () => off, now: () => 7 });
    barrier.enter('k', 1);
    barrier.stateChanged('k', 1, 'failed');
    expect(barrier.enter('k', 2)).toEqual(rejected(1));
    off = true;
    expect(barrier.enter('k', 2)).toEqual(accepted());
    expect(barrier.peek('k')).toBeUndefined();
    expect(barrier.disabled('k')).toBe(true);
    expect(barrier.snapshot().records).toEqual([
      { key: 'k', mode: 'disabled', modeSince: 7, failedJobId: null, concurrent: null, draining: null },
    ]);
  });

  it('a failure with no record creates a record outside the key threshold', () => {
    const barrier = new Barrier({ keyThreshold: 1 });
    barrier.stateChanged('k', 5, 'failed');
    expect(barrier.snapshot().records).toEqual([
      { key: 'k', mode: 'enabled', modeSince: 0, failedJobId: 5, concurrent: null, draining: null },
    ]);
    expect(barrier.enter('k', 5)).toEqual(accepted(5));
    expect(barrier.enter('k', 5)).toEqual(accepted(5));
    expect(barrier.disabled('k')).toBe(false);
  });
});

describe('options validation', () => {
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

describe('bad input', () => {
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

describe('job id 0 and negative ids', () => {
  it('job id 0 is a valid failed job everywhere, not "no failed job"', () => {
    const barrier = new Barrier({ concurrencyLimit: 1 });
    expect(barrier.enter('k', 0)).toEqual(accepted());
    expect(barrier.stateChanged('k', 0, 'failed')).toBe(false);
    expect(barrier.peek('k')).toBe(0);
    expect(barrier.size).toBe(1);
    expect(barrier.enter('k', 1)).toEqual(rejected(0));
    expect(barrier.wait('k', 1)).toEqual(waits(0));
    expect(barrier.wait('k', 0)).toEqual(goesOn(0));
    expect(barrier.enter('k', 0)).toEqual(accepted(0));
    expect(barrier.toString()).toContain('failed job 0');
    expect(barrier.snapshot().records[0]!.failedJobId).toBe(0);
    expect(() => barrier.wait('k', -1)).toThrow(IllegalJobSequenceError);

    const restored = Barrier.fromSnapshot(JSON.parse(JSON.stringify(barrier.snapshot())) as BarrierSnapshot);
    expect(restored.peek('k')).toBe(0);
    expect(restored.enter('k', 1)).toEqual(rejected(0));

    // A terminal state of another job is out of date; only 0's own clears it.
    expect(barrier.stateChanged('k', 1, 'succeeded')).toBe(true);
    barrier.sync();
    expect(barrier.peek('k')).toBe(0);
    expect(barrier.stateChanged('k', 0, 'aborted')).toBe(true);
    barrier.sync();
    expect(barrier.peek('k')).toBeUndefined();
    expect(barrier.snapshot().records[0]).toMatchObject({ draining: [] });
    expect(barrier.enter('k', 1)).toEqual(accepted());
    expect(barrier.enter('k', 2)).toEqual(rejected());
  });

  it('job id 0 as the failed job of a record with running sets', () => {
    const barrier = new Barrier({ keyThreshold: 4, concurrencyLimit: 1 });
    barrier.enter('k', 0);
    barrier.enter('k', 1);
    expect(barrier.snapshot().records[0]!.concurrent).toEqual([0, 1]);
    barrier.stateChanged('k', 0, 'failed');
    expect(barrier.peek('k')).toBe(0);
    expect(barrier.wait('k', 1)).toEqual(waits(0));
    expect(barrier.enter('k', 0)).toEqual(accepted(0));
    barrier.stateChanged('k', 0, 'succeeded');
    barrier.sync();
    expect(barrier.peek('k')).toBeUndefined();
    expect(barrier.snapshot().records[0]).toMatchObject({ failedJobId: null, concurrent: [1] });
    barrier.leave('k', 1);
    expect(barrier.size).toBe(0);
  });

  it('negative ids order like any others', () => {
    const barrier = new Barrier();
    barrier.enter('k', -5);
    barrier.stateChanged('k', -5, 'failed');
    expect(barrier.peek('k')).toBe(-5);
    expect(barrier.enter('k', -4)).toEqual(rejected(-5));
    expect(barrier.enter('k', -5)).toEqual(accepted(-5));
    const error = thrownBy(() => barrier.enter('k', -6)) as IllegalJobSequenceError;
    expect(error).toBeInstanceOf(IllegalJobSequenceError);
    expect([error.previousFailedJobId, error.jobId]).toEqual([-5, -6]);
  });

  it('the largest and smallest safe integers are valid ids', () => {
    const barrier = new Barrier();
    barrier.stateChanged('k', Number.MAX_SAFE_INTEGER, 'failed');
    expect(barrier.peek('k')).toBe(Number.MAX_SAFE_INTEGER);
    barrier.stateChanged('j', Number.MIN_SAFE_INTEGER, 'failed');
    expect(barrier.enter('j', Number.MIN_SAFE_INTEGER)).toEqual(accepted(Number.MIN_SAFE_INTEGER));
  });
});

describe('toString', () => {
  it('names the metadata, the pending count and each key with its mode, failed job and running jobs', () => {
    let now = 0;
    const barrier = new Barrier({
      metadata: { router: 'eu', shard: 2 },
      keyThreshold: 2,
      concurrencyLimit: 1,
      now: () => now,
    });
    barrier.stateChanged('plain', 3, 'failed');
    barrier.enter('running', 4);
    barrier.enter('running', 5);
    barrier.stateChanged('running', 4, 'failed');
    now = 77;
    barrier.enter('hot', 1);
    barrier.enter('hot', 2);
    barrier.enter('hot', 3);
    barrier.stateChanged('drain', 8, 'failed');
    barrier.stateChanged('drain', 8, 'aborted');
    barrier.sync();
    barrier.enter('drain', 9);
    barrier.stateChanged('plain', 3, 'waiting');
    barrier.enter('quote"d', 1);

    const text = barrier.toString();
    expect(text).toContain('router=eu');
    expect(text).toContain('shard=2');
    expect(text).toContain('5 keys');
    expect(text).toContain('1 pending');
    expect(text).toContain('"plain" failed job 3');
    expect(text).toContain('"running" failed job 4 running [5]');
    expect(text).toContain('"hot" disabled since 77');
    expect(text).toContain('"drain" draining [9]');
    expect(text).toContain('"quote\\"d" running [1]');
  });

  it('says when the barrier is empty, and names metadata only when there is some', () => {
    const plain = new Barrier().toString();
    expect(plain).toContain('0 keys');
    expect(plain).toContain('0 pending');
    expect(plain).not.toContain('{');
    expect(String(new Barrier({ metadata: { a: 1 } }))).toContain('a=1');
  });
});

describe('snapshots', () => {
  function variedBarrier(now: () => number): Barrier {
    const barrier = new Barrier({ keyThreshold: 2, concurrencyLimit: 1, disabledDuration: 10, halfEnabledDuration: 10, now });
    barrier.stateChanged('plain', 0, 'failed');
    barrier.enter('running', 4);
    barrier.enter('running', 5);
    barrier.stateChanged('running', 5, 'failed');
    barrier.enter('hot', 1);
    barrier.enter('hot', 2);
    barrier.enter('hot', 3);
    barrier.stateChanged('drain', 8, 'failed');
    barrier.stateChanged('drain', 8, 'aborted');
    barrier.sync();
    barrier.enter('drain', 9);
    barrier.stateChanged('running', 4, 'succeeded');
    barrier.stateChanged('plain', 1, 'waiting');
    barrier.stateChanged('drain', 9, 'filtered');
    return barrier;
  }

  it('a snapshot survives a JSON round trip unchanged', () => {
    const snapshot = variedBarrier(() => 5).snapshot();
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
    expect(snapshot.queue).toEqual([
      { key: 'running', jobId: 4, state: 'succeeded' },
      { key: 'plain', jobId: 1, state: 'waiting' },
      { key: 'drain', jobId: 9, state: 'filtered' },
    ]);
  });

  it('a barrier restored from a JSON round trip has the same snapshot, text and behaviour', () => {
    let now = 5;
    const options = { keyThreshold: 2, concurrencyLimit: 1, disabledDuration: 10, halfEnabledDuration: 10, now: () => now };
    const original = variedBarrier(options.now);
    const restored = Barrier.fromSnapshot(JSON.parse(JSON.stringify(original.snapshot())) as BarrierSnapshot, options);
    expect(restored.snapshot()).toEqual(original.snapshot());
    expect(restored.toString()).toBe(original.toString());
    expect(restored.size).toBe(original.size);
    expect(restored.pending).toBe(original.pending);

    now = 20;
    for (const barrier of [original, restored]) {
      expect(barrier.sync()).toBe(3);
      expect(barrier.enter('hot', 4)).toEqual(accepted());
      expect(barrier.disabled('hot')).toBe(false);
      expect(barrier.enter('running', 6)).toEqual(rejected(5));
      expect(barrier.enter('drain', 10)).toEqual(accepted()); // the queued filtered 9 ended draining
      expect(barrier.enter('drain', 11)).toEqual(accepted());
      expect(barrier.enter('drain', 12)).toEqual(accepted()); // the key threshold disables 'drain'
      expect(barrier.disabled('drain')).toBe(true);
    }
    expect(restored.snapshot()).toEqual(original.snapshot());
  });

  it('a snapshot is a copy: changing it changes neither the barrier nor what it was restored into', () => {
    const barrier = variedBarrier(() => 5);
    const snapshot = barrier.snapshot();
    const restored = Barrier.fromSnapshot(snapshot, { keyThreshold: 2, concurrencyLimit: 1 });
    const expected = barrier.snapshot();
    snapshot.records[0]!.failedJobId = 99;
    snapshot.records[1]!.concurrent!.push(42);
    snapshot.queue.length = 0;
    expect(barrier.snapshot()).toEqual(expected);
    expect(restored.snapshot()).toEqual(expected);
  });

  it('regression: restoring under keyThreshold 0 disabled every key with a running set at its next enter', () => {
    const snapshot = variedBarrier(() => 5).snapshot();
    const restored = Barrier.fromSnapshot(snapshot, { concurrencyLimit: 1 });
    expect(restored.enter('running', 5)).toEqual({ accepted: true, previousFailedJobId: 5 });
    expect(restored.disabled('running')).toBe(false);
    expect(restored.snapshot().records.every((record) => record.concurrent === null)).toBe(true);
  });

  it('regression: restoring under concurrencyLimit 0 kept draining sets that rejected every job of the key', () => {
    const barrier = new Barrier({ concurrencyLimit: 1 });
    barrier.stateChanged('k', 1, 'failed');
    barrier.stateChanged('k', 1, 'aborted');
    barrier.sync();
    expect(barrier.enter('k', 2)).toEqual({ accepted: true, previousFailedJobId: undefined });
    const restored = Barrier.fromSnapshot(barrier.snapshot());
    // The draining record is inactive without its set: nothing is restored.
    expect(restored.size).toBe(0);
    expect(restored.enter('k', 3)).toEqual({ accepted: true, previousFailedJobId: undefined });
    expect(restored.enter('k', 4)).toEqual({ accepted: true, previousFailedJobId: undefined });
  });

  it('an empty barrier round-trips', () => {
    const restored = Barrier.fromSnapshot({ version: 1, records: [], queue: [] });
    expect(restored.size).toBe(0);
    expect(restored.pending).toBe(0);
  });

  const valid = (): Record<string, unknown> => ({
    version: 1,
    records: [
      { key: 'a', mode: 'enabled', modeSince: 0, failedJobId: 1, concurrent: null, draining: null },
      { key: 'b', mode: 'disabled', modeSince: 3, failedJobId: null, concurrent: [1, 2], draining: [2] },
    ],
    queue: [{ key: 'a', jobId: 1, state: 'succeeded' }],
  });
  type Snap = { version: unknown; records: Record<string, unknown>[]; queue: Record<string, unknown>[] };
  const malformed: [string, (s: Snap) => unknown][] = [
    ['snapshot', () => null],
    ['snapshot', () => 'snapshot'],
    ['version', (s) => ({ ...s, version: 2 })],
    ['version', (s) => ({ ...s, version: undefined })],
    ['records', (s) => ({ ...s, records: {} })],
    ['queue', (s) => ({ ...s, queue: undefined })],
    ['records[1]', (s) => ({ ...s, records: [s.records[0], null] })],
    ['records[0].key', (s) => (s.records[0]!.key = 1, s)],
    ['records[1].key', (s) => (s.records[1]!.key = 'a', s)],
    ['records[0].mode', (s) => (s.records[0]!.mode = 'off', s)],
    ['records[0].modeSince', (s) => (s.records[0]!.modeSince = NaN, s)],
    ['records[0].modeSince', (s) => (s.records[0]!.modeSince = '0', s)],
    ['records[0].failedJobId', (s) => (s.records[0]!.failedJobId = 1.5, s)],
    ['records[0].failedJobId', (s) => (delete s.records[0]!.failedJobId, s)],
    ['records[0].failedJobId', (s) => (s.records[0]!.failedJobId = '1', s)],
    ['records[1].concurrent', (s) => (s.records[1]!.concurrent = 'x', s)],
    ['records[1].concurrent[1]', (s) => (s.records[1]!.concurrent = [1, 'a'], s)],
    ['records[1].draining', (s) => (delete s.records[1]!.draining, s)],
    ['records[1].draining[0]', (s) => (s.records[1]!.draining = [2 ** 53], s)],
    ['queue[0]', (s) => (s.queue[0] = 5 as never, s)],
    ['queue[0].key', (s) => (s.queue[0]!.key = null, s)],
    ['queue[0].jobId', (s) => (s.queue[0]!.jobId = NaN, s)],
    ['queue[0].state', (s) => (s.queue[0]!.state = 'failed', s)],
    ['queue[0].state', (s) => (s.queue[0]!.state = 'executing', s)],
  ];

  it('the valid example used below is accepted', () => {
    expect(Barrier.fromSnapshot(valid() as unknown as BarrierSnapshot).size).toBe(2);
  });

  it.each(malformed)('fromSnapshot rejects a malformed %s with a TypeError naming it', (field, change) => {
    const snapshot = change(valid() as unknown as Snap);
    const error = thrownBy(() => Barrier.fromSnapshot(snapshot as BarrierSnapshot));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain(`invalid barrier snapshot: ${field} must`);
  });
});

describe('the clock', () => {
  it('`now` is the only clock: Date.now and performance.now are never called when it is given', () => {
    const dateNow = vi.spyOn(Date, 'now');
    const performanceNow = vi.spyOn(performance, 'now');
    let time = 0;
    const now = vi.fn(() => time);
    const barrier = new Barrier({
      keyThreshold: 1,
      concurrencyLimit: 1,
      disabledDuration: 5,
      halfEnabledDuration: 5,
      orderingDisabled: (key) => key === 'off',
      now,
    });
    for (let round = 0; round < 4; round++) {
      time += 6;
      for (const key of ['a', 'b', 'off']) {
        barrier.enter(key, round);
        barrier.enter(key, round + 10);
        barrier.wait(key, round + 10);
        barrier.stateChanged(key, round + 10, 'failed');
        barrier.stateChanged(key, round + 10, 'aborted');
        barrier.disabled(key);
      }
      barrier.sync();
      barrier.prune();
      String(barrier);
      Barrier.fromSnapshot(barrier.snapshot(), { now }).prune();
    }
    expect(now).toHaveBeenCalled();
    expect(dateNow).not.toHaveBeenCalled();
    expect(performanceNow).not.toHaveBeenCalled();
  });

  it('without `now`, the barrier reads Date.now', () => {
    const dateNow = vi.spyOn(Date, 'now').mockReturnValue(1234);
    const barrier = new Barrier({ keyThreshold: 1 });
    barrier.enter('k', 1);
    barrier.enter('k', 2);
    expect(dateNow).toHaveBeenCalled();
    expect(barrier.snapshot().records[0]).toMatchObject({ mode: 'disabled', modeSince: 1234 });
  });

});

describe('queueing', () => {
  it('stateChanged queues every state but failed when the key has a record, and applies it at once otherwise', () => {
    const barrier = new Barrier();
    for (const state of ['succeeded', 'aborted', 'waiting', 'filtered'] as const) {
      expect(barrier.stateChanged('free', 1, state)).toBe(false);
    }
    expect(barrier.pending).toBe(0);
    expect(barrier.size).toBe(0);
    barrier.stateChanged('k', 1, 'failed');
    for (const state of ['succeeded', 'aborted', 'waiting', 'filtered'] as const) {
      expect(barrier.stateChanged('k', 2, state)).toBe(true);
    }
    expect(barrier.pending).toBe(4);
    expect(barrier.sync()).toBe(4);
    expect(barrier.peek('k')).toBe(1);
  });

  it('sync applies the queue in arrival order', () => {
    const barrier = new Barrier({ concurrencyLimit: 1 });
    barrier.stateChanged('k', 1, 'failed');
    barrier.stateChanged('k', 1, 'aborted'); // starts draining
    barrier.stateChanged('k', 2, 'succeeded'); // ends it
    expect(barrier.sync()).toBe(2);
    expect(barrier.size).toBe(0);

    barrier.stateChanged('j', 1, 'failed');
    barrier.stateChanged('j', 2, 'succeeded'); // out of date while 1 is failed
    barrier.stateChanged('j', 1, 'aborted');
    expect(barrier.sync()).toBe(2);
    expect(barrier.snapshot().records).toEqual([
      { key: 'j', mode: 'enabled', modeSince: 0, failedJobId: null, concurrent: null, draining: [] },
    ]);
  });

  it('a long queue is applied completely and the barrier keeps working after it', () => {
    const barrier = new Barrier();
    for (let id = 0; id < 5000; id++) barrier.stateChanged(`k${id}`, id, 'failed');
    for (let id = 0; id < 5000; id++) barrier.stateChanged(`k${id}`, id, 'succeeded');
    expect(barrier.pending).toBe(5000);
    expect(barrier.sync()).toBe(5000);
    expect(barrier.size).toBe(0);
    barrier.stateChanged('k', 1, 'failed');
    barrier.stateChanged('k', 1, 'filtered');
    expect(barrier.snapshot().queue).toEqual([{ key: 'k', jobId: 1, state: 'filtered' }]);
    expect(barrier.sync()).toBe(1);
    expect(barrier.size).toBe(0);
  });

  it('keys that look like Object.prototype members are ordinary keys', () => {
    const barrier = new Barrier();
    for (const key of ['__proto__', 'constructor', 'toString', '']) {
      expect(barrier.peek(key)).toBeUndefined();
      expect(barrier.enter(key, 1)).toEqual(accepted());
      barrier.stateChanged(key, 1, 'failed');
      expect(barrier.enter(key, 2)).toEqual(rejected(1));
    }
    expect(barrier.size).toBe(4);
  });
});

describe('Barrier options: values that cannot be turned into a string', () => {
  it('regression: an object without a prototype as an option threw an unrelated conversion error, not one naming the option', () => {
    const value = Object.create(null) as unknown as number;
    expect(() => new Barrier({ concurrencyLimit: value })).toThrow(/^option concurrencyLimit must be a number, got \{\}$/);
  });
});
