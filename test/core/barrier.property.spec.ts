import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Barrier, IllegalJobSequenceError, type BarrierOptions, type BarrierSnapshot, type JobState } from '../../src/index.js';

// A small, deliberately plain model of the contract (the shared spec
// barrier.md): a Map of plain records with Sets, a queue array, and each
// operation written out step by step as the spec words it. It shares no code
// with src/; in 'throw' mode the harness restores the model's state after a
// thrown call, which is the spec's "a call that throws changes nothing".

type Mode = 'enabled' | 'disabled' | 'halfEnabled';
interface ModelRecord {
  mode: Mode;
  modeSince: number;
  failedJobId: number | undefined;
  concurrent: Set<number> | null;
  draining: Set<number> | null;
}
interface ModelCommand {
  key: string;
  jobId: number;
  state: JobState;
}
interface Illegal {
  kind: 'IllegalJobSequenceError';
  location: 'enter' | 'wait' | 'job_failed';
  key: string;
  previousFailedJobId: number;
  jobId: number;
}
/** What a thrown error is compared by. */
type ErrorShape = Illegal | { kind: 'TypeError' | 'RangeError' | 'UnsupportedStateError' };

interface Settings {
  concurrencyLimit: number;
  keyThreshold: number;
  disabledDuration: number;
  halfEnabledDuration: number;
  orderingDisabledKey: string | undefined;
  illegal: 'throw' | 'callback';
}

const STATES = ['succeeded', 'failed', 'aborted', 'waiting', 'filtered'];

class ModelError {
  constructor(readonly shape: ErrorShape) {}
}

class Model {
  records = new Map<string, ModelRecord>();
  queue: ModelCommand[] = [];
  reported: Illegal[] = [];

  constructor(
    readonly settings: Settings,
    readonly world: World,
  ) {}

  private now(): number {
    return this.world.time;
  }

  private orderingDisabled(key: string): boolean {
    return this.world.orderingDisabledOn && key === this.settings.orderingDisabledKey;
  }

  private validate(key: unknown, jobId?: unknown, checkId = true): void {
    if (typeof key !== 'string') throw new ModelError({ kind: 'TypeError' });
    if (!checkId) return;
    if (typeof jobId !== 'number') throw new ModelError({ kind: 'TypeError' });
    if (!Number.isSafeInteger(jobId)) throw new ModelError({ kind: 'RangeError' });
  }

  private isInactive(record: ModelRecord): boolean {
    return (
      record.mode === 'enabled' &&
      record.failedJobId === undefined &&
      (record.concurrent === null || record.concurrent.size === 0) &&
      record.draining === null
    );
  }

  private deleteIfInactive(key: string): void {
    const record = this.records.get(key);
    if (record !== undefined && this.isInactive(record)) this.records.delete(key);
  }

  private freshDisabled(): ModelRecord {
    return {
      mode: 'disabled',
      modeSince: this.now(),
      failedJobId: undefined,
      concurrent: this.settings.keyThreshold > 0 ? new Set() : null,
      draining: null,
    };
  }

  private timeDrivenModeChange(record: ModelRecord): void {
    const now = this.now();
    if (record.mode === 'disabled' && now - record.modeSince > this.settings.disabledDuration) {
      record.mode = 'halfEnabled';
      record.modeSince = now;
    }
    if (record.mode === 'halfEnabled' && now - record.modeSince > this.settings.halfEnabledDuration) {
      record.mode = 'enabled';
      record.modeSince = now;
    }
  }

  /** In throw mode throws (the caller restores the state); else returns it to report after the effect. */
  private illegal(location: Illegal['location'], key: string, previousFailedJobId: number, jobId: number): Illegal {
    const error: Illegal = { kind: 'IllegalJobSequenceError', location, key, previousFailedJobId, jobId };
    if (this.settings.illegal === 'throw') throw new ModelError(error);
    return error;
  }

