// Behaviour: the retry policy that serves webhooks, in virtual time on the
// store's scheduler: retryDelay(attempt, error, job), jitter (full, equal,
// with an injected random and within its bounds), and a failed outcome's
// retryAfter, which replaces retryDelay and is a minimum jitter never shortens.
import { of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { barrierState, orderedDelivery, type BarrierStoreEvent, type BarrierStoreOptions, type DeliveryReport } from '../../src/index.js';
import { job, newStore, type Job } from '../support/jobs.js';
import { advanceTo, Entry, newScheduler, report } from '../support/store-harness.js';

/** Runs job a#1 through orderedDelivery with `reports` as its attempts' outcomes; returns the retryIn of each failure and when each attempt started. */
function run(options: Partial<BarrierStoreOptions<Job>>, reports: DeliveryReport[], deliveryOptions: { jitter?: 'none' | 'full' | 'equal' } = {}) {
  const scheduler = newScheduler();
  const store = newStore({ scheduler, ...options });
  const retryIns: number[] = [];
  const starts: number[] = [];
  store.events$.subscribe((event: BarrierStoreEvent<Job>) => {
    if (event.type === 'failed') retryIns.push(event.retryIn);
  });
  of(job('a', 1))
    .pipe(
      orderedDelivery(store, {
        maxAttempts: reports.length,
        ...deliveryOptions,
        deliver: (_job, { attempt }) => {
          starts.push(scheduler.now());
          return of(reports[attempt - 1]!);
        },
      }),
    )
    .subscribe();
  advanceTo(scheduler, 1_000_000);
  return { retryIns, starts };
}

describe('retry policy', () => {
  it('calls retryDelay with the failed attempt, its error and the job', () => {
    const scheduler = newScheduler();
    const calls: unknown[][] = [];
    const store = newStore({ scheduler, retryDelay: (...args) => (calls.push(args), 10) });
    const entry = new Entry(store).push(job('a', 1));
    const error = new Error('HTTP 503');
    report(store, job('a', 1), 'failed', error);
    expect(calls).toEqual([[1, error, job('a', 1)]]);
    entry.close();
  });

  it('waits exactly retryDelay without jitter (the default)', () => {
    expect(run({ retryDelay: 100 }, ['failed', 'failed', 'succeeded']).starts).toEqual([0, 100, 200]);
  });

  it('full jitter waits random() * delay', () => {
    const { retryIns, starts } = run({ retryDelay: 100, jitter: 'full', random: () => 0.25 }, ['failed', 'succeeded']);
    expect(retryIns).toEqual([25]);
    expect(starts).toEqual([0, 25]);
  });

  it('equal jitter waits delay / 2 + random() * delay / 2', () => {
    const { retryIns } = run({ retryDelay: 100, jitter: 'equal', random: () => 0.25 }, ['failed', 'succeeded']);
    expect(retryIns).toEqual([62.5]);
  });

  it('orderedDelivery\'s jitter overrides the store\'s', () => {
    const { retryIns } = run({ retryDelay: 100, jitter: 'equal', random: () => 0.25 }, ['failed', 'succeeded'], { jitter: 'none' });
    expect(retryIns).toEqual([100]);
  });

  it('jittered delays stay within their bounds: full in [0, d], equal in [d/2, d], retryAfter in [r, 1.5 r]', () => {
    for (let i = 0; i < 50; i++) {
      const [full] = run({ retryDelay: 200, jitter: 'full' }, ['failed', 'succeeded']).retryIns;
      expect(full).toBeGreaterThanOrEqual(0);
      expect(full).toBeLessThanOrEqual(200);
      const [equal] = run({ retryDelay: 200, jitter: 'equal' }, ['failed', 'succeeded']).retryIns;
      expect(equal).toBeGreaterThanOrEqual(100);
      expect(equal).toBeLessThanOrEqual(200);
      const [after] = run({ retryDelay: 1, jitter: 'full' }, [{ state: 'failed', retryAfter: 400 }, 'succeeded']).retryIns;
      expect(after).toBeGreaterThanOrEqual(400);
      expect(after).toBeLessThanOrEqual(600);
    }
  });

  it('a failed outcome\'s retryAfter sets that attempt\'s delay instead of retryDelay', () => {
    const { starts } = run({ retryDelay: 10 }, [{ state: 'failed', retryAfter: 500 }, 'failed', 'succeeded']);
    // 500 after the first failure, then retryDelay's 10 again.
    expect(starts).toEqual([0, 500, 510]);
  });

  it('jitter never shortens a retryAfter: random() 0 waits it exactly, 0.5 waits a quarter more', () => {
    expect(run({ jitter: 'full', random: () => 0 }, [{ state: 'failed', retryAfter: 400 }, 'succeeded']).retryIns).toEqual([400]);
    expect(run({ jitter: 'full', random: () => 0.5 }, [{ state: 'failed', retryAfter: 400 }, 'succeeded']).retryIns).toEqual([500]);
    expect(run({ jitter: 'equal', random: () => 0 }, [{ state: 'failed', retryAfter: 400 }, 'succeeded']).retryIns).toEqual([400]);
  });

  it('takes retryAfter on barrierState\'s path too', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 10 });
    const entry = new Entry(store).push(job('a', 1));
    const seen: number[] = [];
    store.events$.subscribe((event) => event.type === 'failed' && seen.push(event.retryIn));
    of({ job: job('a', 1), state: 'failed' as const, retryAfter: 300 }).pipe(barrierState(store)).subscribe();
    expect(seen).toEqual([300]);
    advanceTo(scheduler, 299);
    expect(entry.admitted).toEqual(['a#1']);
    advanceTo(scheduler, 300);
    expect(entry.admitted).toEqual(['a#1', 'a#1']);
    entry.close();
  });

  it.each([
    [-1, RangeError, 'retryAfter must be a non-negative finite number of milliseconds, got -1 for job {"key":"a","id":1}'],
    [Infinity, RangeError, 'retryAfter must be a non-negative finite number of milliseconds, got Infinity for job {"key":"a","id":1}'],
    ['5', TypeError, 'retryAfter must be a number of milliseconds, got "5" for job {"key":"a","id":1}'],
  ])('rejects a retryAfter of %s with a typed error naming the job and the value, and changes nothing', (retryAfter, type, message) => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler });
    const entry = new Entry(store).push(job('a', 1));
    let error: unknown;
    of({ job: job('a', 1), state: 'failed' as const, retryAfter: retryAfter as number })
      .pipe(barrierState(store))
      .subscribe({ error: (caught: unknown) => (error = caught) });
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toBe(message);
    // Nothing changed: the job is still admitted, and can still report.
    expect(store.stats()).toMatchObject({ admitted: 1, retrying: 0 });
    report(store, job('a', 1), 'succeeded');
    expect(store.stats()).toMatchObject({ admitted: 0, total: 0 });
    entry.close();
  });

  it('errors orderedDelivery\'s pipeline on a bad retryAfter from deliver', () => {
    const store = newStore({ scheduler: newScheduler() });
    let error: unknown;
    of(job('a', 1))
      .pipe(orderedDelivery(store, { deliver: async () => ({ state: 'failed', retryAfter: -5 }) as const }))
      .subscribe({ error: (caught: unknown) => (error = caught) });
    return Promise.resolve().then(() => {
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toContain('got -5 for job {"key":"a","id":1}');
    });
  });

  it('rejects a jitter that is not none, full or equal', () => {
    expect(() => newStore({ jitter: 'half' as never })).toThrow(new TypeError(`option jitter must be one of 'none', 'full', 'equal', got "half"`));
  });
});
