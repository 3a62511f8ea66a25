/**
 * `npm start -- --durable`: the webhook scenario of examples/webhook/ through
 * PostgreSQL. The events are enqueued in a `PgJobQueue` table, worker
 * processes (examples/durable/worker.ts) deliver them to the same kind of
 * receiver on 127.0.0.1, and with `--kill-one` one worker is killed with
 * SIGKILL a third of the way through: the others take its partitions over
 * and finish its events, in order, attempts as scripted.
 *
 * The database is `DATABASE_URL` when it is set, otherwise an embedded
 * PostgreSQL (scripts/postgres-server.ts) started for the run and deleted
 * after it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PG_QUEUE_DEFAULTS, PgJobQueue } from '../../src/postgres/index.js';
import { startPostgres } from '../../scripts/postgres-server.js';
import type { Check } from '../webhook/receiver.js';
import { validateOptions, WEBHOOK_DEFAULTS, type WebhookDeliveryOptions } from '../webhook/run.js';
import { generateWorkload, predict, type WebhookEvent } from '../webhook/scripts.js';
import { DURABLE_DEFAULTS, validateDurableOptions, type DurableOptions } from './options.js';
import { Rule } from '../webhook/receiver.js';
import { AtLeastOnceReceiver } from './receiver.js';
import { QUEUE, type DurableWorkerArgs, type ParentMessage, type WorkerMessage } from './worker.js';

export { DURABLE_DEFAULTS, validateDurableOptions, type DurableOptions } from './options.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** One worker process, as the run saw it. */
export interface WorkerSummary {
  readonly id: string;
  /** Attempts it started (`deliver` calls). */
  readonly attempts: number;
  /** Results it reported (committed outcomes). */
  readonly results: number;
  readonly killed: boolean;
  /** How it ended: `exit 0`, `SIGKILL`, ... */
  readonly exit: string;
}

/** What the kill cost: measured from the SIGKILL. */
export interface Takeover {
  readonly worker: string;
  /** Events with an outcome when it was killed. */
  readonly atEvents: number;
  /** Partitions it owned. */
  readonly partitions: number;
  /** Until the other workers owned all of them, ms. */
  readonly reownedMs: number | null;
  /** Until another worker started a delivery from one of them, ms (null: nothing was left in them). */
  readonly firstDeliveryMs: number | null;
}

/** What a durable run did, and whether every check held. `--json` prints exactly this. */
export interface DurableSummary {
  readonly options: WebhookDeliveryOptions;
  readonly durable: DurableOptions;
  readonly database: 'embedded' | 'DATABASE_URL';
  readonly events: number;
  /** Final states and attempts, from the table. */
  readonly succeeded: number;
  readonly aborted: number;
  readonly filtered: number;
  readonly attempts: number;
  readonly expected: { readonly succeeded: number; readonly aborted: number; readonly filtered: number; readonly attempts: number };
  /** From the first attempt to the last outcome committed, ms. */
  readonly durationMs: number;
  /** Events per second. */
  readonly throughput: number;
  readonly receiver: { readonly requests: number; readonly accepted: number; readonly repeats: number };
  /**
   * Attempts that ended without an answer. `timeouts`: the client gave up
   * (`unscripted`: on an answer the script gives at once, so the machine was
   * too slow for `timeoutMs`); `cancelled`: the worker's `signal` fired
   * (its partition was lost).
   */
  readonly unanswered: { readonly timeouts: number; readonly unscripted: number; readonly cancelled: number };
  readonly workers: readonly WorkerSummary[];
  readonly takeover: Takeover | null;
  /**
   * Workers that lost all their partitions at once without being killed:
   * a heartbeat late by more than the lease (a machine too busy) or a failed
   * lock connection. Each is a takeover too: the others take its partitions
   * after the lease, and its deliveries in flight may be repeated.
   */
  readonly leaseLosses: number;
  readonly checks: readonly Check[];
  readonly ok: boolean;
}

interface WorkerState {
  readonly id: string;
  readonly child: ChildProcess;
  readonly exit: Promise<string>;
  partitions: readonly number[];
  attempts: number;
  results: number;
  killed: boolean;
  ready: boolean;
}

/**
 * Whether the partitions the workers announced are settled: each of the
 * `partitions` is announced by exactly one worker and none holds more than
 * its fair share. No clean hand-over is then under way, so every partition a
 * worker lists is still its own, and once it is killed the others can take
 * it only after the lease (what the takeover measures).
 */