  enter(key: string, jobId: number): { accepted: boolean; previousFailedJobId: number | undefined } {
    this.validate(key, jobId);
    let record = this.records.get(key);
    // 1.
    if (record === undefined) {
      if (this.settings.keyThreshold === 0) return { accepted: true, previousFailedJobId: undefined };
      record = { mode: 'enabled', modeSince: 0, failedJobId: undefined, concurrent: new Set(), draining: null };
      this.records.set(key, record);
    }
    // 2.
    if (this.orderingDisabled(key)) {
      record = this.freshDisabled();
      this.records.set(key, record);
    }
    this.timeDrivenModeChange(record);
    // 3.
    if (record.mode === 'disabled') return { accepted: true, previousFailedJobId: undefined };
    // 4.
    if (record.concurrent !== null && !record.concurrent.has(jobId) && record.concurrent.size >= this.settings.keyThreshold) {
      this.records.set(key, { mode: 'disabled', modeSince: this.now(), failedJobId: undefined, concurrent: new Set(), draining: null });
      return { accepted: true, previousFailedJobId: undefined };
    }
    let result: { accepted: boolean; previousFailedJobId: number | undefined };
    let report: Illegal | undefined;
    if (record.draining !== null && !record.draining.has(jobId) && record.draining.size >= this.settings.concurrencyLimit) {
      // 5.
      result = { accepted: false, previousFailedJobId: undefined };
    } else if (record.failedJobId !== undefined) {
      // 6.
      if (record.failedJobId > jobId && record.mode === 'enabled') {
        report = this.illegal('enter', key, record.failedJobId, jobId);
      }
      result = { accepted: jobId === record.failedJobId, previousFailedJobId: record.failedJobId };
    } else {
      // 7.
      result = { accepted: true, previousFailedJobId: undefined };
    }
    // 8.
    if (result.accepted) {
      record.concurrent?.add(jobId);
      record.draining?.add(jobId);
    }
    this.deleteIfInactive(key);
    if (report !== undefined) this.reported.push(report);
    return result;
  }

  leave(key: string, jobId: number): void {
    this.validate(key, jobId);
    const record = this.records.get(key);
    if (record === undefined) return;
    record.concurrent?.delete(jobId);
    record.draining?.delete(jobId);
    this.deleteIfInactive(key);
  }

  peek(key: string): number | undefined {
    this.validate(key, undefined, false);
    return this.records.get(key)?.failedJobId;
  }

  wait(key: string, jobId: number): { wait: boolean; previousFailedJobId: number | undefined } {
    this.validate(key, jobId);
    const record = this.records.get(key);
    if (record === undefined || record.mode === 'disabled') return { wait: false, previousFailedJobId: undefined };
    if (record.failedJobId === undefined) return { wait: false, previousFailedJobId: undefined };
    if (record.failedJobId > jobId && record.mode === 'enabled') {
      this.reported.push(this.illegal('wait', key, record.failedJobId, jobId));
    }
    return { wait: jobId !== record.failedJobId, previousFailedJobId: record.failedJobId };
  }

  stateChanged(key: string, jobId: number, state: JobState): boolean {
    this.validate(key, jobId);
    if (!STATES.includes(state)) throw new ModelError({ kind: 'UnsupportedStateError' });
    if (state === 'failed') {
      this.applyFailed(key, jobId);
      return false;
    }
    if (this.records.has(key)) {
      this.queue.push({ key, jobId, state });
      return true;
    }
    // With no record, applying changes nothing.
    return false;
  }

  private applyFailed(key: string, jobId: number): void {
    if (this.orderingDisabled(key)) return;
    const record = this.records.get(key);
    if (record === undefined) {
      this.records.set(key, { mode: 'enabled', modeSince: 0, failedJobId: jobId, concurrent: null, draining: null });
      return;
    }
    if (record.mode === 'disabled') return;
    let report: Illegal | undefined;
    if (record.failedJobId !== undefined && record.failedJobId > jobId && record.mode === 'enabled') {
      report = this.illegal('job_failed', key, record.failedJobId, jobId);
    }
    record.concurrent?.delete(jobId);
    record.draining?.delete(jobId);
    if (record.failedJobId === undefined) record.failedJobId = jobId;
    record.draining = null;
    this.deleteIfInactive(key);
    if (report !== undefined) this.reported.push(report);
  }

  private apply({ key, jobId, state }: ModelCommand): void {
    const record = this.records.get(key);
    if (record === undefined) return;
    if (state === 'waiting') {
      record.concurrent?.delete(jobId);
      record.draining?.delete(jobId);
      this.deleteIfInactive(key);
      return;
    }
    // succeeded, filtered, aborted
    if (record.mode === 'disabled') return;
    record.concurrent?.delete(jobId);
    record.draining?.delete(jobId);
    if (record.failedJobId !== undefined && record.failedJobId !== jobId) return;
    const wasTheFailedJob = record.failedJobId === jobId;
    record.failedJobId = undefined;
    record.draining = null;
    if (state === 'aborted' && wasTheFailedJob && this.settings.concurrencyLimit > 0) record.draining = new Set();
    this.deleteIfInactive(key);
  }

