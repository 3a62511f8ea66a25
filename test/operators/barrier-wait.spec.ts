import { marbles } from 'rxjs-marbles';
import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { barrierWait } from '../../src/operators/index.js';
import { DIVERTS_AND_READMITS } from '../diagrams.js';
import { deliveryPipeline, withDescribedError, job, newStore } from '../support/barrier-pipeline.js';
import { playPipeline } from '../support/diagram-player.js';

// The diagrams run the pipeline of reactive.md:
//   source → barrierEnter → concatMapByKey(barrierWait → attempt → barrierState)
// One character is one frame; each attempt takes 2 frames; retryDelay is 5.
// `admitted` is what barrierEnter emits, `sent` what barrierWait lets through.
// The canonical diagrams live in ./diagrams.ts, drawn in docs/marbles/.

const a = job('k', 1, 'fs');
const b = job('k', 2);

describe('barrierWait', () => {
  it(
    'passes jobs that need not wait',
    marbles((m) => {
      const store = newStore(m.scheduler);
      const values = { a: job('k', 1), b: job('j', 1), c: job('k', 2) };
      m.expect(m.cold('-a-b-c|', values).pipe(barrierWait(store))).toBeObservable('-a-b-c|', values);
      m.flush();
      expect(store.stats()).toMatchObject({ held: 0, total: 0, keys: 0 });
    }),
  );

  it(
    "diverts a job whose key's earlier job failed after it was admitted, reports it waiting, and re-admits it after that job succeeded",
    marbles((m) => {
      playPipeline(m, DIVERTS_AND_READMITS);
    }),
  );

  it(
    'reports the diverted job to the barrier as waiting, queued for the next sync',
    marbles((m) => {
      const store = newStore(m.scheduler, { retryDelay: 5, sync: 'manual' });
      const pipeline = deliveryPipeline(store, m.cold(DIVERTS_AND_READMITS.source, { a, b }), m.scheduler);
      m.expect(pipeline.sent$, '^-----!').toBeObservable('-a', { a });
      m.expect(pipeline.settled$, '^-----!').toBeObservable('---f', { f: { job: a, state: 'failed' } });
      let snapshot = store.barrier.snapshot();
      let stats = store.stats();
      m.scheduler.schedule(() => {
        snapshot = store.barrier.snapshot();
        stats = store.stats();
      }, 5);
      m.flush();
      expect(snapshot.queue).toEqual([{ key: 'k', jobId: 2, state: 'waiting' }]);
      expect(stats).toMatchObject({ held: 1, retrying: 1, admitted: 0 });
    }),
  );

  it(
    'lets the failed job itself through on its retry, before later jobs of its key',
    marbles((m) => {
      const store = newStore(m.scheduler, { retryDelay: 5 });
      const values = { a: job('k', 1, 'ffs'), b };
      const pipeline = deliveryPipeline(store, m.cold('-(ab)|', values), m.scheduler);
      // a fails at 3 and 10, is sent at 1, 8 and 15; b only after a succeeded at 17.
      m.expect(pipeline.sent$).toBeObservable('-a------a------a-b-|', values);
      m.expect(pipeline.settled$.pipe(map((status) => `${status.job.id}:${status.state}`))).toBeObservable('---f------f------s-(t|)', {
        f: '1:failed',
        s: '1:succeeded',
        t: '2:succeeded',
      });
    }),
  );

  describe('errors', () => {
    it(
      "errors with IllegalJobSequenceError (at wait) when a job older than its key's failed job reaches it",
      marbles((m) => {
        const store = newStore(m.scheduler);
        store.barrier.stateChanged('k', 2, 'failed');
        const values = { a: job('k', 2), b: job('k', 1) };
        m.expect(withDescribedError(m.cold('-a-b|', values).pipe(barrierWait(store)))).toBeObservable(
          '-a-#',
          values,
          'IllegalJobSequenceError: illegal job sequence at wait: job 1 of key "k" came after its failed job 2',
        );
      }),
    );

    it(
      'errors naming the job when the key selector returns something other than a string',
      marbles((m) => {
        const store = newStore(m.scheduler, { key: (value) => (value.id === 2 ? (null as unknown as string) : value.key) });
        const values = { a: job('k', 1), b: job('k', 2) };
        m.expect(withDescribedError(m.cold('-a-b|', values).pipe(barrierWait(store)))).toBeObservable(
          '-a-#',
          values,
          'TypeError: key must be a string, got null for job {"key":"k","id":2,"outcomes":"s","latency":2}',
        );
      }),
    );

    it(
      'errors naming the job when a job that must wait was never admitted by the store',
      marbles((m) => {
        const store = newStore(m.scheduler);
        store.barrier.stateChanged('k', 1, 'failed');
        const values = { a: job('k', 2) };
        m.expect(withDescribedError(m.cold('-a|', values).pipe(barrierWait(store)))).toBeObservable(
          '-#',
          values,
          'Error: job 2 of key "k" ({"key":"k","id":2,"outcomes":"s","latency":2}) is not admitted in this store: ' +
            'it did not pass barrierEnter, or its outcome was already reported',
        );
        m.flush();
        // The failed call changed nothing.
        expect(store.barrier.pending).toBe(0);
        expect(store.stats()).toMatchObject({ held: 0, keys: 0 });
      }),
    );
  });
});

