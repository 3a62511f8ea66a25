import { Observable, Subject, merge, mergeMap, of, type Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type Barrier,
  BarrierStore,
  HeldJobsOverflowError,
  IllegalJobSequenceError,
  UnsupportedStateError,
  type BarrierStoreEvent,
  type BarrierStoreOptions,
  type JobState,
  type JobStatus,
} from '../src/index.js';
import { barrierEnter } from '../src/operators/barrier-enter.js';
import { barrierState } from '../src/operators/barrier-state.js';
import { barrierWait } from '../src/operators/barrier-wait.js';
import { concatMapByKey } from '../src/operators/concat-map-by-key.js';
import { thrownBy } from './support/thrown.js';

interface Job {
  key: string;
  id: number;
}

const job = (key: string, id: number): Job => ({ key, id });
const name = (value: Job): string => `${value.key}#${value.id}`;

function newScheduler(): TestScheduler {
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  scheduler.maxFrames = Infinity;
  return scheduler;
}

function newStore(scheduler: TestScheduler, options: Partial<BarrierStoreOptions<Job>> = {}): BarrierStore<Job> {
  return new BarrierStore<Job>({ key: (value) => value.key, jobId: (value) => value.id, scheduler, ...options });
}

/** Runs every scheduled action due at or before `frame`, then sets the clock to `frame`. */
function advanceTo(scheduler: TestScheduler, frame: number): void {
  const { maxFrames } = scheduler;
  scheduler.maxFrames = frame;
  scheduler.flush();
  scheduler.maxFrames = maxFrames;
  scheduler.frame = frame;
}


/**
 * One `barrierEnter` subscription over a Subject, recording what it emits.
 * Outcomes are reported from outside, as an executor in another pipeline
 * would: `wait` runs a job through barrierWait, `report` a status through
 * barrierState.
 */
class Entry {
  readonly source = new Subject<Job>();
  readonly admitted: string[] = [];
  completed = false;
  error: unknown = undefined;
  readonly subscription: Subscription;

  constructor(readonly store: BarrierStore<Job>) {
    this.subscription = this.source.pipe(barrierEnter(store)).subscribe({
      next: (value) => this.admitted.push(name(value)),
      error: (error: unknown) => (this.error = error),
      complete: () => (this.completed = true),
    });
  }

  push(...values: Job[]): this {
    for (const value of values) this.source.next(value);
    return this;
  }

  end(): this {
    this.source.complete();
    return this;
  }

  close(): void {
    this.subscription.unsubscribe();
  }
}

/** barrierWait on one job: whether it passed. Throws what the operator errored with. */
function wait(store: BarrierStore<Job>, value: Job): boolean {
  let passed = false;
  let failure: unknown;
  of(value)
    .pipe(barrierWait(store))
    .subscribe({ next: () => (passed = true), error: (error: unknown) => (failure = error) });
  if (failure !== undefined) throw failure;
  return passed;
}

/** barrierState on one status. Throws what the operator errored with. */
function report(store: BarrierStore<Job>, value: Job, state: JobState, error?: unknown): void {
  let failure: unknown;
  const status: JobStatus<Job> = error === undefined ? { job: value, state } : { job: value, state, error };
  of(status)
    .pipe(barrierState(store))
    .subscribe({ error: (caught: unknown) => (failure = caught) });
  if (failure !== undefined) throw failure;
}

afterEach(() => {
  vi.restoreAllMocks();
});

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
    const store = newStore(scheduler, { keyThreshold: 1, metadata: { router: 'webhooks' } });
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

describe('BarrierStore stats()', () => {
  it('counts held, retrying and admitted jobs, records, queued commands, keys, entrances and paused keys', () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { retryDelay: 10 });
    expect(store.stats()).toEqual({ held: 0, blocked: 0, retrying: 0, admitted: 0, total: 0, records: 0, queued: 0, keys: 0, entrances: 0, paused: 0 });

    const entry = new Entry(store).push(job('k', 1), job('j', 1));
    expect(store.stats()).toEqual({ held: 0, blocked: 0, retrying: 0, admitted: 2, total: 2, records: 0, queued: 0, keys: 0, entrances: 1, paused: 0 });

    report(store, job('k', 1), 'failed');
    entry.push(job('k', 2));
    store.pause('p');
    expect(store.stats()).toEqual({ held: 1, blocked: 1, retrying: 1, admitted: 1, total: 3, records: 1, queued: 0, keys: 2, entrances: 1, paused: 1 });

    advanceTo(scheduler, 10);
    expect(store.stats()).toMatchObject({ held: 1, blocked: 1, retrying: 0, admitted: 2, total: 3 });

    report(store, job('k', 1), 'succeeded');
    expect(store.stats()).toMatchObject({ held: 1, admitted: 1, records: 1, queued: 1 });

    advanceTo(scheduler, 11);
    expect(store.stats()).toMatchObject({ held: 0, admitted: 2, records: 0, queued: 0 });

    report(store, job('k', 2), 'succeeded');
    report(store, job('j', 1), 'filtered');
    store.resume('p');
    entry.close();
    expect(store.stats()).toEqual({ held: 0, blocked: 0, retrying: 0, admitted: 0, total: 0, records: 0, queued: 0, keys: 0, entrances: 0, paused: 0 });
  });
});

