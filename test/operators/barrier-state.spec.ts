import { marbles } from 'rxjs-marbles';
import { of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { BarrierStoreEvent, JobState, JobStatus } from '../../src/index.js';
import { barrierEnter, barrierState } from '../../src/operators/index.js';
import { DEFAULT_RETRY_DELAY, RETRIED_BEFORE_LATER_JOBS } from '../diagrams.js';
import { admissions, deliveryPipeline, withDescribedError, job, newStore, type Job } from '../support/barrier-pipeline.js';
import { playPipeline } from '../support/diagram-player.js';

// The diagrams run the pipeline of reactive.md:
//   source → barrierEnter → concatMapByKey(barrierWait → attempt → barrierState)
// One character is one frame; each attempt takes 2 frames. `admitted` is what
// barrierEnter emits, `settled` what barrierState passes on (f failed,
// s succeeded, t the later job succeeded). The canonical diagrams live in
// ./diagrams.ts, drawn in docs/marbles/.

const a = job('k', 1, 'fs');
const b = job('k', 2);
const status = (value: Job, state: JobState): JobStatus<Job> => ({ job: value, state });

describe('barrierState', () => {
  it(
    'reports each status to the barrier and passes it on',
    marbles((m) => {
      const store = newStore(m.scheduler, { retryDelay: 5 });
      const pipeline = deliveryPipeline(store, m.cold('-a|', { a }), m.scheduler);
      m.expect(pipeline.settled$).toBeObservable('---f------(s|)', { f: status(a, 'failed'), s: status(a, 'succeeded') });
      let failedJob: number | undefined;
      m.scheduler.schedule(() => (failedJob = store.barrier.peek('k')), 4);
      m.flush();
      expect(failedJob).toBe(1);
      expect(store.barrier.size).toBe(0);
    }),
  );

  it(
    'retries a failed job after the retry delay, before the later jobs of its key',
    marbles((m) => {
      playPipeline(m, RETRIED_BEFORE_LATER_JOBS);
    }),
  );

  it(
    'retries after the default retry delay, 100 ms for the first failure',
    marbles((m) => {
      playPipeline(m, DEFAULT_RETRY_DELAY);
    }),
  );

  it(
    'keeps the retry timer with the entrance: it fires after the barrierState that reported the failure is gone',
    marbles((m) => {
      const store = newStore(m.scheduler, { retryDelay: 5 });
      const plain = job('k', 1);
      // The entrance alone; outcomes are reported from short-lived barrierState subscriptions.
      m.expect(m.cold('-a|', { a: plain }).pipe(barrierEnter(store))).toBeObservable('-a-----a-|', { a: plain });
      m.scheduler.schedule(() => of(status(plain, 'failed')).pipe(barrierState(store)).subscribe(), 2);
      m.scheduler.schedule(() => of(status(plain, 'succeeded')).pipe(barrierState(store)).subscribe(), 9);
    }),
  );

  it(
    'treats succeeded, aborted and filtered as terminal: the jobs are forgotten and the entrance completes',
    marbles((m) => {
      const store = newStore(m.scheduler);
      const terminal: string[] = [];
      store.events$.subscribe((event: BarrierStoreEvent<Job>) => {
        if (event.type === 'terminal') terminal.push(`${event.key}#${event.jobId} ${event.state} after ${event.attempts}`);
      });
      const values = { a: job('k', 1, 's'), b: job('j', 1, 'a'), c: job('i', 1, 'x') };
      const pipeline = deliveryPipeline(store, m.cold('-abc|', values), m.scheduler);
      m.expect(pipeline.admitted$).toBeObservable('-abc-|', values);
      m.expect(pipeline.settled$).toBeObservable('---ab(c|)', {
        a: status(values.a, 'succeeded'),
        b: status(values.b, 'aborted'),
        c: status(values.c, 'filtered'),
      });
      m.flush();
      expect(terminal).toEqual(['k#1 succeeded after 1', 'j#1 aborted after 1', 'i#1 filtered after 1']);
      expect(store.stats()).toMatchObject({ held: 0, retrying: 0, admitted: 0, keys: 0, records: 0 });
    }),
  );

  it(
    'counts attempts across retries in the terminal event',
    marbles((m) => {
      const store = newStore(m.scheduler, { retryDelay: 1 });
      const attempts: number[] = [];
      store.events$.subscribe((event) => {
        if (event.type === 'terminal') attempts.push(event.attempts);
      });
      const retried = job('k', 1, 'ffa');
      m.expect(admissions(store, m.cold('-a|', { a: retried }), m.scheduler)).toBeObservable('-a--a--a-|', { a: retried });
      m.flush();
      expect(attempts).toEqual([3]);
    }),
  );

  it(
    'hands a job reported waiting back to its entrance, which re-admits it at the next sync',
    marbles((m) => {
      // Regression: with no barrier record, `waiting` queued nothing, so no
      // sync ever re-tried the key and the job stayed held for good.
      const store = newStore(m.scheduler);
      const values = { a: job('k', 1, 'ws'), b };
      const pipeline = deliveryPipeline(store, m.cold('-a--b|', values), m.scheduler);
      m.expect(pipeline.admitted$).toBeObservable('-a-ab--|', values);
      m.expect(pipeline.settled$).toBeObservable('---w-s-(t|)', {
        w: status(values.a, 'waiting'),
        s: status(values.a, 'succeeded'),
        t: status(b, 'succeeded'),
      });
    }),
  );

  it(
    'with sync: manual, re-admits a job reported waiting only when store.sync() is called',
    marbles((m) => {
      const store = newStore(m.scheduler, { sync: 'manual' });
      const values = { a: job('k', 1, 'ws') };
      m.expect(admissions(store, m.cold('-a|', values), m.scheduler)).toBeObservable('-a-------a-|', values);
      m.scheduler.schedule(() => store.sync(), 9);
    }),
  );

  describe('errors', () => {
    it(
      'errors with UnsupportedStateError naming the job, and changes nothing',
      marbles((m) => {
        const store = newStore(m.scheduler);
        const plain = job('k', 1);
        m.expect(m.cold('-a', { a: plain }).pipe(barrierEnter(store))).toBeObservable('-a', { a: plain });
        const reports = m.cold('--x|', { x: { job: plain, state: 'executing' as JobState } });
        m.expect(withDescribedError(reports.pipe(barrierState(store)))).toBeObservable(
          '--#',
          {},
          `UnsupportedStateError: unsupported job state "executing" for job {"key":"k","id":1,"outcomes":"s","latency":2}: ` +
            `expected one of 'succeeded', 'failed', 'aborted', 'waiting', 'filtered'`,
        );
        m.flush();
        expect(store.stats()).toMatchObject({ admitted: 1, records: 0, queued: 0 });
      }),
    );

    it(
      "errors with IllegalJobSequenceError (at job_failed) when a job older than its key's failed job fails, and changes nothing",
      marbles((m) => {
        const store = newStore(m.scheduler, { retryDelay: 100 });
        const values = { a: job('k', 1), b: job('k', 2) };
        // b is re-admitted for its retry at 102; a is still admitted.
        m.expect(m.cold('-(ab)', values).pipe(barrierEnter(store))).toBeObservable('-(ab) 97ms b', values);
        const reports = m.cold('--x-y|', { x: status(values.b, 'failed'), y: status(values.a, 'failed') });
        m.expect(withDescribedError(reports.pipe(barrierState(store)))).toBeObservable(
          '--x-#',
          { x: status(values.b, 'failed') },
          'IllegalJobSequenceError: illegal job sequence at job_failed: job 1 of key "k" came after its failed job 2',
        );
        let stats = store.stats();
        m.scheduler.schedule(() => (stats = store.stats()), 5);
        m.flush();
        expect(stats).toMatchObject({ admitted: 1, retrying: 1 });
        expect(store.barrier.peek('k')).toBe(2);
      }),
    );

    it(
      'errors naming the job when its outcome is reported for a job the store never admitted',
      marbles((m) => {
        const store = newStore(m.scheduler);
        const stranger = job('k', 7);
        m.expect(withDescribedError(m.cold('-x|', { x: status(stranger, 'failed') }).pipe(barrierState(store)))).toBeObservable(
          '-#',
          {},
          'Error: job 7 of key "k" ({"key":"k","id":7,"outcomes":"s","latency":2}) is not admitted in this store: ' +
            'it did not pass barrierEnter, or its outcome was already reported',
        );
        m.flush();
        expect(store.barrier.size).toBe(0);
      }),
    );

    it(
      'errors with a RangeError when retryDelay returns an invalid delay, and changes nothing',
      marbles((m) => {
        // Regression: the failure was applied and the job taken out of the
        // store's bookkeeping before the delay was computed, so the throw lost
        // the job (its entrance could never complete).
        const store = newStore(m.scheduler, { retryDelay: () => -1 });
        const plain = job('k', 1);
        m.expect(m.cold('-a', { a: plain }).pipe(barrierEnter(store))).toBeObservable('-a', { a: plain });
        m.expect(withDescribedError(m.cold('--x|', { x: status(plain, 'failed') }).pipe(barrierState(store)))).toBeObservable(
          '--#',
          {},
          `RangeError: retryDelay(1) must return a non-negative finite number of milliseconds, got -1 for job ${JSON.stringify(plain)}`,
        );
        m.flush();
        expect(store.stats()).toMatchObject({ admitted: 1, retrying: 0, held: 0 });
        expect(store.barrier.peek('k')).toBeUndefined();
      }),
    );
  });
});
