import { marbles } from 'rxjs-marbles';
import { describe, expect, it, vi } from 'vitest';
import type { JobStatus } from '../../src/index.js';
import { barrierEnter } from '../../src/operators/index.js';
import { DRAIN_LIMIT, HOLDS_BEHIND_A_FAILED_JOB, MANUAL_SYNC, NEVER_OVERTAKES, PAUSE_RESUME } from '../diagrams.js';
import { admissions, deliveryPipeline, withDescribedError, job, newStore, type Job } from '../support/barrier-pipeline.js';
import { playPipeline } from '../support/diagram-player.js';

// Every diagram below runs the pipeline of reactive.md:
//   source → barrierEnter → concatMapByKey(barrierWait → attempt → barrierState)
// One character is one frame (1 ms of virtual time); each attempt takes 2
// frames and reports the job's next scripted outcome; retryDelay is 5 frames
// unless the test says otherwise. `admitted` is what barrierEnter emits.
// The canonical diagrams live in ./diagrams.ts, drawn in docs/marbles/.

const a = job('k', 1, 'fs');
const b = job('k', 2);
const c = job('k', 3);
const x = job('j', 1);

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
      playPipeline(m, HOLDS_BEHIND_A_FAILED_JOB);
    }),
  );

  it(
    'never lets a job overtake a held job of its own key, while other keys go on',
    marbles((m) => {
      const { store } = playPipeline(m, NEVER_OVERTAKES);
      const reasons: string[] = [];
      store.events$.subscribe((event) => {
        if (event.type === 'held') reasons.push(`${event.key}#${event.jobId} ${event.reason}`);
      });
      m.flush();
      // b is rejected by the barrier; c, which the barrier alone would also
      // reject, is held because b is.
      expect(reasons).toEqual(['k#2 rejected', 'k#3 behind']);
    }),
  );

  it(
    'releases held jobs only when store.sync() is called, with sync: manual',
    marbles((m) => {
      const { calls } = playPipeline(m, MANUAL_SYNC);
      m.flush();
      // One command (k#1 succeeded) was queued until the sync at 15 applied it.
      expect(calls).toEqual([{ at: 15, call: 'sync', queuedBefore: 1, returned: 1 }]);
    }),
  );

  it(
    'lets one job of a key through at a time after an abort, with the drain limit (concurrencyLimit 1)',
    marbles((m) => {
      playPipeline(m, DRAIN_LIMIT);
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
      playPipeline(m, PAUSE_RESUME);
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
  });
});