  sync(): number {
    const commands = this.queue;
    this.queue = [];
    for (const command of commands) this.apply(command);
    return commands.length;
  }

  disabled(key: string): boolean {
    this.validate(key, undefined, false);
    return this.records.get(key)?.mode === 'disabled';
  }

  prune(): number {
    let deleted = 0;
    for (const [key, record] of [...this.records]) {
      this.timeDrivenModeChange(record);
      if (this.isInactive(record)) {
        this.records.delete(key);
        deleted++;
      }
    }
    return deleted;
  }

  get size(): number {
    return this.records.size;
  }

  get pending(): number {
    return this.queue.length;
  }

  get failing(): number {
    return [...this.records.values()].filter((record) => record.failedJobId !== undefined).length;
  }

  /** The snapshot as barrier.md's record table describes it, records sorted by key. */
  snapshot(): BarrierSnapshot {
    const ids = (set: Set<number> | null) => (set === null ? null : [...set].sort((a, b) => a - b));
    return {
      version: 1,
      records: [...this.records]
        .map(([key, r]) => ({
          key,
          mode: r.mode,
          modeSince: r.modeSince,
          failedJobId: r.failedJobId ?? null,
          concurrent: ids(r.concurrent),
          draining: ids(r.draining),
        }))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
      queue: this.queue.map(({ key, jobId, state }) => ({ key, jobId, state: state as Exclude<JobState, 'failed'> })),
    };
  }

  clone(): { records: Map<string, ModelRecord>; queue: ModelCommand[]; reported: Illegal[] } {
    const copy = new Map<string, ModelRecord>();
    for (const [key, r] of this.records) {
      copy.set(key, {
        ...r,
        concurrent: r.concurrent && new Set(r.concurrent),
        draining: r.draining && new Set(r.draining),
      });
    }
    return { records: copy, queue: [...this.queue], reported: [...this.reported] };
  }

  restore(saved: ReturnType<Model['clone']>): void {
    this.records = saved.records;
    this.queue = saved.queue;
    this.reported = saved.reported;
  }
}

// ---- commands -----------------------------------------------------------

// 'xab' and 'yab' share a key slot (same length, same last two characters):
// the running log and the record map's filter must tell them apart.
const KEY_POOL = ['a', 'xab', '', 'yab', '__proto__'];
type Key = string | number; // a number is a bad key
type Id = number | string | bigint | undefined | typeof FAILED_JOB; // anything but a safe integer is a bad id
/** Stands for the key's failed job at the time of the call (0 if none), to reach states that need matching ids. */
const FAILED_JOB = Symbol('the key\'s failed job');

type Command =
  | { op: 'enter' | 'leave' | 'wait'; key: Key; id: Id }
  | { op: 'stateChanged'; key: Key; id: Id; state: string }
  | { op: 'peek' | 'disabled'; key: Key }
  | { op: 'sync' | 'prune' | 'size' | 'pending' }
  | { op: 'advance'; ms: number }
  | { op: 'toggleOrderingDisabled' };

const keyIndex = fc.oneof({ weight: 30, arbitrary: fc.integer({ min: 0, max: 4 }) }, { weight: 1, arbitrary: fc.constant(-1) });
const id: fc.Arbitrary<Id> = fc.oneof(
  { weight: 30, arbitrary: fc.integer({ min: 0, max: 2 }) },
  { weight: 10, arbitrary: fc.integer({ min: 3, max: 5 }) },
  { weight: 2, arbitrary: fc.constant(-1) },
  { weight: 20, arbitrary: fc.constant(FAILED_JOB) },
  { weight: 1, arbitrary: fc.constantFrom<Id>(1.5, NaN, Infinity, 2 ** 53, '1', 1n, undefined) },
);
const state = fc.oneof(
  { weight: 40, arbitrary: fc.constantFrom(...STATES, 'failed', 'aborted') },
  { weight: 1, arbitrary: fc.constantFrom('executing', '') },
);

