// Plays a canonical diagram of test/diagrams.ts in virtual time and asserts
// every stream it draws. The marble specs call it from the test that names
// the behaviour (and add their own checks); test/docs-marbles.spec.ts plays
// every diagram through it, so a picture cannot show what the code does not do.
import type { Context } from 'rxjs-marbles';
import { filter, map, NEVER, Subject, tap, type Observable } from 'rxjs';
import { BarrierStore, type DeliveryResult, type JobStatus } from '../../src/index.js';
import { concatMapByKey } from '../../src/operators/concat-map-by-key.js';
import { orderedDelivery, type DeliveryContext, type DeliveryOutcome } from '../../src/operators/ordered-delivery.js';
import type { ConcatMapByKeyDiagram, DeliveryDiagram, MarbleDiagram, PipelineDiagram } from '../diagrams.js';
import { deliveryPipeline, job, newStore, type DeliveryPipeline, type Job } from './barrier-pipeline.js';

/** A store call made while playing, with what the store looked like just before. */
export interface PlayedCall {
  readonly at: number;
  readonly call: 'sync' | 'resume';
  /** `stats().queued` just before the call. */
  readonly queuedBefore: number;
  /** What the call returned (`sync()` returns how many commands it applied). */
  readonly returned: unknown;
}

export interface PlayedPipeline {
  readonly store: BarrierStore<Job>;
  readonly pipeline: DeliveryPipeline;
  /** The diagram's jobs by letter. */
  readonly jobs: Readonly<Record<string, Job>>;
  /** The diagram's store calls, filled in as virtual time passes. */
  readonly calls: PlayedCall[];
}

/** The pipeline jobs of a diagram, by letter. */
export function pipelineJobs(diagram: PipelineDiagram): Record<string, Job> {
  return Object.fromEntries(Object.entries(diagram.jobs).map(([letter, spec]) => [letter, job(spec.key, spec.id, spec.outcomes ?? 's')]));
}

/** Plays a {@link PipelineDiagram}: asserts `waiting`, `admitted`, `sent` and `settled`. */
export function playPipeline(m: Context, diagram: PipelineDiagram): PlayedPipeline {
  const jobs = pipelineJobs(diagram);
  const store = newStore(m.scheduler, diagram.store);
  for (const key of diagram.paused ?? []) store.pause(key);
  const calls: PlayedCall[] = [];
  for (const call of diagram.calls ?? []) {
    m.scheduler.schedule(() => {
      const queuedBefore = store.stats().queued;
      const returned = call.call === 'sync' ? store.sync() : store.resume(call.key);
      calls.push({ at: call.at, call: call.call, queuedBefore, returned });
    }, call.at);
  }
  const pipeline = deliveryPipeline(store, m.cold(diagram.source, jobs), m.scheduler);
  // The mirrors of the stages must be subscribed before settled$ runs the pipeline.
  if (diagram.waiting !== undefined) {
    const waiting$ = store.events$.pipe(
      filter((event) => event.type === 'waiting'),
      map((event) => (event.type === 'waiting' ? event.job : undefined)),
    );
    m.expect(waiting$).toBeObservable(diagram.waiting, jobs);
  }
  m.expect(pipeline.admitted$).toBeObservable(diagram.admitted, jobs);
  if (diagram.sent !== undefined) m.expect(pipeline.sent$).toBeObservable(diagram.sent, jobs);
  const statuses: Record<string, JobStatus<Job>> = {};
  for (const [letter, [jobLetter, state]] of Object.entries(diagram.statuses)) statuses[letter] = { job: jobs[jobLetter]!, state };
  m.expect(pipeline.settled$).toBeObservable(diagram.settled, statuses);
  return { store, pipeline, jobs, calls };
}

export interface PlayedConcatMapByKey {
  /** Each value's inner, as `project` returned it. */
  readonly inners: Readonly<Record<string, Observable<string>>>;
}

/** Plays a {@link ConcatMapByKeyDiagram}: asserts the output and each inner's subscription. */
export function playConcatMapByKey(m: Context, diagram: ConcatMapByKeyDiagram): PlayedConcatMapByKey {
  const inners: Record<string, Observable<string>> = {};
  for (const [value, marbles] of Object.entries(diagram.inners)) inners[value] = m.cold(marbles, { v: value });
  const keyOf = (value: string): string => {
    const key = diagram.keys[value];
    if (key === undefined) throw new Error(`no key for ${value}`);
    return key;
  };
  const project = (value: string): Observable<string> => {
    const inner = inners[value];
    if (inner === undefined) throw new Error(`no inner for ${value}`);
    return inner;
  };
  m.expect(m.cold(diagram.source).pipe(concatMapByKey(keyOf, project, diagram.concurrency))).toBeObservable(diagram.output);
  for (const [value, subscription] of Object.entries(diagram.subscriptions)) m.expect(inners[value]!).toHaveSubscriptions(subscription);
  return { inners };
}

/** A job of an orderedDelivery diagram. */
export interface DeliveryJob {
  readonly key: string;
  readonly id: number;
}