describe('BarrierStore events$', () => {
  function record(store: BarrierStore<Job>): string[] {
    const events: string[] = [];
    store.events$.subscribe((event: BarrierStoreEvent<Job>) => {
      switch (event.type) {
        case 'held':
          events.push(`held ${event.key}#${event.jobId} ${event.reason}`);
          break;
        case 'failed':
          events.push(`failed ${event.key}#${event.jobId} attempt ${event.attempt} retryIn ${event.retryIn} error ${String(event.error)}`);
          break;
        case 'terminal':
          events.push(`terminal ${event.key}#${event.jobId} ${event.state} attempts ${event.attempts}`);
          break;
        case 'recordCreated':
        case 'recordDeleted':
        case 'keyDisabled':
          events.push(`${event.type} ${event.key}`);
          break;
        case 'synced':
          events.push(`synced ${event.applied}`);
          break;
        default:
          events.push(`${event.type} ${event.key}#${event.jobId}`);
      }
    });
    return events;
  }

  it('emits admitted, then terminal with the attempt count, for a job that goes straight through', () => {
    const store = newStore(newScheduler());
    const events = record(store);
    new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'succeeded');
    expect(events).toEqual(['admitted k#1', 'terminal k#1 succeeded attempts 1']);
  });

  it('emits recordCreated, failed (attempt, retry delay, error), held with its reason, released, recordDeleted and synced around a retry', () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { retryDelay: 5 });
    const events = record(store);
    const entry = new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed', 'HTTP 503');
    entry.push(job('k', 2), job('k', 3));
    advanceTo(scheduler, 5);
    report(store, job('k', 1), 'succeeded');
    advanceTo(scheduler, 6);
    expect(events).toEqual([
      'admitted k#1',
      'recordCreated k',
      'failed k#1 attempt 1 retryIn 5 error HTTP 503',
      'held k#2 rejected',
      'held k#3 behind',
      'released k#1',
      'terminal k#1 succeeded attempts 2',
      'recordDeleted k',
      'synced 1',
      'released k#2',
      'released k#3',
    ]);
    expect(entry.admitted).toEqual(['k#1', 'k#1', 'k#2', 'k#3']);
  });

  it('emits held with reason paused for a job of a paused key', () => {
    const store = newStore(newScheduler());
    const events = record(store);
    store.pause('k');
    new Entry(store).push(job('k', 1));
    expect(events).toEqual(['held k#1 paused']);
  });

  it('emits waiting for a job barrierWait hands back', () => {
    const store = newStore(newScheduler());
    const events = record(store);
    new Entry(store).push(job('k', 1), job('k', 2));
    report(store, job('k', 1), 'failed');
    expect(wait(store, job('k', 2))).toBe(false);
    expect(events.slice(-1)).toEqual(['waiting k#2']);
  });

  it('emits overflow for a job handed to onOverflow', () => {
    const store = newStore(newScheduler(), { maxHeldPerKey: 0, onOverflow: () => undefined });
    const events = record(store);
    store.pause('k');
    new Entry(store).push(job('k', 1));
    expect(events).toEqual(['overflow k#1']);
  });

  it('emits keyDisabled once when a hot key passes keyThreshold, not for each job it then lets through', () => {
    // Regression: keyDisabled was emitted again for every later job of the
    // disabled key and at every prune while it stayed disabled.
    const scheduler = newScheduler();
    const store = newStore(scheduler, { keyThreshold: 2, disabledDuration: 10, halfEnabledDuration: 5 });
    const events = record(store);
    new Entry(store).push(job('k', 1), job('k', 2), job('k', 3), job('k', 4));
    advanceTo(scheduler, 12);
    expect(events).toEqual(['recordCreated k', 'admitted k#1', 'admitted k#2', 'keyDisabled k', 'admitted k#3', 'admitted k#4']);
  });
});

describe('BarrierStore pruning', () => {
  it('while subscribed, releases a key that went idle while disabled once its durations have passed, then schedules nothing', () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { keyThreshold: 1, disabledDuration: 10, halfEnabledDuration: 5 });
    const entry = new Entry(store).push(job('k', 1), job('k', 2)); // k#2 trips keyThreshold 1
    report(store, job('k', 1), 'succeeded');
    report(store, job('k', 2), 'succeeded');
    advanceTo(scheduler, 1);
    expect(store.barrier.disabled('k')).toBe(true);
    advanceTo(scheduler, 20);
    expect(store.barrier.snapshot().records[0]?.mode).toBe('halfEnabled');
    advanceTo(scheduler, 30);
    expect(store.stats().records).toBe(0);
    expect(scheduler.actions).toHaveLength(0);
    entry.close();
  });
});

describe('BarrierStore pause and resume', () => {
  it('holds every new job of a paused key, lets other keys through, and releases the held jobs in id order on resume', () => {
    const store = newStore(newScheduler());
    store.pause('k');
    expect(store.paused('k')).toBe(true);
    expect(store.paused('j')).toBe(false);
    const entry = new Entry(store).push(job('k', 1), job('j', 1), job('k', 2));
    expect(entry.admitted).toEqual(['j#1']);
    expect(store.stats()).toMatchObject({ held: 2, paused: 1 });
    store.resume('k');
    expect(store.paused('k')).toBe(false);
    expect(entry.admitted).toEqual(['j#1', 'k#1', 'k#2']);
    expect(store.stats()).toMatchObject({ held: 0, paused: 0 });
  });

  it('does not re-admit a failed job when its retry delay has passed while its key is paused', () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { retryDelay: 5 });
    const entry = new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed');
    store.pause('k');
    advanceTo(scheduler, 5);
    expect(entry.admitted).toEqual(['k#1']);
    expect(store.stats()).toMatchObject({ held: 1, retrying: 0 });
    store.resume('k');
    expect(entry.admitted).toEqual(['k#1', 'k#1']);
  });

  it('keeps no bookkeeping for a key paused and resumed with nothing held, and ignores resuming a key never paused', () => {
    const store = newStore(newScheduler());
    store.pause('k');
    expect(store.stats().keys).toBe(1);
    store.resume('k');
    store.resume('never-paused');
    expect(store.stats()).toMatchObject({ keys: 0, paused: 0 });
  });

  it('rejects a key that is not a string with a TypeError', () => {
    const store = newStore(newScheduler());
    expect(() => store.pause(1 as unknown as string)).toThrow(TypeError);
    expect(() => store.resume(null as unknown as string)).toThrow(TypeError);
    expect(() => store.paused({} as unknown as string)).toThrow(/key must be a string/);
  });
});