export function ownershipSettled(announced: readonly (readonly number[])[], partitions: number): boolean {
  const share = Math.ceil(partitions / Math.max(1, announced.length));
  const owned = announced.flat();
  return owned.length === partitions && new Set(owned).size === partitions && announced.every((list) => list.length <= share);
}

/** Gives up when the table has not moved for this long. */
const STALL_MS = 60_000;

const now = (): number => performance.timeOrigin + performance.now();

/**
 * Runs the durable scenario end to end and returns its summary. Rejects only
 * if the set-up fails (no database, a worker that cannot start); failed
 * checks are in `summary.ok`. `log` hears what happens, a line at a time.
 */
export async function runDurableWebhookDelivery(
  overrides: Partial<WebhookDeliveryOptions> = {},
  durableOverrides: Partial<DurableOptions> = {},
  log: (line: string) => void = () => {},
): Promise<DurableSummary> {
  const options: WebhookDeliveryOptions = { ...WEBHOOK_DEFAULTS, ...overrides };
  const durable: DurableOptions = { ...DURABLE_DEFAULTS, ...durableOverrides };
  const problems = [...validateOptions(options), ...validateDurableOptions(durable)];
  if (problems.length > 0) throw new RangeError(problems.join('\n'));

  const { events, scripts } = generateWorkload(options);
  log(process.env['DATABASE_URL'] ? 'using the PostgreSQL at DATABASE_URL' : 'starting an embedded PostgreSQL on 127.0.0.1 ...');
  const server = await startPostgres();
  const receiver = await AtLeastOnceReceiver.start({
    scripts,
    maxAttempts: options.maxAttempts,
    holdMs: options.holdMs,
  });
  const queue = new PgJobQueue<WebhookEvent>({ connectionString: server.url, queue: QUEUE });
  const workers: WorkerState[] = [];
  try {
    await queue.migrate();
    log(`enqueuing ${events.length} events (${options.users} users) ...`);
    for (let start = 0; start < events.length; start += 5_000) {
      await queue.enqueue(events.slice(start, start + 5_000).map((event) => ({ key: event.userId, payload: event })));
    }

    const resultsSeen = new Map<number, { state: string; attempts: number; count: number }>();
    let firstAttemptAt: number | undefined;
    let takeover: { worker: WorkerState; at: number; atEvents: number; partitions: Set<number>; reownedAt?: number; firstDeliveryAt?: number } | undefined;
    /** What the workers' errors$ said (a refused commit, a failed read), the first few. */
    const workerErrors: string[] = [];
    let workerErrorCount = 0;
    const unanswered = { timeouts: 0, unscripted: 0, cancelled: 0 };
    let leaseLosses = 0;

    const reowned = (): boolean => {
      if (takeover === undefined) return false;
      const owned = new Set(workers.filter((w) => !w.killed).flatMap((w) => w.partitions));
      return [...takeover.partitions].every((p) => owned.has(p));
    };

    const settled = (): boolean => {
      const live = workers.filter((w) => !w.killed);
      return live.length === durable.workers && live.every((w) => w.ready) && ownershipSettled(live.map((w) => w.partitions), PG_QUEUE_DEFAULTS.partitions);
    };

    const onMessage = (worker: WorkerState, message: WorkerMessage): void => {
      switch (message.type) {
        case 'ready':
          worker.ready = true;
          break;
        case 'partitions':
          worker.partitions = message.partitions;
          if (takeover !== undefined && takeover.reownedAt === undefined && reowned()) takeover.reownedAt = message.at;
          killWhenDue();
          break;
        case 'attempt':
          worker.attempts++;
          firstAttemptAt ??= message.at;
          if (takeover !== undefined && takeover.firstDeliveryAt === undefined && worker !== takeover.worker && takeover.partitions.has(message.partition)) {
            takeover.firstDeliveryAt = message.at;
          }
          break;
        case 'result': {
          worker.results++;
          const seen = resultsSeen.get(message.id);
          if (seen === undefined) resultsSeen.set(message.id, { state: message.state, attempts: message.attempts, count: 1 });
          else seen.count++;
          killWhenDue();
          break;
        }
        case 'lost':
          leaseLosses++;
          break;
        case 'unanswered':
          if (message.cause === 'signal') unanswered.cancelled++;
          else {
            unanswered.timeouts++;
            if (scripts.get(message.id)?.steps[message.attempt - 1] !== 'timeout') unanswered.unscripted++;
          }
          break;
        case 'error':
          workerErrorCount++;
          if (workerErrors.length < 5) workerErrors.push(`${worker.id}: ${message.message}`);
          break;
      }
    };

    const killWhenDue = (): void => {
      if (durable.killOne && takeover === undefined && resultsSeen.size >= events.length / 3 && settled()) kill();
    };

    const kill = (): void => {
      const victim = workers.filter((w) => !w.killed).sort((a, b) => b.partitions.length - a.partitions.length)[0]!;
      victim.killed = true;
      victim.child.kill('SIGKILL');
      takeover = { worker: victim, at: now(), atEvents: resultsSeen.size, partitions: new Set(victim.partitions) };
      log(`killed ${victim.id} with SIGKILL at ${resultsSeen.size} of ${events.length} events (it owned ${victim.partitions.length} partitions)`);
      if (reowned()) takeover.reownedAt = takeover.at;
    };

    for (let n = 1; n <= durable.workers; n++) {
      const args: DurableWorkerArgs = {
        url: server.url,
        receiverUrl: receiver.url,
        workerId: `worker-${n}`,
        concurrency: options.concurrency,
        highWaterMark: options.highWaterMark,
        maxAttempts: options.maxAttempts,
        timeoutMs: options.timeoutMs,
        lease: durable.lease,
      };
      const child = fork(WORKER_SCRIPT, [JSON.stringify(args)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      const exit = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? `exit ${code}`)));
      const worker: WorkerState = { id: args.workerId, child, exit, partitions: [], attempts: 0, results: 0, killed: false, ready: false };
      child.on('message', (message: WorkerMessage) => onMessage(worker, message));
      workers.push(worker);
    }

    log(`${durable.workers} worker processes started; delivering ...`);
    // Until every row is terminal, or nothing has moved for STALL_MS.
    let pending = events.length;
    let movedAt = now();
    let finishedAt = now();
    while (true) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const counts = await queue.counts();
      finishedAt = now();
      if (counts.pending !== pending) movedAt = finishedAt;
      pending = counts.pending;
      if (pending === 0 || finishedAt - movedAt > STALL_MS) break;
      if (workers.every((w) => w.child.exitCode !== null || w.child.signalCode !== null)) break;
    }

    for (const worker of workers) if (!worker.killed && worker.child.connected) worker.child.send({ type: 'close' } satisfies ParentMessage);
    log(pending === 0 ? 'every row is terminal; closing the workers ...' : `giving up with ${pending} rows pending; closing the workers ...`);
    const exits = await Promise.all(
      workers.map(async (worker) => {
        const timer = setTimeout(() => worker.child.kill('SIGKILL'), 20_000);
        const exit = await worker.exit;
        clearTimeout(timer);
        return exit;
      }),
    );

    // The table's own account.
    const db = new pg.Client({ connectionString: server.url });
    db.on('error', () => {});
    await db.connect();
    const { rows } = await db
      .query<{ id: number; state: string; attempts: number }>(
        `SELECT (payload->>'id')::int AS id, state, attempts FROM rx_barrier_jobs WHERE queue = $1`,
        [QUEUE],
      )
      .finally(() => db.end());

    const expected = { succeeded: 0, aborted: 0, filtered: 0, attempts: 0 };
    for (const script of scripts.values()) {
      const prediction = predict(script.steps, options.maxAttempts);
      expected[prediction.state]++;
      expected.attempts += prediction.attempts;
    }
    const totals = { succeeded: 0, aborted: 0, filtered: 0, attempts: 0 };
    // One takeover per kill and per lease lost: each may repeat the attempts in flight.
    const extra = (takeover === undefined ? 0 : 1) + leaseLosses;
    const terminal = new Rule('every row of the table is terminal');
    const asScripted = new Rule(`every row's state and attempts are as scripted${extra > 0 ? ', attempts plus at most one per takeover' : ''}`);
    let oneExtra = 0;
    for (const row of rows) {
      if (row.state === 'succeeded' || row.state === 'aborted' || row.state === 'filtered') totals[row.state]++;
      else terminal.violated(`event ${row.id} is ${row.state} after ${row.attempts} attempt(s)`);
      totals.attempts += row.attempts;
      const script = scripts.get(row.id);
      if (script === undefined) {
        asScripted.violated(`a row for unknown event ${row.id}`);
        continue;
      }
      const prediction = predict(script.steps, options.maxAttempts);
      const over = row.attempts - prediction.attempts;
      if (row.state !== prediction.state || over < 0 || over > extra) {
        asScripted.violated(`event ${row.id} ${row.state} after ${row.attempts} attempt(s), its script ${JSON.stringify(script.steps)} predicts ${prediction.state} after ${prediction.attempts}`);
      } else if (over > 0) oneExtra++;
    }
    if (rows.length !== events.length) terminal.violated(`${rows.length} rows for ${events.length} events`);

    // The workers' results$: one per event, as predicted; with a kill, the
    // victim's last committed results may not have reached this process.
    const results = new Rule('one result per event from the workers, as its script predicts');
    for (const [id, seen] of resultsSeen) {
      const prediction = predict(scripts.get(id)!.steps, options.maxAttempts);
      if (seen.count > 1) results.violated(`event ${id} got ${seen.count} results`);
      if (seen.state !== prediction.state || seen.attempts < prediction.attempts || seen.attempts > prediction.attempts + extra) {
        results.violated(`event ${id} ${seen.state} after ${seen.attempts} attempt(s), predicted ${prediction.state} after ${prediction.attempts}`);
      }
    }
    // A worker that is killed, or loses its partitions while a commit is on
    // its way, commits outcomes whose results never reach this process.
    const missing = events.length - resultsSeen.size;
    if (missing > 0 && extra === 0) results.violated(`${missing} event(s) got no result`);

    const clean = new Rule(
      takeover === undefined ? 'every worker ended as planned, by close()' : 'every worker ended as planned: the killed one by SIGKILL, the others by close()',
    );
    workers.forEach((worker, i) => {
      const wanted = worker.killed ? 'SIGKILL' : 'exit 0';
      if (exits[i] !== wanted) clean.violated(`${worker.id} ended with ${exits[i]}, expected ${wanted}`);
    });
    // A takeover may cost the worker that lost partitions a refused commit
    // (its epoch is stale): reported on errors$, and expected then.
    if (extra === 0) for (const message of workerErrors) clean.violated(`error reported by ${message}`);
    const errorsNote = workerErrorCount === 0 ? '' : `; errors$ after a takeover: ${workerErrorCount} (${workerErrors.join('; ')})`;

    const seen = receiver.report(extra);
    const checks: Check[] = [
      ...seen.checks,
      results.check(`${resultsSeen.size} results${missing > 0 ? `; ${missing} committed without their result reaching this process (a takeover)` : ''}`),
      terminal.check(`${rows.length} rows`),
      asScripted.check(`${rows.length} rows${oneExtra > 0 ? `, ${oneExtra} with one extra attempt` : ''}`),
      clean.check(`${workers.length} workers${errorsNote}`),
    ];
    if (takeover !== undefined) {
      const t = takeover;
      checks.push({
        name: "the killed worker's partitions were taken over",
        ok: t.reownedAt !== undefined,
        detail: t.reownedAt === undefined ? `${t.partitions.size} partitions not all owned again` : `${t.partitions.size} partitions in ${Math.round(t.reownedAt - t.at)} ms`,
      });
    }
    const durationMs = firstAttemptAt === undefined ? 0 : finishedAt - firstAttemptAt;
    return {
      options,
      durable,
      database: server.embedded ? 'embedded' : 'DATABASE_URL',
      events: events.length,
      ...totals,
      expected,
      durationMs: round(durationMs),
      throughput: round(events.length / (durationMs / 1000)),
      receiver: { requests: seen.requests, accepted: seen.accepted, repeats: seen.repeats },
      unanswered,
      leaseLosses,
      workers: workers.map((w, i) => ({ id: w.id, attempts: w.attempts, results: w.results, killed: w.killed, exit: exits[i]! })),
      takeover:
        takeover === undefined
          ? null
          : {
              worker: takeover.worker.id,
              atEvents: takeover.atEvents,
              partitions: takeover.partitions.size,
              reownedMs: takeover.reownedAt === undefined ? null : round(takeover.reownedAt - takeover.at),
              firstDeliveryMs: takeover.firstDeliveryAt === undefined ? null : round(takeover.firstDeliveryAt - takeover.at),
            },
      checks,
      ok: checks.every((check) => check.ok),
    };
  } finally {
    for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    await queue.close().catch(() => {});
    await receiver.close();
    await server.stop();
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
