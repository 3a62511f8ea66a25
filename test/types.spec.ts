// Type tests: `npm test` type-checks this file (tsc --noEmit, strict), so an
// expectTypeOf that does not hold, or a @ts-expect-error line that compiles,
// fails the run. The runtime part only checks that each case was built.
import { of, type MonoTypeOperatorFunction, type Observable, type OperatorFunction } from 'rxjs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  Barrier,
  BarrierStore,
  pull,
  type DeliveryResult,
  type EnterResult,
  type JobState,
  type JobStatus,
  type WaitResult,
} from '../src/index.js';
import {
  barrierEnter,
  barrierState,
  barrierWait,
  concatMapByKey,
  orderedDelivery,
  type DeliveryOutcome,
} from '../src/operators/index.js';

interface Job {
  userId: string;
  id: number;
  ok: boolean;
}

const store = new BarrierStore<Job>({ key: (job) => job.userId, jobId: (job) => job.id });

describe('types', () => {
  it('Barrier: results, states and snapshots have the documented shapes', () => {
    const barrier = new Barrier({ concurrencyLimit: 1 });
    expectTypeOf(barrier.enter('k', 1)).toEqualTypeOf<EnterResult>();
    expectTypeOf(barrier.wait('k', 1)).toEqualTypeOf<WaitResult>();
    expectTypeOf<EnterResult['previousFailedJobId']>().toEqualTypeOf<number | undefined>();
    expectTypeOf(barrier.stateChanged('k', 1, 'succeeded')).toEqualTypeOf<boolean>();
    expectTypeOf<JobState>().toEqualTypeOf<'succeeded' | 'failed' | 'aborted' | 'waiting' | 'filtered'>();
    // @ts-expect-error: not a JobState
    expect(() => barrier.stateChanged('k', 1, 'done')).toThrow();
    // @ts-expect-error: keys are strings
    expect(() => barrier.enter(1, 1)).toThrow(TypeError);
    expectTypeOf(Barrier.fromSnapshot(barrier.snapshot())).toEqualTypeOf<Barrier>();
  });

  it('BarrierStore: the selectors are typed by the job', () => {
    // @ts-expect-error: the key selector must return a string
    expect(() => new BarrierStore<Job>({ key: (job) => job.id, jobId: (job) => job.id })).not.toThrow();
    // @ts-expect-error: jobId is required
    expect(() => new BarrierStore<Job>({ key: (job) => job.userId })).toThrow(TypeError);
    expectTypeOf(store.pressure$).toEqualTypeOf<Observable<boolean>>();
    expectTypeOf(store.sync()).toEqualTypeOf<number>();
  });

  it('the operators keep the job type, and refuse another', () => {
    expectTypeOf(barrierEnter(store)).toEqualTypeOf<MonoTypeOperatorFunction<Job>>();
    expectTypeOf(barrierWait(store)).toEqualTypeOf<MonoTypeOperatorFunction<Job>>();
    expectTypeOf(barrierState(store)).toEqualTypeOf<MonoTypeOperatorFunction<JobStatus<Job>>>();
    const numbers = of(1, 2);
    // @ts-expect-error: a store of Job cannot admit numbers
    expect(numbers.pipe(barrierEnter(store))).toBeDefined();
    expectTypeOf(concatMapByKey((n: number) => String(n), (n) => of(`${n}`))).toEqualTypeOf<OperatorFunction<number, string>>();
    expectTypeOf(pull(async () => null, store)).toEqualTypeOf<Observable<Job>>();
  });

  it('orderedDelivery: the ways deliver may report its outcome inline', () => {
    const result = orderedDelivery(store, { deliver: async () => 'succeeded' as const });
    expectTypeOf(result).toEqualTypeOf<OperatorFunction<Job, DeliveryResult<Job>>>();
    expectTypeOf<DeliveryResult<Job>['state']>().toEqualTypeOf<'succeeded' | 'aborted' | 'filtered'>();
    const variants = [
      orderedDelivery(store, { deliver: async (job) => (job.ok ? 'succeeded' : 'failed') }),
      orderedDelivery(store, { deliver: (job) => Promise.resolve(job.ok ? 'succeeded' : 'failed') }),
      orderedDelivery(store, { deliver: () => of('filtered' as const) }),
      orderedDelivery(store, { deliver: () => 'succeeded' }),
      orderedDelivery(store, { deliver: (_job, { attempt }) => (attempt < 3 ? 'failed' : 'aborted') }),
      // The usual test stub: TypeScript widens its lone literal to string,
      // which deliver accepts from a promise (and checks at run time).
      orderedDelivery(store, { deliver: async () => 'succeeded' }),
      orderedDelivery(store, { deliver: async (_job, { signal }) => (signal.aborted ? 'failed' : 'succeeded') }),
      orderedDelivery(store, { deliver: async (job) => (job.ok ? 'succeeded' : { state: 'failed', retryAfter: 1_000 }) }),
      orderedDelivery(store, { deliver: () => ({ state: 'failed', retryAfter: 5 }) }),
    ];
    expect(variants).toHaveLength(9);
    // @ts-expect-error: a retryAfter outcome is a failure, never a success
    expect(orderedDelivery(store, { deliver: async () => ({ state: 'succeeded', retryAfter: 5 }) })).toBeDefined();
    // @ts-expect-error: the attempt is in the context now, not the second argument
    expect(orderedDelivery(store, { deliver: (_job, attempt: number) => (attempt < 3 ? 'failed' : 'aborted') })).toBeDefined();
  });

  it('orderedDelivery: a deliver written apart needs its outcome kept literal', () => {
    const widened = async (job: Job) => (job.ok ? 'succeeded' : 'waiting');
    // @ts-expect-error: 'waiting' is not a delivery outcome
    expect(orderedDelivery(store, { deliver: widened })).toBeDefined();
    const annotated = async (job: Job): Promise<DeliveryOutcome> => (job.ok ? 'succeeded' : 'failed');
    expect(orderedDelivery(store, { deliver: annotated })).toBeDefined();
    // @ts-expect-error: the same inline: TypeScript keeps the literals of a conditional
    expect(orderedDelivery(store, { deliver: async (job) => (job.ok ? 'succeeded' : 'waiting') })).toBeDefined();
  });
});

describe('one entry for everything', () => {
  it('exports the operators and their types from rx-barrier itself, the same as rx-barrier/operators', async () => {
    const root = await import('../src/index.js');
    const operators = await import('../src/operators/index.js');
    expectTypeOf<import('../src/index.js').DeliveryOutcome>().toEqualTypeOf<DeliveryOutcome>();
    expectTypeOf<import('../src/index.js').DeliveryContext>().toEqualTypeOf<{ readonly attempt: number; readonly signal: AbortSignal }>();
    expectTypeOf(root.orderedDelivery).toEqualTypeOf(operators.orderedDelivery);
    for (const [name, value] of Object.entries(operators)) expect(root[name as keyof typeof root]).toBe(value);
  });
});