describe('BarrierStore never-overtake', () => {
  it("holds a job that arrives while its key's held jobs are being released behind them", () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { retryDelay: 5 });
    const entry = new Entry(store).push(job('k', 1));
    // The source reacts to the release of k#2 by emitting k#4 at once.
    store.events$.subscribe((event) => {
      if (event.type === 'released' && event.jobId === 2) entry.push(job('k', 4));
    });
    report(store, job('k', 1), 'failed');
    entry.push(job('k', 2), job('k', 3));
    advanceTo(scheduler, 5);
    report(store, job('k', 1), 'succeeded');
    advanceTo(scheduler, 5);
    expect(entry.admitted).toEqual(['k#1', 'k#1', 'k#2', 'k#3', 'k#4']);
  });
});

describe('BarrierStore sync', () => {
  it("'auto': coalesces the outcomes queued in one turn into one sync on the scheduler, then re-tries the held jobs of the changed keys", () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { retryDelay: 5 });
    const syncs: number[] = [];
    store.events$.subscribe((event) => {
      if (event.type === 'synced') syncs.push(event.applied);
    });
    const entry = new Entry(store).push(job('k', 1), job('j', 1));
    report(store, job('k', 1), 'failed');
    report(store, job('j', 1), 'failed');
    entry.push(job('k', 2), job('j', 2));
    advanceTo(scheduler, 5);
    report(store, job('k', 1), 'succeeded');
    report(store, job('j', 1), 'succeeded');
    // Queued, not applied: the sync runs on the scheduler, not inside barrierState.
    expect(store.barrier.pending).toBe(2);
    expect(entry.admitted).toEqual(['k#1', 'j#1', 'k#1', 'j#1']);
    expect(scheduler.actions).toHaveLength(1);
    advanceTo(scheduler, 5);
    expect(syncs).toEqual([2]);
    expect(entry.admitted).toEqual(['k#1', 'j#1', 'k#1', 'j#1', 'k#2', 'j#2']);
  });

  it("'auto': a store.sync() called by hand applies at once and cancels the scheduled sync", () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { retryDelay: 5 });
    const entry = new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed');
    entry.push(job('k', 2));
    advanceTo(scheduler, 5);
    report(store, job('k', 1), 'succeeded');
    expect(scheduler.actions).toHaveLength(1);
    expect(store.sync()).toBe(1);
    expect(entry.admitted).toEqual(['k#1', 'k#1', 'k#2']);
    expect(scheduler.actions).toHaveLength(0);
  });

  it("'manual': schedules no sync and releases nothing until store.sync() is called", () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { sync: 'manual', retryDelay: 5 });
    const entry = new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed');
    entry.push(job('k', 2));
    advanceTo(scheduler, 5);
    report(store, job('k', 1), 'succeeded');
    advanceTo(scheduler, 1_000);
    expect(scheduler.actions).toHaveLength(0);
    expect(entry.admitted).toEqual(['k#1', 'k#1']);
    expect(store.stats()).toMatchObject({ held: 1, queued: 1 });
    expect(store.sync()).toBe(1);
    expect(entry.admitted).toEqual(['k#1', 'k#1', 'k#2']);
    expect(store.stats()).toMatchObject({ held: 0, queued: 0, records: 0 });
  });
});

describe('BarrierStore maxHeldPerKey and onOverflow', () => {
  it('hands the newest job over the limit to onOverflow and never emits it', () => {
    const overflowed: string[] = [];
    const store = newStore(newScheduler(), { maxHeldPerKey: 2, onOverflow: (value) => overflowed.push(name(value)) });
    store.pause('k');
    const entry = new Entry(store).push(job('k', 1), job('k', 2), job('k', 3), job('j', 1));
    expect(overflowed).toEqual(['k#3']);
    expect(store.stats()).toMatchObject({ held: 2 });
    store.resume('k');
    expect(entry.admitted).toEqual(['j#1', 'k#1', 'k#2']);
    expect(entry.error).toBeUndefined();
  });

  it('errors the entrance with HeldJobsOverflowError naming the key and carrying the job, without onOverflow', () => {
    const store = newStore(newScheduler(), { maxHeldPerKey: 1 });
    store.pause('k');
    const entry = new Entry(store).push(job('k', 1), job('k', 2));
    expect(entry.error).toBeInstanceOf(HeldJobsOverflowError);
    const error = entry.error as HeldJobsOverflowError;
    expect(error.key).toBe('k');
    expect(error.job).toEqual(job('k', 2));
    expect(error.maxHeldPerKey).toBe(1);
    expect(error.message).toBe(
      'key "k" already holds 1 job (maxHeldPerKey); job {"key":"k","id":2} does not fit: pass onOverflow to park such jobs',
    );
  });

  it('never overflows on a failed job coming back for its retry', () => {
    const scheduler = newScheduler();
    const onOverflow = vi.fn();
    const store = newStore(scheduler, { maxHeldPerKey: 1, onOverflow, retryDelay: 5 });
    const entry = new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed');
    entry.push(job('k', 2));
    store.pause('k');
    advanceTo(scheduler, 5);
    expect(onOverflow).not.toHaveBeenCalled();
    expect(store.stats().held).toBe(2);
    store.resume('k');
    expect(entry.admitted).toEqual(['k#1', 'k#1']);
  });

  it('never overflows on a job barrierWait hands back', () => {
    const onOverflow = vi.fn();
    const store = newStore(newScheduler(), { maxHeldPerKey: 1, onOverflow });
    const entry = new Entry(store).push(job('k', 1), job('k', 2));
    report(store, job('k', 1), 'failed');
    entry.push(job('k', 3));
    expect(wait(store, job('k', 2))).toBe(false);
    expect(onOverflow).not.toHaveBeenCalled();
    expect(store.stats().held).toBe(2);
  });

  it('with maxHeldPerKey 0, overflows every job the barrier rejects and keeps no bookkeeping for it', () => {
    const overflowed: string[] = [];
    const store = newStore(newScheduler(), { maxHeldPerKey: 0, onOverflow: (value) => overflowed.push(name(value)) });
    const entry = new Entry(store).push(job('k', 1), job('k', 2));
    report(store, job('k', 1), 'failed');
    store.sync();
    expect(store.stats().keys).toBe(1); // k#1 waits for its retry
    entry.push(job('k', 3), job('j', 1));
    expect(overflowed).toEqual(['k#3']);
    expect(entry.admitted).toEqual(['k#1', 'k#2', 'j#1']);
    expect(store.stats()).toMatchObject({ held: 0, keys: 1 });
  });
});

