// Barrier: a job older than its key's failed job is an illegal sequence, reported where it happened.
import { describe, expect, it } from 'vitest';
import {
  Barrier,
  IllegalJobSequenceError,
  UnsupportedStateError,
  type BarrierOptions,
  type BarrierSnapshot,
  type JobState,
} from '../../src/index.js';
import { thrownBy } from '../support/thrown.js';
import { accepted, rejected, waits, goesOn } from '../support/barrier-results.js';

describe('Barrier illegal sequences', () => {
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
