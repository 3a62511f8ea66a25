import { map, of, Subject, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { BarrierStore, type JobState, type JobStatus } from '../../src/index.js';
import { barrierEnter, barrierState, barrierWait, concatMapByKey, orderedDelivery } from '../../src/operators/index.js';

interface Job {
  key: string;
  id: number;
}

const job = (key: string, id: number): Job => ({ key, id });

function newStore(scheduler: VirtualTimeScheduler, maxAttempts?: number): BarrierStore<Job> {
  return new BarrierStore<Job>({
    key: (value) => value.key,
    jobId: (value) => value.id,
    scheduler,
    retryDelay: 1,
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  });
}

describe('one maxAttempts, applied by the store on every path', () => {
  it('barrierState passes the failed attempt numbered the store\'s maxAttempts on as aborted, and the key moves on', () => {
    const scheduler = new VirtualTimeScheduler();
    const store = newStore(scheduler, 3);
    const source = new Subject<Job>();
    const statuses: string[] = [];
    source
      .pipe(
        barrierEnter(store),
        concatMapByKey(
          (value) => value.key,
          (value) =>
            of(value).pipe(
              barrierWait(store),
              map((sent): JobStatus<Job> => ({ job: sent, state: (sent.id === 1 ? 'failed' : 'succeeded') as JobState })),
              barrierState(store),
            ),
        ),
      )
      .subscribe((status) => statuses.push(`${status.job.id}:${status.state}`));
    source.next(job('k', 1));
    source.next(job('k', 2));
    scheduler.flush();
    expect(statuses).toEqual(['1:failed', '1:failed', '1:aborted', '2:succeeded']);
    expect(store.stats()).toMatchObject({ total: 0, held: 0 });
  });

  it('without maxAttempts on the store, barrierState retries a failing job without end', () => {
    const scheduler = new VirtualTimeScheduler();
    scheduler.maxFrames = 50;
    const store = newStore(scheduler);
    const source = new Subject<Job>();
    let failures = 0;
    source
      .pipe(
        barrierEnter(store),
        concatMapByKey(
          (value) => value.key,
          (value) => of(value).pipe(barrierWait(store), map((sent): JobStatus<Job> => ({ job: sent, state: 'failed' })), barrierState(store)),
        ),
      )
      .subscribe((status) => status.state === 'failed' && failures++);
    source.next(job('k', 1));
    scheduler.flush();
    expect(failures).toBeGreaterThan(20);
  });

  it('orderedDelivery takes the store\'s maxAttempts when the store sets one', () => {
    const scheduler = new VirtualTimeScheduler();
    const store = newStore(scheduler, 2);
    const results: string[] = [];
    const attempts: number[] = [];
    of(job('k', 1))
      .pipe(orderedDelivery(store, { deliver: (_value, { attempt }) => (attempts.push(attempt), 'failed') }))
      .subscribe((result) => results.push(`${result.jobId}:${result.state}:${result.attempts}`));
    scheduler.flush();
    expect(attempts).toEqual([1, 2]);
    expect(results).toEqual(['1:aborted:2']);
  });

  it('orderedDelivery\'s own maxAttempts overrides the store\'s', () => {
    const scheduler = new VirtualTimeScheduler();
    const store = newStore(scheduler, 2);
    const results: string[] = [];
    of(job('k', 1))
      .pipe(orderedDelivery(store, { deliver: () => 'failed', maxAttempts: 4 }))
      .subscribe((result) => results.push(`${result.jobId}:${result.state}:${result.attempts}`));
    scheduler.flush();
    expect(results).toEqual(['1:aborted:4']);
  });

  it('rejects a maxAttempts below 1 naming the option', () => {
    expect(() => newStore(new VirtualTimeScheduler(), 0)).toThrow(new RangeError('option maxAttempts must be a positive safe integer or Infinity, got 0'));
  });
});