describe('BarrierStore pressure$', () => {
  it('says true once the store holds highWaterMark jobs and false again only at half of it', () => {
    const store = newStore(newScheduler(), { highWaterMark: 4 });
    const pressure: boolean[] = [];
    store.pressure$.subscribe((value) => pressure.push(value));
    const entry = new Entry(store).push(job('a', 1), job('b', 1), job('c', 1));
    expect(pressure).toEqual([false]);
    entry.push(job('d', 1));
    expect(pressure).toEqual([false, true]);
    report(store, job('a', 1), 'succeeded'); // 3 left: still above half
    expect(pressure).toEqual([false, true]);
    report(store, job('b', 1), 'succeeded'); // 2 left: half
    expect(pressure).toEqual([false, true, false]);
    entry.push(job('e', 1)); // 3: below the mark again
    expect(pressure).toEqual([false, true, false]);
  });

  it('counts held and retrying jobs as well as admitted ones', () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { highWaterMark: 3, retryDelay: 5 });
    const pressure: boolean[] = [];
    const entry = new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed');
    entry.push(job('k', 2));
    store.pressure$.subscribe((value) => pressure.push(value));
    expect(store.stats()).toMatchObject({ retrying: 1, held: 1, blocked: 1, total: 2 });
    expect(pressure).toEqual([false]);
    entry.push(job('k', 3)); // blocked behind k#1: not counted
    expect(pressure).toEqual([false]);
    entry.push(job('j', 1), job('j', 2));
    expect(pressure).toEqual([false, true]);
  });

  it('gives a late subscriber the current value', () => {
    const store = newStore(newScheduler(), { highWaterMark: 1 });
    new Entry(store).push(job('k', 1));
    const pressure: boolean[] = [];
    store.pressure$.subscribe((value) => pressure.push(value));
    expect(pressure).toEqual([true]);
  });
});

describe('BarrierStore completion', () => {
  it('completes an entrance once its source completed and every job it admitted is terminal', () => {
    const store = newStore(newScheduler());
    const entry = new Entry(store).push(job('k', 1), job('j', 1)).end();
    expect(entry.completed).toBe(false);
    report(store, job('k', 1), 'succeeded');
    expect(entry.completed).toBe(false);
    report(store, job('j', 1), 'aborted');
    expect(entry.completed).toBe(true);
  });

  it('completes an entrance whose source completed empty at once', () => {
    const entry = new Entry(newStore(newScheduler())).end();
    expect(entry.completed).toBe(true);
  });

  it('stays open while a job is retrying, and while a job is held', () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { retryDelay: 5 });
    const entry = new Entry(store).push(job('k', 1)).end();
    report(store, job('k', 1), 'failed');
    expect(store.stats().retrying).toBe(1);
    expect(entry.completed).toBe(false);
    store.pause('k');
    advanceTo(scheduler, 5);
    expect(store.stats().held).toBe(1);
    expect(entry.completed).toBe(false);
    store.resume('k');
    report(store, job('k', 1), 'succeeded');
    expect(entry.completed).toBe(false);
    advanceTo(scheduler, 5);
    expect(entry.completed).toBe(true);
  });

  it('runs the pending automatic sync before completing, so the barrier is clean when it completes', () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { retryDelay: 5 });
    const entry = new Entry(store).push(job('k', 1)).end();
    let barrierAtCompletion = '';
    store.events$.subscribe(() => undefined);
    entry.subscription.add(() => (barrierAtCompletion = String(store.barrier)));
    report(store, job('k', 1), 'failed');
    advanceTo(scheduler, 5);
    report(store, job('k', 1), 'succeeded');
    expect(entry.completed).toBe(false);
    advanceTo(scheduler, 5);
    expect(entry.completed).toBe(true);
    expect(barrierAtCompletion).toBe('Barrier 0 keys, 0 pending');
  });

  it('never completes when no outcome is reported through barrierState', () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler);
    const entry = new Entry(store).push(job('k', 1)).end();
    advanceTo(scheduler, 1_000_000);
    expect(entry.completed).toBe(false);
    expect(store.stats().admitted).toBe(1);
  });
});