export interface PlayedDelivery {
  readonly store: BarrierStore<DeliveryJob>;
  readonly jobs: Readonly<Record<string, DeliveryJob>>;
  /** Per job name (`a1`), the cold of each attempt, made up front so its subscriptions can be asserted. */
  readonly colds: Readonly<Record<string, readonly Observable<DeliveryOutcome>[]>>;
  /** Per job name, the error each attempt's `#` errors with. */
  readonly errors: Readonly<Record<string, readonly Error[]>>;
  /** Each call of `deliver`, as `a1#2@4` (job, attempt, frame). */
  readonly calls: string[];
  /** Calls the scripts had no attempt for. */
  readonly unexpected: string[];
  /** What the stream emitted, filled in as virtual time passes. */
  readonly results: DeliveryResult<DeliveryJob>[];
}

/** Marble values of a delivery script. */
const SCRIPT_OUTCOMES: Record<string, DeliveryOutcome> = { s: 'succeeded', f: 'failed', a: 'aborted', x: 'filtered' };

const nameOf = (value: DeliveryJob): string => `${value.key}${value.id}`;

/** Plays a {@link DeliveryDiagram}: asserts the `deliveries` of each key, `overflowed` and `results`. */
export function playOrderedDelivery(m: Context, diagram: DeliveryDiagram): PlayedDelivery {
  const jobs: Record<string, DeliveryJob> = {};
  for (const [letter, [key, id]] of Object.entries(diagram.jobs)) jobs[letter] = { key, id };
  const colds: Record<string, Observable<DeliveryOutcome>[]> = {};
  const errors: Record<string, Error[]> = {};
  for (const [name, attempts] of Object.entries(diagram.scripts)) {
    errors[name] = attempts.map((_, i) => new Error(`${name} attempt ${i + 1}`));
    colds[name] = attempts.map((marbles, i) => m.cold(marbles, SCRIPT_OUTCOMES, errors[name]![i]));
  }
  const calls: string[] = [];
  const unexpected: string[] = [];
  const delivered = new Map(Object.keys(diagram.deliveries).map((key) => [key, new Subject<DeliveryJob>()]));
  const overflowed = new Subject<DeliveryJob>();
  const deliver = (value: DeliveryJob, { attempt }: DeliveryContext): Observable<DeliveryOutcome> => {
    const name = nameOf(value);
    calls.push(`${name}#${attempt}@${m.scheduler.now()}`);
    const mirror = delivered.get(value.key);
    if (mirror === undefined) throw new Error(`the diagram has no deliveries row for key ${value.key}`);
    mirror.next(value);
    const cold = colds[name]?.[attempt - 1];
    if (cold === undefined) {
      unexpected.push(`${name}#${attempt}`);
      return NEVER;
    }
    return cold;
  };
  const store = new BarrierStore<DeliveryJob>({
    key: (value) => value.key,
    jobId: (value) => value.id,
    scheduler: m.scheduler,
    ...diagram.store,
    onOverflow: diagram.overflowed === undefined ? undefined : (value) => overflowed.next(value),
  });
  const endMirrors = (): void => {
    for (const mirror of delivered.values()) mirror.complete();
    overflowed.complete();
  };
  const emitted: DeliveryResult<DeliveryJob>[] = [];
  const results$ = m.cold(diagram.source, jobs).pipe(
    orderedDelivery(store, { deliver, ...diagram.options }),
    tap({ next: (result) => emitted.push(result), complete: endMirrors, error: endMirrors }),
  );
  const expected: Record<string, DeliveryResult<DeliveryJob>> = {};
  for (const [letter, [jobLetter, state, attempts]] of Object.entries(diagram.resultValues)) {
    const value = jobs[jobLetter]!;
    const result: DeliveryResult<DeliveryJob> = { job: value, key: value.key, jobId: value.id, state, attempts };
    // An attempt that errored keeps its error when it is the job's last.
    const last = diagram.scripts[nameOf(value)]?.[attempts - 1];
    if (state !== 'succeeded' && last?.includes('#') === true) result.error = errors[nameOf(value)]![attempts - 1];
    expected[letter] = result;
  }
  for (const [key, marbles] of Object.entries(diagram.deliveries)) m.expect(delivered.get(key)!).toBeObservable(marbles, jobs);
  if (diagram.overflowed !== undefined) m.expect(overflowed).toBeObservable(diagram.overflowed, jobs);
  m.expect(results$).toBeObservable(diagram.results, expected);
  return { store, jobs, colds, errors, calls, unexpected, results: emitted };
}

/** Plays any diagram. */
export function playDiagram(m: Context, diagram: MarbleDiagram): void {
  switch (diagram.kind) {
    case 'pipeline':
      playPipeline(m, diagram);
      return;
    case 'concatMapByKey':
      playConcatMapByKey(m, diagram);
      return;
    case 'orderedDelivery':
      playOrderedDelivery(m, diagram);
      return;
  }
}