/** Commands with a key index; `keyCount` maps it onto 2-5 keys of the pool. */
const commandArbitrary = (keyCount: number): fc.Arbitrary<Command> => {
  const key = keyIndex.map((i): Key => (i < 0 ? 7 : KEY_POOL[i % keyCount]!));
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant('enter' as const), key, id }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('leave' as const), key, id }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('wait' as const), key, id }) },
    { weight: 7, arbitrary: fc.record({ op: fc.constant('stateChanged' as const), key, id, state }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('peek' as const, 'disabled' as const), key }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('sync' as const) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('prune' as const) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('size' as const, 'pending' as const) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 4 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('toggleOrderingDisabled' as const) }) },
  );
};

const settingsArbitrary: fc.Arbitrary<Settings & { keyCount: number }> = fc.record({
  keyCount: fc.integer({ min: 2, max: 5 }),
  concurrencyLimit: fc.integer({ min: 0, max: 3 }),
  // Half the runs without a key threshold: a threshold disables keys quickly,
  // and disabled keys ignore the failures that the other rules need. Small
  // thresholds fill the running log (its limit is the threshold), larger
  // ones let several keys share it.
  keyThreshold: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 4, max: 12 })),
  disabledDuration: fc.integer({ min: 0, max: 5 }),
  halfEnabledDuration: fc.integer({ min: 0, max: 5 }),
  orderingDisabledKey: fc.option(fc.constantFrom(...KEY_POOL), { nil: undefined, freq: 2 }),
  illegal: fc.constantFrom('throw' as const, 'callback' as const),
});

const scenario = settingsArbitrary.chain((settings) =>
  fc.record({
    settings: fc.constant(settings),
    commands: fc.array(commandArbitrary(settings.keyCount), { minLength: 1, maxLength: 150, size: 'max' }),
  }),
);

// ---- running a command against a barrier or the model -------------------

/** What the barrier and the model read from outside: the clock and whether `orderingDisabled` is switched on. */
interface World {
  time: number;
  orderingDisabledOn: boolean;
}

/** Applies the commands that change the world rather than call the barrier; once per command, for all subjects. */
function changeWorld(world: World, command: Command): void {
  if (command.op === 'advance') world.time += command.ms;
  if (command.op === 'toggleOrderingDisabled') world.orderingDisabledOn = !world.orderingDisabledOn;
}

function barrierOptions(settings: Settings, world: World, reported: Illegal[]): BarrierOptions {
  const { orderingDisabledKey } = settings;
  return {
    concurrencyLimit: settings.concurrencyLimit,
    keyThreshold: settings.keyThreshold,
    disabledDuration: settings.disabledDuration,
    halfEnabledDuration: settings.halfEnabledDuration,
    ...(orderingDisabledKey === undefined
      ? {}
      : { orderingDisabled: (key: string) => world.orderingDisabledOn && key === orderingDisabledKey }),
    onIllegalSequence:
      settings.illegal === 'throw'
        ? 'throw'
        : (error) =>
            reported.push({
              kind: 'IllegalJobSequenceError',
              location: error.location,
              key: error.key,
              previousFailedJobId: error.previousFailedJobId,
              jobId: error.jobId,
            }),
    now: () => world.time,
  };
}

type Outcome = { value: unknown } | { error: ErrorShape };

function shapeOf(error: unknown): ErrorShape {
  if (error instanceof ModelError) return error.shape;
  if (error instanceof IllegalJobSequenceError) {
    const { location, key, previousFailedJobId, jobId } = error;
    return { kind: 'IllegalJobSequenceError', location, key, previousFailedJobId, jobId };
  }
  const name = (error as Error).name;
  if (name === 'TypeError' || name === 'RangeError' || name === 'UnsupportedStateError') return { kind: name };
  throw error;
}

/** The parts of Barrier and Model the commands use. */
interface Subject {
  enter(key: string, jobId: number): unknown;
  leave(key: string, jobId: number): unknown;
  wait(key: string, jobId: number): unknown;
  stateChanged(key: string, jobId: number, state: JobState): unknown;
  peek(key: string): unknown;
  disabled(key: string): unknown;
  sync(): unknown;
  prune(): unknown;
  readonly size: number;
  readonly pending: number;
}