describe('BarrierStore unsubscribe', () => {
  it('calls leave for every admitted unfinished job the barrier recorded, leaving no record behind', () => {
    const store = newStore(newScheduler(), { keyThreshold: 10 });
    const leave = vi.spyOn(store.barrier, 'leave');
    const entry = new Entry(store).push(job('k', 1), job('k', 2), job('j', 1));
    report(store, job('k', 1), 'succeeded');
    expect(store.barrier.size).toBe(2);
    entry.close();
    expect(leave.mock.calls.sort()).toEqual([
      ['j', 1],
      ['k', 2],
    ]);
    expect(store.barrier.size).toBe(0);
    expect(store.stats()).toMatchObject({ admitted: 0, total: 0, keys: 0, entrances: 0 });
  });

  it('calls leave for jobs admitted while the key drains after an abort', () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { concurrencyLimit: 1, retryDelay: 5 });
    const entry = new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed');
    entry.push(job('k', 2), job('k', 3));
    advanceTo(scheduler, 5);
    report(store, job('k', 1), 'aborted');
    advanceTo(scheduler, 5);
    expect(entry.admitted).toEqual(['k#1', 'k#1', 'k#2']);
    expect(store.barrier.snapshot().records).toEqual([
      { key: 'k', mode: 'enabled', modeSince: 0, failedJobId: null, concurrent: null, draining: [2] },
    ]);
    const leave = vi.spyOn(store.barrier, 'leave');
    entry.close();
    expect(leave.mock.calls).toEqual([['k', 2]]);
    expect(store.barrier.snapshot().records[0]?.draining).toEqual([]);
    expect(store.stats()).toMatchObject({ held: 0, admitted: 0, keys: 0 });
  });

  it('cancels retry timers, the pending sync and pruning: no scheduled action is left', () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { keyThreshold: 10, retryDelay: 5 });
    const entry = new Entry(store).push(job('k', 1), job('j', 1));
    report(store, job('k', 1), 'failed');
    report(store, job('j', 1), 'succeeded');
    expect(scheduler.actions.length).toBeGreaterThanOrEqual(3); // retry, sync, prune
    entry.close();
    expect(scheduler.actions).toHaveLength(0);
    expect(store.stats()).toMatchObject({ retrying: 0, queued: 0 });
  });

  it('drops held jobs with their bookkeeping', () => {
    const store = newStore(newScheduler());
    const entry = new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed');
    entry.push(job('k', 2), job('k', 3));
    entry.close();
    expect(store.stats()).toMatchObject({ held: 0, retrying: 0, admitted: 0, total: 0, keys: 0 });
  });

  it('forgets jobs admitted on the untracked path: the barrier recorded nothing to leave', () => {
    const store = newStore(newScheduler());
    const leave = vi.spyOn(store.barrier, 'leave');
    new Entry(store).push(job('k', 1), job('j', 1)).close();
    expect(leave).not.toHaveBeenCalled();
    expect(store.stats()).toMatchObject({ admitted: 0, total: 0, entrances: 0 });
  });

  it("keeps a failed job recorded: another entrance's job of its key stays held until the failed job is entered again", () => {
    // Regression: a job older than every held job of its key (here the failed
    // job, redelivered) was held behind them and never tried, so the key
    // stayed blocked for good.
    const scheduler = newScheduler();
    const store = newStore(scheduler, { retryDelay: 5 });
    const first = new Entry(store);
    const second = new Entry(store);
    first.push(job('k', 1));
    report(store, job('k', 1), 'failed');
    second.push(job('k', 2));
    first.close();
    advanceTo(scheduler, 100);
    expect(store.barrier.peek('k')).toBe(1);
    expect(second.admitted).toEqual([]);
    expect(store.stats()).toMatchObject({ held: 1, retrying: 0 });

    second.push(job('k', 1)); // redelivered by the source
    expect(second.admitted).toEqual(['k#1']);
    report(store, job('k', 1), 'succeeded');
    advanceTo(scheduler, 100);
    expect(second.admitted).toEqual(['k#1', 'k#2']);
  });

  it("re-tries the other entrances' held jobs when leave frees a drain slot", () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { concurrencyLimit: 1, retryDelay: 5 });
    const first = new Entry(store);
    const second = new Entry(store);
    first.push(job('k', 1));
    report(store, job('k', 1), 'failed');
    advanceTo(scheduler, 5);
    report(store, job('k', 1), 'aborted');
    advanceTo(scheduler, 5);
    first.push(job('k', 2)); // takes the one drain slot
    second.push(job('k', 3));
    expect(second.admitted).toEqual([]);
    first.close();
    expect(second.admitted).toEqual(['k#3']);
  });
});

describe('BarrierStore per-key bookkeeping', () => {
  it('keeps nothing per key for jobs admitted with no record through a single entrance', () => {
    const store = newStore(newScheduler());
    const entry = new Entry(store);
    for (let i = 0; i < 100; i++) entry.push(job(`key-${i}`, 1));
    expect(store.stats()).toMatchObject({ admitted: 100, keys: 0, records: 0 });
  });

  it('deletes a key once it has nothing held, retrying, running or paused', () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { retryDelay: 5 });
    const entry = new Entry(store);
    for (let i = 0; i < 20; i++) entry.push(job(`key-${i}`, 1), job(`key-${i}`, 2));
    for (let i = 0; i < 20; i++) report(store, job(`key-${i}`, 1), 'failed');
    for (let i = 0; i < 20; i++) expect(wait(store, job(`key-${i}`, 2))).toBe(false);
    expect(store.stats()).toMatchObject({ keys: 20, held: 20, retrying: 20 });
    advanceTo(scheduler, 5);
    for (let i = 0; i < 20; i++) report(store, job(`key-${i}`, 1), 'succeeded');
    advanceTo(scheduler, 5);
    expect(store.stats()).toMatchObject({ keys: 20, admitted: 20, held: 0 });
    for (let i = 0; i < 20; i++) report(store, job(`key-${i}`, 2), 'succeeded');
    advanceTo(scheduler, 5);
    expect(store.stats()).toMatchObject({ keys: 0, records: 0, total: 0 });
  });

  it('deletes the record of a key recorded because of keyThreshold once its jobs are terminal', () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { keyThreshold: 5 });
    const entry = new Entry(store).push(job('k', 1), job('k', 2));
    // Recorded by the barrier, but through the only entrance: counted, not tracked.
    expect(store.stats()).toMatchObject({ admitted: 2, keys: 0, records: 1 });
    report(store, job('k', 1), 'succeeded');
    report(store, job('k', 2), 'filtered');
    advanceTo(scheduler, 1);
    expect(store.stats()).toMatchObject({ keys: 0, records: 0 });
    entry.close();
  });
});

