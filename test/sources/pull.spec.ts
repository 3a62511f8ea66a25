// pull: a source that asks for jobs only while the store is below its high-water mark.
import { asyncScheduler, lastValueFrom, Subject, toArray, Observable, merge, NEVER } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BarrierStore, pull, PULL_DEFAULTS, type DeliveryResult } from '../../src/index.js';
import { orderedDelivery, type DeliveryOutcome } from '../../src/operators/index.js';
import { job, newStore, type Job } from '../support/jobs.js';

/** Lets every pending promise callback run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Jobs of distinct keys, numbered from 1. */
function jobMaker() {
  let made = 0;
  return {
    get made() {
      return made;
    },
    next(): Job {
      made++;
      return { key: `k${made}`, id: 1 };
    },
  };
}

/**
 * An `orderedDelivery` whose deliveries stay open until `finish(n)` succeeds
 * the `n` oldest, so the test decides how many jobs the store holds.
 */
function heldDeliveries(store: BarrierStore<Job>) {
  const open: Subject<DeliveryOutcome>[] = [];
  const results: DeliveryResult<Job>[] = [];
  const deliver = (): Observable<DeliveryOutcome> => {
    const outcome = new Subject<DeliveryOutcome>();
    open.push(outcome);
    return outcome;
  };
  return {
    operator: orderedDelivery(store, { deliver, concurrency: Infinity }),
    results,
    get open() {
      return open.length;
    },
    finish(count: number): void {
      for (const outcome of open.splice(0, count)) outcome.next('succeeded');
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('pull with a batch function', () => {
  it('asks for up to the room below the high-water mark, stops there, and resumes at half', async () => {
    const store = newStore({ highWaterMark: 10 });
    const jobs = jobMaker();
    const demands: number[] = [];
    const batch = async (demand: number): Promise<Job[]> => {
      demands.push(demand);
      return Array.from({ length: demand }, () => jobs.next());
    };
    const delivery = heldDeliveries(store);
    const pressure: boolean[] = [];
    store.pressure$.subscribe((full) => pressure.push(full));

    const subscription = pull(batch, store).pipe(delivery.operator).subscribe((result) => delivery.results.push(result));
    await settle();
    expect(demands).toEqual([10]);
    expect(jobs.made).toBe(10);
    expect(store.stats().total).toBe(10);
    expect(pressure).toEqual([false, true]);

    delivery.finish(4);
    await settle();
    // 6 in the store: above half, still under pressure.
    expect(demands).toEqual([10]);
    expect(pressure).toEqual([false, true]);

    delivery.finish(1);
    await settle();
    // Down to 5 (half of 10): pressure ends, and the room is asked for.
    expect(pressure).toEqual([false, true, false, true]);
    expect(demands).toEqual([10, 5]);
    expect(jobs.made).toBe(15);
    expect(store.stats().total).toBe(10);
    subscription.unsubscribe();
  });

  it('asks for at most batchSize at once', async () => {
    const store = newStore();
    const demands: number[] = [];
    const jobs = jobMaker();
    const batch = async (demand: number): Promise<Job[] | null> => {
      demands.push(demand);
      if (demands.length > 3) return null;
      return Array.from({ length: 2 }, () => jobs.next());
    };
    const results = await lastValueFrom(pull(batch, store, { batchSize: 7 }).pipe(toArray()));
    expect(demands).toEqual([7, 7, 7, 7]);
    expect(results).toHaveLength(6);
    expect(PULL_DEFAULTS.batchSize).toBe(1000);
  });

  it('defaults to asking for 1000 without a high-water mark', async () => {
    const store = newStore();
    const demands: number[] = [];
    await lastValueFrom(
      pull(async (demand) => (demands.push(demand), null), store).pipe(toArray()),
    );
    expect(demands).toEqual([1000]);
  });

  it('polls every pollInterval while the batch is empty', async () => {
    vi.useFakeTimers();
    const store = newStore();
    const asked: number[] = [];
    const start = Date.now();
    const answers: (Job[] | null)[] = [[], [], [{ key: 'a', id: 1 }], [], null];
    const batch = async (): Promise<Job[] | null> => {
      asked.push(Date.now() - start);
      return answers.shift()!;
    };
    const emitted: Job[] = [];
    let completed = false;
    pull(batch, store, { pollInterval: 250 }).subscribe({ next: (job) => emitted.push(job), complete: () => (completed = true) });

    await vi.advanceTimersByTimeAsync(0);
    expect(asked).toEqual([0]);
    await vi.advanceTimersByTimeAsync(249);
    expect(asked).toEqual([0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(asked).toEqual([0, 250]);
    // A non-empty batch is followed by another request at once.
    await vi.advanceTimersByTimeAsync(250);
    expect(asked).toEqual([0, 250, 500, 500]);
    expect(emitted).toEqual([{ key: 'a', id: 1 }]);
    expect(completed).toBe(false);
    await vi.advanceTimersByTimeAsync(250);
    expect(asked).toEqual([0, 250, 500, 500, 750]);
    expect(completed).toBe(true);
  });

  it('polls every second by default', async () => {
    vi.useFakeTimers();
    const store = newStore();
    const batch = vi.fn(async (): Promise<Job[]> => []);
    const subscription = pull(batch, store).subscribe();
    await vi.advanceTimersByTimeAsync(999);
    expect(batch).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(batch).toHaveBeenCalledTimes(2);
    expect(PULL_DEFAULTS.pollInterval).toBe(1000);
    subscription.unsubscribe();
  });

  it('stops polling when unsubscribed', async () => {
    vi.useFakeTimers();
    const store = newStore();
    const batch = vi.fn(async (): Promise<Job[]> => []);
    const subscription = pull(batch, store, { pollInterval: 10 }).subscribe();
    await vi.advanceTimersByTimeAsync(25);
    expect(batch).toHaveBeenCalledTimes(3);
    subscription.unsubscribe();
    await vi.advanceTimersByTimeAsync(100);
    expect(batch).toHaveBeenCalledTimes(3);
  });

  it('null ends the source; the pipeline completes once every job is terminal', async () => {
    const store = newStore({ highWaterMark: 100 });
    const answers: (Job[] | null)[] = [[{ key: 'a', id: 1 }, { key: 'a', id: 2 }], [{ key: 'b', id: 1 }], null, [{ key: 'c', id: 1 }]];
    const batch = vi.fn(async (): Promise<Job[] | null> => answers.shift()!);
    let attempts = 0;
    const results = await lastValueFrom(
      pull(batch, store).pipe(
        orderedDelivery(store, {
          deliver: async (job) => (job.key === 'a' && job.id === 1 && ++attempts === 1 ? 'failed' : 'succeeded'),
          retryDelay: 1,
        }),
        toArray(),
      ),
    );
    expect(batch).toHaveBeenCalledTimes(3);
    expect(results.map((r) => `${r.key}${r.jobId}:${r.attempts}`)).toEqual(['b1:1', 'a1:2', 'a2:1']);
    expect(store.stats().total).toBe(0);
  });

  it('does not ask again after unsubscribing while a batch is on its way', async () => {
    const store = newStore();
    let answer!: (jobs: Job[]) => void;
    const batch = vi.fn(() => new Promise<Job[]>((resolve) => (answer = resolve)));
    const emitted: Job[] = [];
    const subscription = pull(batch, store).subscribe((job) => emitted.push(job));
    subscription.unsubscribe();
    answer([{ key: 'a', id: 1 }]);
    await settle();
    expect(emitted).toEqual([]);
    expect(batch).toHaveBeenCalledTimes(1);
  });

  it('asks one batch at a time, even when pressure falls while one is on its way', async () => {
    const store = newStore({ highWaterMark: 4 });
    const pending: ((jobs: Job[]) => void)[] = [];
    const demands: number[] = [];
    const batch = (demand: number): Promise<Job[]> => {
      demands.push(demand);
      return new Promise((resolve) => pending.push(resolve));
    };
    const delivery = heldDeliveries(store);
    // A second pipeline over the same store fills it up and drains it.
    const other = new Subject<Job>();
    const otherDelivery = heldDeliveries(store);
    other.pipe(otherDelivery.operator).subscribe();
    pull(batch, store).pipe(delivery.operator).subscribe();
    expect(demands).toEqual([4]);

    for (let n = 1; n <= 4; n++) other.next({ key: `other${n}`, id: 1 });
    expect(store.stats().total).toBe(4);
    otherDelivery.finish(4);
    expect(store.stats().total).toBe(0);
    await settle();
    expect(demands).toEqual([4]);
    pending.shift()!([{ key: 'a', id: 1 }]);
    await settle();
    expect(demands).toEqual([4, 3]);
  });
});

describe('pull: bounded memory', () => {
  it.each(['batch', 'iterable'] as const)(
    'with a %s source, pull asks only while the jobs that can make progress are below highWaterMark, however jobs fail and retry',
    async (kind) => {
      const highWaterMark = 16;
      const store = newStore({ highWaterMark: highWaterMark });
      const all: Job[] = [];
      for (let id = 1; id <= 25; id++) for (let k = 0; k < 12; k++) all.push({ key: `k${k}`, id });
      // Jobs blocked behind a failed job do not count (they are bounded per key by maxHeldPerKey).
      let most = 0;
      const asked = (count: number): void => {
        const { total, blocked } = store.stats();
        most = Math.max(most, total - blocked + count);
      };
      let next = 0;
      const batch = async (demand: number): Promise<Job[] | null> => {
        if (next >= all.length) return null;
        const jobs = all.slice(next, (next += Math.min(demand, 7)));
        asked(jobs.length);
        return jobs;
      };
      async function* cursor(): AsyncGenerator<Job> {
        for (const job of all) {
          asked(1);
          yield job;
        }
      }
      let calls = 0;
      const results = await lastValueFrom(
        pull(kind === 'batch' ? batch : cursor(), store).pipe(
          orderedDelivery(store, {
            // Every third call fails: retries and held jobs stay inside the bound.
            deliver: async (): Promise<DeliveryOutcome> => (++calls % 3 === 0 ? 'failed' : 'succeeded'),
            retryDelay: 1,
            maxAttempts: Infinity,
          }),
          toArray(),
        ),
      );
      expect(results).toHaveLength(all.length);
      expect(most).toBeLessThanOrEqual(highWaterMark);
      expect(most).toBeGreaterThan(highWaterMark / 2);
      expect(store.stats().total).toBe(0);
    },
  );
});

describe('pull: a source that never waits for I/O', () => {
  it.each(['batch', 'iterable'] as const)(
    'regression: a %s source resolving at once starved retry timers until it ended; pull now yields to the scheduler',
    async (kind) => {
      const store = newStore(); // no high-water mark: nothing else would stop the source
      const total = 200_000;
      let pulled = 0;
      const make = (): Job => {
        pulled++;
        return { key: `k${pulled % 1000}`, id: pulled };
      };
      const batch = async (demand: number): Promise<Job[] | null> =>
        pulled >= total ? null : Array.from({ length: Math.min(demand, total - pulled) }, make);
      async function* cursor(): AsyncGenerator<Job> {
        while (pulled < total) yield make();
      }
      let pulledAtFirstRetry: number | undefined;
      const failedOnce = new Set<number>();
      const results = await lastValueFrom(
        pull(kind === 'batch' ? batch : cursor(), store).pipe(
          orderedDelivery(store, {
            deliver: (job, { attempt }): DeliveryOutcome => {
              if (attempt > 1) pulledAtFirstRetry ??= pulled;
              if (job.id % 100 === 0 && !failedOnce.has(job.id)) {
                failedOnce.add(job.id);
                return 'failed';
              }
              return 'succeeded';
            },
            retryDelay: 1,
          }),
          toArray(),
        ),
      );
      expect(results).toHaveLength(total);
      expect(pulledAtFirstRetry).toBeDefined();
      // Retries ran while the source was still being pulled, not after it ended.
      expect(pulledAtFirstRetry!).toBeLessThan(total / 2);
    },
  );
});

describe('pull with an AsyncIterable', () => {
  it('pulls up to the high-water mark, stops there, and resumes at half', async () => {
    const store = newStore({ highWaterMark: 10 });
    const jobs = jobMaker();
    async function* cursor(): AsyncGenerator<Job> {
      for (;;) yield jobs.next();
    }
    const delivery = heldDeliveries(store);
    const subscription = pull(cursor(), store).pipe(delivery.operator).subscribe();
    await settle();
    expect(jobs.made).toBe(10);
    expect(delivery.open).toBe(10);

    delivery.finish(4);
    await settle();
    expect(jobs.made).toBe(10);

    delivery.finish(1);
    await settle();
    expect(jobs.made).toBe(15);
    expect(store.stats().total).toBe(10);
    subscription.unsubscribe();
  });

  it('completes when the iterable is done, after every job is terminal', async () => {
    const store = newStore({ highWaterMark: 3 });
    async function* cursor(): AsyncGenerator<Job> {
      for (let id = 1; id <= 10; id++) yield { key: `k${id % 4}`, id };
    }
    const results = await lastValueFrom(
      pull(cursor(), store).pipe(
        orderedDelivery(store, { deliver: async () => 'succeeded' as const }),
        toArray(),
      ),
    );
    expect(results.map((r) => r.jobId).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('calls return() on unsubscribe, so the cursor is released', async () => {
    const store = newStore({ highWaterMark: 2 });
    let finallyRan = false;
    let produced = 0;
    async function* cursor(): AsyncGenerator<Job> {
      try {
        for (;;) yield { key: `k${++produced}`, id: 1 };
      } finally {
        finallyRan = true;
      }
    }
    const delivery = heldDeliveries(store);
    const subscription = pull(cursor(), store).pipe(delivery.operator).subscribe();
    await settle();
    expect(produced).toBe(2);
    expect(finallyRan).toBe(false);
    subscription.unsubscribe();
    await settle();
    expect(finallyRan).toBe(true);
  });

  it('calls return() of a hand-written iterator on unsubscribe', async () => {
    const store = newStore();
    const returned = vi.fn(async () => ({ done: true as const, value: undefined }));
    const iterable: AsyncIterable<Job> = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<Job>>(() => undefined),
        return: returned,
      }),
    };
    const subscription = pull(iterable, store).subscribe();
    await settle();
    expect(returned).not.toHaveBeenCalled();
    subscription.unsubscribe();
    expect(returned).toHaveBeenCalledTimes(1);
  });

  it('a throwing generator errors the stream', async () => {
    const store = newStore();
    const failure = new Error('cursor lost');
    async function* cursor(): AsyncGenerator<Job> {
      yield { key: 'a', id: 1 };
      throw failure;
    }
    const emitted: Job[] = [];
    await expect(lastValueFrom(pull(cursor(), store).pipe(toArray()))).rejects.toBe(failure);
    pull(cursor(), store).subscribe({ next: (job) => emitted.push(job), error: () => undefined });
    await settle();
    expect(emitted).toEqual([{ key: 'a', id: 1 }]);
  });

  it('an iterator whose next() throws errors the stream instead of hanging', async () => {
    const store = newStore();
    const failure = new Error('next threw');
    const iterable: AsyncIterable<Job> = {
      [Symbol.asyncIterator]: () => ({
        next: () => {
          throw failure;
        },
      }),
    };
    await expect(lastValueFrom(pull(iterable, store))).rejects.toBe(failure);
  }, 2_000);

  it('an iterator whose return() throws does not break unsubscribing', async () => {
    const store = newStore();
    const iterable: AsyncIterable<Job> = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<Job>>(() => undefined),
        return: () => {
          throw new Error('return threw');
        },
      }),
    };
    const subscription = pull(iterable, store).subscribe();
    expect(() => subscription.unsubscribe()).not.toThrow();
    expect(subscription.closed).toBe(true);
  });
});

describe('pull: errors and options', () => {
  it('a rejected batch errors the stream', async () => {
    const failure = new Error('db down');
    await expect(lastValueFrom(pull(() => Promise.reject(failure), newStore()))).rejects.toBe(failure);
  });

  it('a batch function that throws errors the stream', async () => {
    const failure = new Error('bad query');
    const batch = (): Promise<Job[]> => {
      throw failure;
    };
    await expect(lastValueFrom(pull(batch, newStore()))).rejects.toBe(failure);
  });

  it.each([
    ['"rows"', 'rows'],
    ['{"rows":[]}', { rows: [] }],
    ['undefined', undefined],
    ['42', 42],
  ])('a batch resolving to %s errors the stream with a TypeError', async (shown, value) => {
    const error = await lastValueFrom(pull(async () => value as never as Job[], newStore())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe(`pull batch function must resolve to an array or null, got ${shown}`);
  });

  it.each([
    [-1, RangeError],
    [NaN, RangeError],
    [Infinity, RangeError],
    ['10', TypeError],
  ])('rejects pollInterval %s', (pollInterval, type) => {
    expect(() => pull(async () => null, newStore(), { pollInterval: pollInterval as number })).toThrow(type);
    expect(() => pull(async () => null, newStore(), { pollInterval: pollInterval as number })).toThrow(/option pollInterval/);
  });

  it.each([
    [0, RangeError],
    [-1, RangeError],
    [1.5, RangeError],
    [NaN, RangeError],
    [Infinity, RangeError],
    ['10', TypeError],
  ])('rejects batchSize %s', (batchSize, type) => {
    expect(() => pull(async () => null, newStore(), { batchSize: batchSize as number })).toThrow(type);
    expect(() => pull(async () => null, newStore(), { batchSize: batchSize as number })).toThrow(/option batchSize/);
  });

  it.each([undefined, null, 42])('rejects store %s, naming it', (store) => {
    expect(() => pull(async () => null, store as never)).toThrow(TypeError);
    expect(() => pull(async () => null, store as never)).toThrow(/^pull needs a BarrierStore, got /);
  });

  it.each([null, undefined, 42, 'jobs', {}, [1, 2]])('rejects source %s', (source) => {
    expect(() => pull(source as never, newStore())).toThrow(TypeError);
    expect(() => pull(source as never, newStore())).toThrow(/pull source must be an AsyncIterable or a batch function/);
  });

  it('accepts a pollInterval of 0', () => {
    expect(() => pull(async () => null, newStore(), { pollInterval: 0 })).not.toThrow();
  });

  it('polls on the store\'s scheduler', async () => {
    const store = newStore({ scheduler: asyncScheduler });
    const scheduled = vi.spyOn(asyncScheduler, 'schedule');
    const subscription = pull(async () => [], store, { pollInterval: 5 }).subscribe();
    await settle();
    expect(scheduled).toHaveBeenCalledWith(expect.any(Function), 5);
    subscription.unsubscribe();
    scheduled.mockRestore();
  });

  it('errors the stream when an iterator step is not an object, instead of hanging', async () => {
    const store = newStore();
    const source: AsyncIterable<Job> = {
      [Symbol.asyncIterator]: () => ({ next: async () => undefined as unknown as IteratorResult<Job> }),
    };
    const error = await lastValueFrom(pull(source, store)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe("pull iterator's next() must resolve to an IteratorResult, got undefined");
  });
});

describe('pull: several pulls sharing one store', () => {
  it('keeps two pulls on one store together at or below its highWaterMark', async () => {
    const store = newStore({ highWaterMark: 10 });
    let next = 0;
    let most = 0;
    const batch = async (demand: number): Promise<Job[]> => Array.from({ length: demand }, () => job(`k${next}`, next++));
    const watcher = store.pressure$.subscribe(() => (most = Math.max(most, store.stats().total)));
    const subscription = merge(pull(batch, store), pull(batch, store))
      .pipe(orderedDelivery(store, { deliver: () => NEVER }))
      .subscribe();
    await new Promise((resolve) => setTimeout(resolve, 50));
    most = Math.max(most, store.stats().total);
    subscription.unsubscribe();
    watcher.unsubscribe();
    expect(most).toBe(10);
    expect(next).toBe(10);
  });

  it('does not starve a second pull on one store while an idle pull has the room out', async () => {
    const store = newStore({ highWaterMark: 10 });
    const idle = pull<Job>(async () => [], store, { pollInterval: 5 });
    let calls = 0;
    const busy = pull<Job>(async () => (calls++ === 0 ? [job('k', 1)] : []), store, { pollInterval: 5 });
    const results: number[] = [];
    const subscription = merge(idle, busy)
      .pipe(orderedDelivery(store, { deliver: () => 'succeeded' }))
      .subscribe((result) => results.push(result.jobId));
    await new Promise((resolve) => setTimeout(resolve, 200));
    subscription.unsubscribe();
    expect(calls).toBeGreaterThan(0);
    expect(results).toEqual([1]);
  });
});
