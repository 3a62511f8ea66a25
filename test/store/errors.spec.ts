// BarrierStore: bad keys and ids, throwing selectors, illegal sequences and unsupported states, as stream errors.
import { describe, expect, it, vi } from 'vitest';
import { IllegalJobSequenceError, UnsupportedStateError, type JobState } from '../../src/index.js';
import { thrownBy } from '../support/thrown.js';
import { job, newStore } from '../support/jobs.js';
import { newScheduler, Entry, wait, report } from '../support/store-harness.js';

describe('BarrierStore errors', () => {
  it('errors the entrance with a TypeError naming the job when the key selector returns a non-string, admitting nothing', () => {
    const store = newStore({ scheduler: newScheduler(), key: () => 7 as unknown as string });
    const entry = new Entry(store).push(job('k', 1));
    expect(entry.error).toBeInstanceOf(TypeError);
    expect((entry.error as Error).message).toBe('key must be a string, got 7 for job {"key":"k","id":1}');
    expect(store.stats()).toMatchObject({ admitted: 0, entrances: 0 });
  });

  it.each([
    ['a string', '1', TypeError, 'job id must be a number, got "1" for job {"key":"k","id":1}'],
    ['a bigint', 1n, TypeError, 'job id must be a number, got 1n for job {"key":"k","id":1}'],
    ['fractional', 1.5, RangeError, 'job id must be a safe integer, got 1.5 for job {"key":"k","id":1}'],
    ['NaN', NaN, RangeError, 'job id must be a safe integer, got NaN for job {"key":"k","id":1}'],
    ['beyond safe integers', 2 ** 60, RangeError, `job id must be a safe integer, got ${2 ** 60} for job {"key":"k","id":1}`],
  ])('errors the entrance naming the job when the job id selector returns %s', (_label, id, type, message) => {
    const store = newStore({ scheduler: newScheduler(), jobId: () => id as number });
    const entry = new Entry(store).push(job('k', 1));
    expect(entry.error).toBeInstanceOf(type);
    expect((entry.error as Error).message).toBe(message);
  });

  it('errors the entrance with a TypeError naming the job when a selector throws, the thrown error as its cause', () => {
    const thrown = new Error('no id');
    const store = newStore({
      scheduler: newScheduler(),
      jobId: () => {
        throw thrown;
      },
    });
    const error = new Entry(store).push(job('k', 1)).error;
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('the jobId selector threw for job {"key":"k","id":1}: no id');
    expect((error as Error).cause).toBe(thrown);
    expect(store.stats()).toMatchObject({ admitted: 0, held: 0, keys: 0 });
  });

  it("errors the entrance with IllegalJobSequenceError (at enter) when a job older than its key's failed job arrives", () => {
    const store = newStore({ scheduler: newScheduler() });
    const entry = new Entry(store).push(job('k', 5));
    report(store, job('k', 5), 'failed');
    entry.push(job('k', 3));
    expect(entry.error).toBeInstanceOf(IllegalJobSequenceError);
    expect(entry.error).toMatchObject({ location: 'enter', key: 'k', previousFailedJobId: 5, jobId: 3 });
  });

  it("errors the entrance with IllegalJobSequenceError when a job older than its key's failed job arrives behind held jobs", () => {
    const store = newStore({ scheduler: newScheduler() });
    const entry = new Entry(store).push(job('k', 5));
    report(store, job('k', 5), 'failed');
    entry.push(job('k', 6), job('k', 3));
    expect(entry.error).toBeInstanceOf(IllegalJobSequenceError);
    expect(entry.error).toMatchObject({ location: 'enter', key: 'k', previousFailedJobId: 5, jobId: 3 });
    expect(store.stats()).toMatchObject({ held: 0, retrying: 0, keys: 0 });
  });

  it("errors barrierWait with IllegalJobSequenceError (at wait) when a job older than its key's failed job reaches it", () => {
    const store = newStore({ scheduler: newScheduler() });
    new Entry(store).push(job('k', 3), job('k', 5));
    report(store, job('k', 5), 'failed');
    const error = thrownBy(() => wait(store, job('k', 3)));
    expect(error).toBeInstanceOf(IllegalJobSequenceError);
    expect(error).toMatchObject({ location: 'wait', key: 'k', previousFailedJobId: 5, jobId: 3 });
    expect(store.stats()).toMatchObject({ admitted: 1, held: 0, queued: 0 });
  });

  it("errors barrierState with IllegalJobSequenceError (at job_failed) when a job older than its key's failed job fails, changing nothing", () => {
    const store = newStore({ scheduler: newScheduler() });
    new Entry(store).push(job('k', 3), job('k', 5));
    report(store, job('k', 5), 'failed');
    const before = store.stats();
    const error = thrownBy(() => report(store, job('k', 3), 'failed'));
    expect(error).toBeInstanceOf(IllegalJobSequenceError);
    expect(error).toMatchObject({ location: 'job_failed', key: 'k', previousFailedJobId: 5, jobId: 3 });
    expect(store.stats()).toEqual(before);
    expect(store.barrier.peek('k')).toBe(5);
  });

  it('errors barrierState with UnsupportedStateError naming the state and the job, changing nothing', () => {
    const store = newStore({ scheduler: newScheduler() });
    new Entry(store).push(job('k', 1));
    const error = thrownBy(() => report(store, job('k', 1), 'executing' as JobState));
    expect(error).toBeInstanceOf(UnsupportedStateError);
    expect((error as UnsupportedStateError).state).toBe('executing');
    expect(error.message).toContain('for job {"key":"k","id":1}');
    expect(store.stats()).toMatchObject({ admitted: 1 });
  });

  it('hands illegal sequences to onIllegalSequence instead of erroring, when given', () => {
    const onIllegalSequence = vi.fn();
    const store = newStore({ scheduler: newScheduler(), onIllegalSequence });
    const entry = new Entry(store).push(job('k', 5));
    report(store, job('k', 5), 'failed');
    entry.push(job('k', 3));
    expect(entry.error).toBeUndefined();
    expect(onIllegalSequence).toHaveBeenCalledTimes(1);
    expect(onIllegalSequence.mock.calls[0]?.[0]).toMatchObject({ location: 'enter', key: 'k', previousFailedJobId: 5, jobId: 3 });
  });
});