describe('BarrierStore errors', () => {
  it('errors the entrance with a TypeError naming the job when the key selector returns a non-string, admitting nothing', () => {
    const store = newStore(newScheduler(), { key: () => 7 as unknown as string });
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
    const store = newStore(newScheduler(), { jobId: () => id as number });
    const entry = new Entry(store).push(job('k', 1));
    expect(entry.error).toBeInstanceOf(type);
    expect((entry.error as Error).message).toBe(message);
  });

  it('errors the entrance with a TypeError naming the job when a selector throws, the thrown error as its cause', () => {
    const thrown = new Error('no id');
    const store = newStore(newScheduler(), {
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
    const store = newStore(newScheduler());
    const entry = new Entry(store).push(job('k', 5));
    report(store, job('k', 5), 'failed');
    entry.push(job('k', 3));
    expect(entry.error).toBeInstanceOf(IllegalJobSequenceError);
    expect(entry.error).toMatchObject({ location: 'enter', key: 'k', previousFailedJobId: 5, jobId: 3 });
  });

  it("errors the entrance with IllegalJobSequenceError when a job older than its key's failed job arrives behind held jobs", () => {
    const store = newStore(newScheduler());
    const entry = new Entry(store).push(job('k', 5));
    report(store, job('k', 5), 'failed');
    entry.push(job('k', 6), job('k', 3));
    expect(entry.error).toBeInstanceOf(IllegalJobSequenceError);
    expect(entry.error).toMatchObject({ location: 'enter', key: 'k', previousFailedJobId: 5, jobId: 3 });
    expect(store.stats()).toMatchObject({ held: 0, retrying: 0, keys: 0 });
  });

  it("errors barrierWait with IllegalJobSequenceError (at wait) when a job older than its key's failed job reaches it", () => {
    const store = newStore(newScheduler());
    new Entry(store).push(job('k', 3), job('k', 5));
    report(store, job('k', 5), 'failed');
    const error = thrownBy(() => wait(store, job('k', 3)));
    expect(error).toBeInstanceOf(IllegalJobSequenceError);
    expect(error).toMatchObject({ location: 'wait', key: 'k', previousFailedJobId: 5, jobId: 3 });
    expect(store.stats()).toMatchObject({ admitted: 1, held: 0, queued: 0 });
  });

  it("errors barrierState with IllegalJobSequenceError (at job_failed) when a job older than its key's failed job fails, changing nothing", () => {
    const store = newStore(newScheduler());
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
    const store = newStore(newScheduler());
    new Entry(store).push(job('k', 1));
    const error = thrownBy(() => report(store, job('k', 1), 'executing' as JobState));
    expect(error).toBeInstanceOf(UnsupportedStateError);
    expect((error as UnsupportedStateError).state).toBe('executing');
    expect(error.message).toContain('for job {"key":"k","id":1}');
    expect(store.stats()).toMatchObject({ admitted: 1 });
  });

  it('hands illegal sequences to onIllegalSequence instead of erroring, when given', () => {
    const onIllegalSequence = vi.fn();
    const store = newStore(newScheduler(), { onIllegalSequence });
    const entry = new Entry(store).push(job('k', 5));
    report(store, job('k', 5), 'failed');
    entry.push(job('k', 3));
    expect(entry.error).toBeUndefined();
    expect(onIllegalSequence).toHaveBeenCalledTimes(1);
    expect(onIllegalSequence.mock.calls[0]?.[0]).toMatchObject({ location: 'enter', key: 'k', previousFailedJobId: 5, jobId: 3 });
  });
});

describe('BarrierStore shared by several pipelines', () => {
  /** A per-key sequential executor over `jobs$`: each attempt takes `latency` frames and reports `outcome(job, attempt)`. */
  function executor(
    store: BarrierStore<Job>,
    jobs$: Observable<Job>,
    scheduler: TestScheduler,
    outcome: (value: Job, attempt: number) => JobState,
    latency = 2,
  ): { sent: string[]; settled: string[]; subscription: Subscription } {
    const sent: string[] = [];
    const settled: string[] = [];
    const attempts = new Map<string, number>();
    const subscription = jobs$
      .pipe(
        concatMapByKey(
          (value) => value.key,
          (value) =>
            of(value).pipe(
              barrierWait(store),
              mergeMap(() => new Observable<JobStatus<Job>>((subscriber) => {
              sent.push(name(value));
              const attempt = (attempts.get(name(value)) ?? 0) + 1;
              attempts.set(name(value), attempt);
              return scheduler.schedule(() => {
                subscriber.next({ job: value, state: outcome(value, attempt) });
                subscriber.complete();
              }, latency);
            })),
              barrierState(store),
            ),
        ),
      )
      .subscribe((status) => settled.push(`${name(status.job)} ${status.state}`));
    return { sent, settled, subscription };
  }

  it('runs the entrance in one pipeline and the executor in another', () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { retryDelay: 5 });
    const handOff = new Subject<Job>();
    // Pipeline one: the entrance hands what it admits to pipeline two.
    const source = new Subject<Job>();
    let completed = false;
    source.pipe(barrierEnter(store)).subscribe({ next: (value) => handOff.next(value), complete: () => (completed = true) });
    // Pipeline two: the executor.
    const run = executor(store, handOff, scheduler, (value, attempt) => (name(value) === 'k#1' && attempt === 1 ? 'failed' : 'succeeded'));
    source.next(job('k', 1));
    source.next(job('k', 2));
    source.next(job('j', 1));
    source.complete();
    advanceTo(scheduler, 100);
    expect(run.sent).toEqual(['k#1', 'j#1', 'k#1', 'k#2']);
    expect(run.settled).toEqual(['k#1 failed', 'j#1 succeeded', 'k#1 succeeded', 'k#2 succeeded']);
    expect(completed).toBe(true);
    expect(store.stats()).toMatchObject({ total: 0, keys: 0, records: 0, entrances: 0 });
  });

  it('gives each job back to the entrance that admitted it, and keeps one key in id order across two entrances', () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { retryDelay: 5 });
    const sourceA = new Subject<Job>();
    const sourceB = new Subject<Job>();
    const fromA: string[] = [];
    const fromB: string[] = [];
    const done: string[] = [];
    const entranceA = sourceA.pipe(barrierEnter(store));
    const entranceB = sourceB.pipe(barrierEnter(store));
    const both = merge(
      new Observable<Job>((subscriber) =>
        entranceA.subscribe({ next: (value) => (fromA.push(name(value)), subscriber.next(value)), complete: () => (done.push('A'), subscriber.complete()) }),
      ),
      new Observable<Job>((subscriber) =>
        entranceB.subscribe({ next: (value) => (fromB.push(name(value)), subscriber.next(value)), complete: () => (done.push('B'), subscriber.complete()) }),
      ),
    );
    const run = executor(store, both, scheduler, (value, attempt) => (value.id === 1 && attempt <= 2 ? 'failed' : 'succeeded'));
    sourceA.next(job('k', 1));
    sourceB.next(job('j', 1));
    advanceTo(scheduler, 3);
    sourceB.next(job('k', 2)); // k#1 failed at 2: held until it succeeds
    sourceA.complete();
    sourceB.complete();
    advanceTo(scheduler, 100);
    expect(fromA).toEqual(['k#1', 'k#1', 'k#1']);
    expect(fromB).toEqual(['j#1', 'j#1', 'j#1', 'k#2']);
    expect(run.settled.filter((line) => line.startsWith('k'))).toEqual(['k#1 failed', 'k#1 failed', 'k#1 succeeded', 'k#2 succeeded']);
    expect(done.sort()).toEqual(['A', 'B']);
    expect(store.stats()).toMatchObject({ total: 0, keys: 0, records: 0, entrances: 0 });
    run.subscription.unsubscribe();
  });

  it('accepts the outcome of a job whose entrance closed while an executor elsewhere was running it', () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler);
    const first = new Entry(store);
    const second = new Entry(store); // two entrances: every job is tracked
    first.push(job('k', 1));
    first.close();
    expect(() => report(store, job('k', 1), 'succeeded')).not.toThrow();
    second.push(job('k', 2));
    report(store, job('k', 2), 'succeeded');
    second.end();
    expect(second.completed).toBe(true);
    expect(store.stats()).toMatchObject({ total: 0, keys: 0 });
  });
});

