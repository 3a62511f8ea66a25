import { marbles } from 'rxjs-marbles';
import { catchError, throwError, type Observable } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import type { JobStatus } from '../src/index.js';
import { barrierEnter } from '../src/operators/barrier-enter.js';
import { admissions, deliveryPipeline, describeError, job, newStore, type Job } from './support/barrier-pipeline.js';

// Every diagram below runs the pipeline of reactive.md:
//   source → barrierEnter → concatMapByKey(barrierWait → attempt → barrierState)
// One character is one frame (1 ms of virtual time); each attempt takes 2
// frames and reports the job's next scripted outcome; retryDelay is 5 frames
// unless the test says otherwise. `admitted` is what barrierEnter emits.

/** Canonical: a later job of a key waits for the key's failed job to be retried. */
const HOLDS_BEHIND_A_FAILED_JOB = {
  // a: k#1, fails once, then succeeds     b: k#2
  source: '  -a--b|',
  admitted: '-a------a-b-|',
  // a fails at 3 and is re-admitted at 8 (3 + retryDelay 5); b arrives at 4,
  // is held, and is released at 10, when a's success has been synced.
};

/** Canonical: a job never overtakes a held job of its own key; other keys flow. */
const NEVER_OVERTAKES = {
  // a: k#1, fails once, then succeeds     b: k#2     c: k#3     x: j#1
  source: '  -a--bcx|',
  admitted: '-a----x-a-(bc)|',
};

/** Canonical: with sync 'manual', nothing held is released until store.sync(). */
const MANUAL_SYNC = {
  // a: k#1, fails once, then succeeds     b: k#2     store.sync() at frame 15
  source: '  -a--b|',
  admitted: '-a------a------b-|',
  // a's retry needs no sync (its failure was applied at once); its success
  // is only queued at 10, so b waits for the sync at 15.
};

/** Canonical: after an abort, the drain limit lets one job of the key through at a time. */
const DRAIN_LIMIT = {
  // a: k#1, fails, then is aborted     b: k#2     c: k#3     concurrencyLimit 1
  source: '  -a--bc|',
  admitted: '-a------a-b-c-|',
  // a is aborted at 10: b goes; c waits until b has succeeded (12).
};

/** Canonical: a paused key admits nothing until resumed; the entrance stays open meanwhile. */
const PAUSE_RESUME = {
  // a: k#1     b: k#2     x: j#1     store.pause('k') before, store.resume('k') at frame 8
  source: '  -a-b-x|',
  admitted: '-----x--(ab)|',
};

const a = job('k', 1, 'fs');
const b = job('k', 2);
const c = job('k', 3);
const x = job('j', 1);

/** The error a stream ended with, as `name: message`, so it can be a marble value. */
function withDescribedError<T>(source$: Observable<T>): Observable<T> {
  return source$.pipe(catchError((error: unknown) => throwError(() => describeError(error))));
}