function run(subject: Subject, command: Command): Outcome {
  try {
    const key = ('key' in command ? command.key : '') as string;
    const id = 'id' in command ? command.id : 0;
    const jobId = (id === FAILED_JOB ? ((subject.peek(key) as number | undefined) ?? 0) : id) as number;
    switch (command.op) {
      case 'enter':
        return { value: subject.enter(key, jobId) };
      case 'leave':
        return { value: subject.leave(key, jobId) };
      case 'wait':
        return { value: subject.wait(key, jobId) };
      case 'stateChanged':
        return { value: subject.stateChanged(key, jobId, command.state as JobState) };
      case 'peek':
        return { value: subject.peek(key) };
      case 'disabled':
        return { value: subject.disabled(key) };
      case 'sync':
        return { value: subject.sync() };
      case 'prune':
        return { value: subject.prune() };
      case 'size':
        return { value: subject.size };
      case 'pending':
        return { value: subject.pending };
      case 'advance':
      case 'toggleOrderingDisabled':
        // See changeWorld.
        return { value: undefined };
    }
  } catch (error) {
    return { error: shapeOf(error) };
  }
}

/** Runs a command on the model; in throw mode a thrown call leaves the model as it was. */
function runModel(model: Model, command: Command): Outcome {
  const saved = model.clone();
  const outcome = run(model, command);
  if ('error' in outcome) model.restore(saved);
  return outcome;
}

const sortedByKey = (snapshot: BarrierSnapshot): BarrierSnapshot => ({
  ...snapshot,
  records: [...snapshot.records].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
});

const NUM_RUNS = 400;

describe('Barrier against an independent model of barrier.md', () => {
  it('every result, thrown error, illegal-sequence report, snapshot and count equals the model after every command', () => {
    fc.assert(
      fc.property(scenario, ({ settings, commands }) => {
        const world: World = { time: 1_000, orderingDisabledOn: true };
        const reported: Illegal[] = [];
        const barrier = new Barrier(barrierOptions(settings, world, reported));
        const model = new Model(settings, world);
        commands.forEach((command, step) => {
          changeWorld(world, command);
          const actual = run(barrier, command);
          const expected = runModel(model, command);
          const where = `step ${step}: ${JSON.stringify(command, (_, v: unknown) => (typeof v === 'bigint' || typeof v === 'symbol' ? String(v) : v))}`;
          expect(actual, where).toEqual(expected);
          expect(reported, where).toEqual(model.reported);
          expect(sortedByKey(barrier.snapshot()), where).toEqual(model.snapshot());
          expect(barrier.size, where).toBe(model.size);
          expect(barrier.pending, where).toBe(model.pending);
          expect(barrier.failing, where).toBe(model.failing);
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('no operation ever leaves an inactive record behind', () => {
    fc.assert(
      fc.property(scenario, ({ settings, commands }) => {
        const world: World = { time: 0, orderingDisabledOn: true };
        const barrier = new Barrier(barrierOptions(settings, world, []));
        for (const command of commands) {
          changeWorld(world, command);
          run(barrier, command);
          for (const record of barrier.snapshot().records) {
            const inactive =
              record.mode === 'enabled' &&
              record.failedJobId === null &&
              (record.concurrent === null || record.concurrent.length === 0) &&
              record.draining === null;
            expect(inactive, JSON.stringify(record)).toBe(false);
          }
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('a barrier restored from a JSON round trip of its snapshot behaves identically for any later commands', () => {
    const roundTrip = settingsArbitrary.chain((settings) =>
      fc.record({
        settings: fc.constant(settings),
        before: fc.array(commandArbitrary(settings.keyCount), { maxLength: 100, size: 'max' }),
        after: fc.array(commandArbitrary(settings.keyCount), { minLength: 1, maxLength: 100, size: 'max' }),
      }),
    );
    fc.assert(
      fc.property(roundTrip, ({ settings, before, after }) => {
        const world: World = { time: 500, orderingDisabledOn: true };
        const reportedByOriginal: Illegal[] = [];
        const original = new Barrier(barrierOptions(settings, world, reportedByOriginal));
        for (const command of before) {
          changeWorld(world, command);
          run(original, command);
        }

        const reportedByRestored: Illegal[] = [];
        const saved = JSON.parse(JSON.stringify(original.snapshot())) as BarrierSnapshot;
        const restored = Barrier.fromSnapshot(saved, barrierOptions(settings, world, reportedByRestored));
        expect(restored.snapshot()).toEqual(original.snapshot());
        expect(restored.toString()).toBe(original.toString());
        reportedByOriginal.length = 0;

        for (const command of after) {
          changeWorld(world, command);
          const fromOriginal = run(original, command);
          const fromRestored = run(restored, command);
          expect(fromRestored).toEqual(fromOriginal);
          expect(reportedByRestored).toEqual(reportedByOriginal);
          expect(restored.snapshot()).toEqual(original.snapshot());
          expect(restored.toString()).toBe(original.toString());
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