describe('BarrierStore: entrances that close before their jobs finish', () => {
  it('regression: an outcome of a closed entrance\'s job was counted against a later entrance, completing it early', () => {
    const store = newStore(newScheduler());
    const statuses = new Subject<JobStatus<Job>>();
    // An executor in its own pipeline, outliving the first entrance.
    const executor = statuses.pipe(barrierState(store)).subscribe();
    const first = new Entry(store).push(job('x', 1));
    first.close();
    const second = new Entry(store).push(job('y', 1)).end();
    expect(store.stats().keys).toBe(1); // tracked: an unknown outcome could be the orphan's
    statuses.next({ job: job('x', 1), state: 'succeeded' });
    expect(second.completed).toBe(false);
    statuses.next({ job: job('y', 1), state: 'succeeded' });
    expect(second.completed).toBe(true);
    executor.unsubscribe();
  });

  it('keeps an orphan until its outcome comes, tracking new jobs meanwhile; then a new job takes the untracked path again', () => {
    const store = newStore(newScheduler());
    new Entry(store).push(job('x', 1)).close();
    const next = new Entry(store).push(job('z', 1));
    expect(next.admitted).toEqual(['z#1']);
    expect(store.stats()).toMatchObject({ admitted: 1, keys: 1 });
    report(store, job('x', 1), 'succeeded'); // the orphan's outcome, from an executor elsewhere
    report(store, job('z', 1), 'succeeded');
    next.push(job('z', 2));
    expect(store.stats()).toMatchObject({ admitted: 1, keys: 0 });
  });
});

describe('BarrierStore events$: records deleted outside a sync', () => {
  it('reports recordDeleted when unsubscribing leaves the barrier for a recorded job', () => {
    const store = newStore(newScheduler(), { keyThreshold: 5 });
    const events: BarrierStoreEvent<Job>['type'][] = [];
    store.events$.subscribe((event) => events.push(event.type));
    const entry = new Entry(store).push(job('k', 1));
    expect(events).toEqual(['recordCreated', 'admitted']);
    entry.close();
    expect(events).toEqual(['recordCreated', 'admitted', 'recordDeleted']);
    expect(store.barrier.size).toBe(0);
  });

  it('reports recordDeleted when the periodic prune deletes an idle key that was disabled', () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { keyThreshold: 1, disabledDuration: 10, halfEnabledDuration: 10 });
    const deleted: string[] = [];
    store.events$.subscribe((event) => event.type === 'recordDeleted' && deleted.push(event.key));
    const entry = new Entry(store).push(job('k', 1), job('k', 2));
    expect(store.barrier.disabled('k')).toBe(true);
    report(store, job('k', 1), 'succeeded');
    report(store, job('k', 2), 'succeeded');
    advanceTo(scheduler, 15);
    expect(deleted).toEqual([]);
    advanceTo(scheduler, 40);
    expect(deleted).toEqual(['k']);
    expect(store.barrier.size).toBe(0);
    entry.close();
  });
});