describe('barrierEnter', () => {
  it(
    'admits jobs the barrier accepts at once, and completes once every job is terminal',
    marbles((m) => {
      const store = newStore(m.scheduler);
      const values = { a: job('k', 1), b: job('j', 1), c: job('k', 2) };
      const pipeline = deliveryPipeline(store, m.cold('-a-b-c|', values), m.scheduler);
      m.expect(pipeline.admitted$).toBeObservable('-a-b-c-|', values);
      m.expect(pipeline.settled$.pipe(withDescribedError)).toBeObservable('---a-b-(c|)', {
        a: { job: values.a, state: 'succeeded' },
        b: { job: values.b, state: 'succeeded' },
        c: { job: values.c, state: 'succeeded' },
      } as Record<string, JobStatus<Job>>);
    }),
  );

  it(
    "holds a later job of a key while the key's failed job waits for its retry, and releases it after the retry succeeded",
    marbles((m) => {
      const store = newStore(m.scheduler, { retryDelay: 5 });
      const pipeline = deliveryPipeline(store, m.cold(HOLDS_BEHIND_A_FAILED_JOB.source, { a, b }), m.scheduler);
      m.expect(pipeline.admitted$).toBeObservable(HOLDS_BEHIND_A_FAILED_JOB.admitted, { a, b });
      m.expect(pipeline.settled$).toBeObservable('---f------s-(t|)', {
        f: { job: a, state: 'failed' },
        s: { job: a, state: 'succeeded' },
        t: { job: b, state: 'succeeded' },
      } as Record<string, JobStatus<Job>>);
    }),
  );

  it(
    'never lets a job overtake a held job of its own key, while other keys go on',
    marbles((m) => {
      const store = newStore(m.scheduler, { retryDelay: 5 });
      const reasons: string[] = [];
      store.events$.subscribe((event) => {
        if (event.type === 'held') reasons.push(`${event.key}#${event.jobId} ${event.reason}`);
      });
      const values = { a, b, c, x };
      const pipeline = deliveryPipeline(store, m.cold(NEVER_OVERTAKES.source, values), m.scheduler);
      m.expect(pipeline.admitted$).toBeObservable(NEVER_OVERTAKES.admitted, values);
      m.expect(pipeline.settled$.pipe(withDescribedError)).toBeObservable('---f----y-s-b-(c|)', {
        f: { job: a, state: 'failed' },
        y: { job: x, state: 'succeeded' },
        s: { job: a, state: 'succeeded' },
        b: { job: b, state: 'succeeded' },
        c: { job: c, state: 'succeeded' },
      } as Record<string, JobStatus<Job>>);
      m.flush();
      // b is rejected by the barrier; c, which the barrier alone would also
      // reject, is held because b is.
      expect(reasons).toEqual(['k#2 rejected', 'k#3 behind']);
    }),
  );

  it(
    'releases held jobs only when store.sync() is called, with sync: manual',
    marbles((m) => {
      const store = newStore(m.scheduler, { retryDelay: 5, sync: 'manual' });
      const pipeline = deliveryPipeline(store, m.cold(MANUAL_SYNC.source, { a, b }), m.scheduler);
      m.expect(pipeline.admitted$).toBeObservable(MANUAL_SYNC.admitted, { a, b });
      m.expect(pipeline.settled$).toBeObservable('---f------s------(t|)', {
        f: { job: a, state: 'failed' },
        s: { job: a, state: 'succeeded' },
        t: { job: b, state: 'succeeded' },
      } as Record<string, JobStatus<Job>>);
      let queuedBeforeSync = -1;
      m.scheduler.schedule(() => {
        queuedBeforeSync = store.stats().queued;
        expect(store.sync()).toBe(1);
      }, 15);
      m.flush();
      expect(queuedBeforeSync).toBe(1);
    }),
  );

  it(
    'lets one job of a key through at a time after an abort, with the drain limit (concurrencyLimit 1)',
    marbles((m) => {
      const aborted = job('k', 1, 'fa');
      const store = newStore(m.scheduler, { retryDelay: 5, concurrencyLimit: 1 });
      m.expect(admissions(store, m.cold(DRAIN_LIMIT.source, { a: aborted, b, c }), m.scheduler)).toBeObservable(DRAIN_LIMIT.admitted, {
        a: aborted,
        b,
        c,
      });
    }),
  );

  it(
    'releases every held job of a key at once after an abort when the drain limit is off (concurrencyLimit 0)',
    marbles((m) => {
      const aborted = job('k', 1, 'fa');
      const store = newStore(m.scheduler, { retryDelay: 5 });
      m.expect(admissions(store, m.cold(DRAIN_LIMIT.source, { a: aborted, b, c }), m.scheduler)).toBeObservable('-a------a-(bc)|', {
        a: aborted,
        b,
        c,
      });
    }),
  );

  it(
    'admits nothing of a paused key until it is resumed, then releases its jobs in id order',
    marbles((m) => {
      const values = { a: job('k', 1), b, x };
      const store = newStore(m.scheduler);
      store.pause('k');
      m.expect(admissions(store, m.cold(PAUSE_RESUME.source, values), m.scheduler)).toBeObservable(PAUSE_RESUME.admitted, values);
      m.scheduler.schedule(() => store.resume('k'), 8);
    }),
  );

  it(
    'stays open after its source completed while it holds jobs',
    marbles((m) => {
      const values = { a: job('k', 1), b, x };
      const store = newStore(m.scheduler);
      store.pause('k');
      const pipeline = deliveryPipeline(store, m.cold('-a-b-x|', values), m.scheduler);
      // No `|`: the source completed at 6, but a and b are still held.
      m.expect(pipeline.admitted$).toBeObservable('-----x', values);
      m.expect(pipeline.settled$, '^ 30ms !').toBeObservable('-------y', { y: { job: x, state: 'succeeded' } as JobStatus<Job> });
      let held = -1;
      m.scheduler.schedule(() => (held = store.stats().held), 30);
      m.flush();
      expect(held).toBe(2);
    }),
  );

  it(
    'on unsubscribe, drops held jobs, cancels retry timers and pending syncs, and calls leave for admitted unfinished jobs',
    marbles((m) => {
      // keyThreshold > 0 makes the barrier record running ids, so there is something to leave.
      const store = newStore(m.scheduler, { retryDelay: 5, keyThreshold: 10 });
      const leave = vi.spyOn(store.barrier, 'leave');
      const slow = job('j', 1, 's', 10);
      const values = { a, b, y: slow };
      const pipeline = deliveryPipeline(store, m.cold('-a-yb|', values), m.scheduler);
      m.expect(pipeline.admitted$).toBeObservable('-a-y', values);
      // Unsubscribed at 6: a waits for its retry (due at 8), b is held, y is running.
      m.expect(pipeline.settled$, '^-----!').toBeObservable('---f', { f: { job: a, state: 'failed' } as JobStatus<Job> });
      let pendingActions = -1;
      let stats = store.stats();
      m.scheduler.schedule(() => {
        pendingActions = m.scheduler.actions.length;
        stats = store.stats();
      }, 6);
      m.flush();
      expect(pendingActions).toBe(0);
      expect(leave.mock.calls).toEqual([['j', 1]]);
      expect(stats).toMatchObject({ held: 0, retrying: 0, admitted: 0, total: 0, keys: 0, entrances: 0 });
      // The failed job stays recorded: it blocks its key until it is entered again.
      expect(store.barrier.peek('k')).toBe(1);
      expect(store.barrier.has('j')).toBe(false);
    }),
  );

  describe('errors', () => {
    it(
      'errors naming the job when the key selector returns something other than a string',
      marbles((m) => {
        const store = newStore(m.scheduler, { key: (value) => (value.id === 2 ? (42 as unknown as string) : value.key) });
        const values = { a: job('k', 1), b };
        m.expect(withDescribedError(admissions(store, m.cold('-a-b|', values), m.scheduler))).toBeObservable(
          '-a-#',
          values,
          'TypeError: key must be a string, got 42 for job {"key":"k","id":2,"outcomes":"s","latency":2}',
        );
      }),
    );

    it(
      'errors naming the job when the job id selector returns an unsafe integer',
      marbles((m) => {
        const store = newStore(m.scheduler, { jobId: (value) => (value.id === 2 ? 2 ** 53 : value.id) });
        const values = { a: job('k', 1), b };
        m.expect(withDescribedError(admissions(store, m.cold('-a-b|', values), m.scheduler))).toBeObservable(
          '-a-#',
          values,
          'RangeError: job id must be a safe integer, got 9007199254740992 for job {"key":"k","id":2,"outcomes":"s","latency":2}',
        );
      }),
    );

    it(
      'errors with a TypeError naming the job when a selector throws, the thrown error as its cause',
      marbles((m) => {
        const thrown = new Error('no key on this job');
        const store = newStore(m.scheduler, {
          key: (value) => {
            if (value.id === 2) throw thrown;
            return value.key;
          },
        });
        const values = { a: job('k', 1), b };
        const expected = new TypeError(`the key selector threw for job ${JSON.stringify(b)}: no key on this job`, { cause: thrown });
        m.expect(m.cold('-a-b|', values).pipe(barrierEnter(store))).toBeObservable('-a-#', values, expected);
      }),
    );

    it(
      "errors with IllegalJobSequenceError when a job older than its key's failed job arrives",
      marbles((m) => {
        const failing = job('k', 2, 'fs');
        const older = job('k', 1);
        const store = newStore(m.scheduler, { retryDelay: 5 });
        m.expect(withDescribedError(admissions(store, m.cold('-a--b|', { a: failing, b: older }), m.scheduler))).toBeObservable(
          '-a--#',
          { a: failing },
          'IllegalJobSequenceError: illegal job sequence at enter: job 1 of key "k" came after its failed job 2',
        );
      }),
    );

    it(
      'errors with HeldJobsOverflowError naming the key and the job when a key holds maxHeldPerKey jobs and there is no onOverflow',
      marbles((m) => {
        const store = newStore(m.scheduler, { retryDelay: 5, maxHeldPerKey: 1 });
        m.expect(withDescribedError(admissions(store, m.cold('-a--bc|', { a, b, c }), m.scheduler))).toBeObservable(
          '-a---#',
          { a },
          'HeldJobsOverflowError: key "k" already holds 1 jobs (maxHeldPerKey); ' +
            'job {"key":"k","id":3,"outcomes":"s","latency":2} does not fit: pass onOverflow to park such jobs',
        );
      }),
    );

    it(
      'hands the job over maxHeldPerKey to onOverflow instead, and goes on',
      marbles((m) => {
        const overflowed: Job[] = [];
        const store = newStore(m.scheduler, { retryDelay: 5, maxHeldPerKey: 1, onOverflow: (value) => overflowed.push(value) });
        m.expect(admissions(store, m.cold('-a--bc|', { a, b, c }), m.scheduler)).toBeObservable('-a------a-b-|', { a, b });
        m.flush();
        expect(overflowed).toEqual([c]);
      }),
    );
  });
});