describe('BarrierStore: orphans of a closed entrance beside a live untracked one', () => {
  it("regression: a closed entrance's tracked job was credited to the live entrance, which completed early and dropped its own failed job", () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { retryDelay: 5 });
    const statuses = new Subject<JobStatus<Job>>();
    const executor = statuses.pipe(barrierState(store)).subscribe();
    const live = new Entry(store).push(job('a', 1)); // alone: untracked
    const closing = new Entry(store).push(job('b', 1)); // two entrances: tracked
    closing.close();
    live.end();
    statuses.next({ job: job('b', 1), state: 'succeeded' });
    expect(live.completed).toBe(false);
    statuses.next({ job: job('a', 1), state: 'failed' });
    expect(store.stats().retrying).toBe(1);
    advanceTo(scheduler, 10);
    expect(live.admitted).toEqual(['a#1', 'a#1']); // retried through its own entrance
    statuses.next({ job: job('a', 1), state: 'succeeded' });
    advanceTo(scheduler, 11);
    expect(live.completed).toBe(true);
    expect(store.barrier.size).toBe(0);
    executor.unsubscribe();
  });
});

describe('BarrierStore: starting from a saved barrier', () => {
  it('restores the snapshot option, so a failed job saved before a restart still holds its key', () => {
    const before = newStore(newScheduler());
    new Entry(before).push(job('k', 1));
    report(before, job('k', 1), 'failed');
    const saved = JSON.parse(JSON.stringify(before.barrier.snapshot())) as ReturnType<Barrier['snapshot']>;

    const scheduler = newScheduler();
    const after = newStore(scheduler, { snapshot: saved });
    expect(after.barrier.peek('k')).toBe(1);
    const entry = new Entry(after).push(job('k', 2));
    expect(entry.admitted).toEqual([]); // held behind the restored failed job
    entry.push(job('k', 1)); // the failed job, fed again first in line
    expect(entry.admitted).toEqual(['k#1']);
    report(after, job('k', 1), 'succeeded');
    advanceTo(scheduler, 1);
    expect(entry.admitted).toEqual(['k#1', 'k#2']);
  });

  it('rejects a malformed snapshot option with the TypeError fromSnapshot gives', () => {
    expect(() => newStore(newScheduler(), { snapshot: { version: 2 } as never })).toThrow(/invalid barrier snapshot: version must be 1/);
  });
});

describe('BarrierStore with keyThreshold and an onIllegalSequence callback', () => {
  it('a retry that comes after a later failed job of its key is held until that job is resolved, not lost', () => {
    const scheduler = newScheduler();
    const illegal: string[] = [];
    const store = newStore(scheduler, {
      keyThreshold: 2,
      disabledDuration: 1,
      halfEnabledDuration: 1,
      retryDelay: 10,
      onIllegalSequence: (error) => illegal.push(`${error.location} ${error.jobId} after ${error.previousFailedJobId}`),
    });
    const entry = new Entry(store).push(job('k', 1), job('k', 2), job('k', 3)); // 3 trips the threshold: disabled
    report(store, job('k', 1), 'failed'); // ignored by the disabled barrier; retried at 10
    report(store, job('k', 2), 'succeeded');
    report(store, job('k', 3), 'succeeded');
    advanceTo(scheduler, 2);
    entry.push(job('k', 4)); // half-enabled now
    report(store, job('k', 4), 'failed'); // the key's failed job; retried at 12
    advanceTo(scheduler, 11); // 1's retry: the key is enabled again, and 1 < failed 4
    expect(illegal).toEqual([]); // the store holds 1 rather than enter it out of order
    expect(entry.admitted).toEqual(['k#1', 'k#2', 'k#3', 'k#4']);
    expect(store.stats()).toMatchObject({ held: 1, retrying: 1 });
    advanceTo(scheduler, 13); // 4's retry goes first; 1 stays held behind it
    expect(entry.admitted).toEqual(['k#1', 'k#2', 'k#3', 'k#4', 'k#4']);
    expect(store.stats()).toMatchObject({ held: 1, retrying: 0, admitted: 1 });
    report(store, job('k', 4), 'succeeded');
    advanceTo(scheduler, 14);
    expect(entry.admitted).toEqual(['k#1', 'k#2', 'k#3', 'k#4', 'k#4', 'k#1']);
    report(store, job('k', 1), 'succeeded');
    entry.end();
    advanceTo(scheduler, 15);
    expect(entry.completed).toBe(true);
    expect(store.stats()).toMatchObject({ held: 0, retrying: 0, admitted: 0 });
  });
});

describe('BarrierStore: user code running inside its bookkeeping', () => {
  it('regression: an events$ handler that closed the entrance during a release drove counts negative and left the job recorded', () => {
    const scheduler = newScheduler();
    const store = newStore(scheduler, { keyThreshold: 5, retryDelay: 1 });
    const entry = new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed');
    entry.push(job('k', 2)); // held behind the failed job
    advanceTo(scheduler, 1); // k#1 retried
    report(store, job('k', 1), 'succeeded');
    store.events$.subscribe((event) => {
      if (event.type === 'recordCreated') entry.close();
    });
    advanceTo(scheduler, 2); // the sync deletes k's record; releasing k#2 creates one
    expect(entry.admitted).toEqual(['k#1', 'k#1']);
    expect(store.stats()).toMatchObject({ held: 0, retrying: 0, admitted: 0, total: 0, keys: 0 });
    expect(store.barrier.size).toBe(0);
  });

  it('a failed event already counts the job as retrying', () => {
    const store = newStore(newScheduler(), { retryDelay: 5 });
    const seen: number[] = [];
    store.events$.subscribe((event) => {
      if (event.type === 'failed') seen.push(store.stats().retrying);
    });
    new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed');
    expect(seen).toEqual([1]);
  });
});
