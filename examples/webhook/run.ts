/**
 * The main job: deliver every user's events, in order, to a real HTTP
 * endpoint that fails the way real endpoints fail, with `pull` +
 * `orderedDelivery`, and report what happened.
 */
import { AttemptTimeoutError, BarrierStore, orderedDelivery, pull, type DeliveryContext, type DeliveryOutcome } from '../../src/index.js';
import { Metrics, type Progress } from './metrics.js';
import { Receiver, type Check, type DeliveryRequest } from './receiver.js';
import { generateWorkload, outcomeOf, predict, type WebhookEvent } from './scripts.js';

/** What to run. Every field has a default in {@link WEBHOOK_DEFAULTS}. */
export interface WebhookDeliveryOptions {
  /** Users (ordering keys). */
  users: number;
  /** Events per user. */
  events: number;
  /** Requests in flight at once over all users (one per user at most). */
  concurrency: number;
  /** Probability that an attempt gets a retryable answer (500, 503, 429 or a timeout), in [0, 1]. */
  failRate: number;
  /** Seeds the workload: the same seed gives the same events and scripts. */
  seed: number;
  /** The failed attempt numbered this aborts the event. */
  maxAttempts: number;
  /** The client's timeout per request, in ms. */
  timeoutMs: number;
  /** How long the receiver holds a `'timeout'` answer, in ms; more than `timeoutMs`. */
  holdMs: number;
  /** The store's high-water mark: `pull` stops asking for events while the store holds this many. */
  highWaterMark: number;
}

/** The defaults: 2000 events, finishing in a few seconds on a small machine. */
export const WEBHOOK_DEFAULTS: Readonly<WebhookDeliveryOptions> = Object.freeze({
  users: 50,
  events: 40,
  concurrency: 8,
  failRate: 0.15,
  seed: 1,
  maxAttempts: 3,
  timeoutMs: 500,
  holdMs: 1000,
  highWaterMark: 500,
});

/**
 * The shortest client timeout the example accepts, in ms. On a busy machine a
 * loopback request can take over 200 ms (measured: max 229 ms with eight in
 * flight on two loaded cores, while the median was 36 ms); with a shorter timeout the
 * client gives up on requests the receiver has already answered, retries
 * them, and the receiver sees those events twice: its checks fail although
 * order was kept, and the scripts' predictions no longer hold.
 */
export const MIN_TIMEOUT_MS = 300;

/** Milliseconds before retrying after failed attempt `attempt` (1 for the first): 20, 40, 80, 80, ... */
export const retryDelay = (attempt: number): number => Math.min(20 * 2 ** (attempt - 1), 80);

/** What a run did, and whether every check held. `--json` prints exactly this. */
export interface Summary {
  readonly options: WebhookDeliveryOptions;
  readonly events: number;
  readonly succeeded: number;
  readonly aborted: number;
  readonly filtered: number;
  /** HTTP requests sent (calls of `deliver`). */
  readonly attempts: number;
  /** `attempts - events`. */
  readonly retries: number;
  /** Attempts the client gave up on after `timeoutMs`. */
  readonly timeouts: number;
  /** What the scripts predict, given `maxAttempts`. */
  readonly expected: {
    readonly succeeded: number;
    readonly aborted: number;
    readonly filtered: number;
    readonly attempts: number;
    /** Attempts the receiver is scripted to hold past the timeout. More actual timeouts mean the machine was too slow for `timeoutMs`. */
    readonly timeouts: number;
  };
  /** Wall time of the delivery, in ms. */
  readonly durationMs: number;
  /** Events per second. */
  readonly throughput: number;
  /**
   * `event`: from an event's first attempt to its final outcome, retries and
   * their delays included. `request`: one HTTP round trip that got an
   * answer (timed-out requests are counted in `timeouts` instead).
   */
  readonly latencyMs: {
    readonly eventP50: number;
    readonly eventP99: number;
    readonly requestP50: number;
    readonly requestP99: number;
    readonly requestMax: number;
  };
  readonly store: {
    /** Most jobs held back at once (behind a failed job, or by the drain limit). */
    readonly peakHeld: number;
    /** Most jobs in the store at once: held + retrying + admitted. */
    readonly peakInStore: number;
    readonly highWaterMark: number;
    /** How often the store reached its high-water mark and paused `pull`. */
    readonly pressureEvents: number;
    /** Barrier records left after completion (kept by the barrier's own rules, e.g. draining after an abort). */
    readonly recordsLeft: number;
  };
  readonly receiver: { readonly requests: number; readonly accepted: number };
  readonly checks: readonly Check[];
  /** Every check held. */
  readonly ok: boolean;
}

/** The problems with `options`, each naming its command-line flag; empty when valid. */
export function validateOptions(options: WebhookDeliveryOptions): string[] {
  const problems: string[] = [];
  const integer = (flag: string, value: number, min: number, max: number): void => {
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`--${flag} must be an integer from ${min} to ${max}, got ${value}`);
    }
  };
  integer('users', options.users, 1, 100_000);
  integer('events', options.events, 1, 100_000);
  integer('concurrency', options.concurrency, 1, 10_000);
  integer('seed', options.seed, 0, 2 ** 32 - 1);
  integer('max-attempts', options.maxAttempts, 1, 100);
  if (!Number.isSafeInteger(options.timeoutMs) || options.timeoutMs > 60_000) {
    integer('timeout', options.timeoutMs, MIN_TIMEOUT_MS, 60_000);
  } else if (options.timeoutMs < MIN_TIMEOUT_MS) {
    problems.push(
      `--timeout must be at least ${MIN_TIMEOUT_MS} ms, got ${options.timeoutMs}: a shorter timeout gives up on requests the receiver ` +
        `has already answered, so the retries reach it twice and the checks fail although order was kept`,
    );
  }
  integer('high-water-mark', options.highWaterMark, 1, 10_000_000);
  if (!(options.failRate >= 0 && options.failRate <= 1)) problems.push(`--fail-rate must be a number from 0 to 1, got ${options.failRate}`);
  if (problems.length === 0 && options.users * options.events > 1_000_000) {
    problems.push(`--users × --events must be at most 1000000, got ${options.users * options.events}`);
  }
  // The command line derives holdMs from --timeout, so this can only fail for
  // a caller of runWebhookDelivery, who knows the name; checked only once the
  // timeout itself is valid, so a bad --timeout gets one message, not two.
  if (problems.length === 0 && !(options.holdMs > options.timeoutMs)) {
    problems.push(`holdMs (${options.holdMs}) must exceed timeoutMs (${options.timeoutMs})`);
  }
  return problems;
}

/**
 * Starts the receiver, delivers the whole workload through `pull` +
 * `orderedDelivery`, stops the receiver and returns the summary. Rejects
 * only if the pipeline itself errors; failed checks are in `summary.ok`.
 */
export async function runWebhookDelivery(
  overrides: Partial<WebhookDeliveryOptions> = {},
  onProgress?: (progress: Progress) => void,
): Promise<Summary> {
  const options: WebhookDeliveryOptions = { ...WEBHOOK_DEFAULTS, ...overrides };
  const problems = validateOptions(options);
  if (problems.length > 0) throw new RangeError(problems.join('\n'));

  const { events, scripts } = generateWorkload(options);
  const receiver = await Receiver.start({ scripts, maxAttempts: options.maxAttempts, holdMs: options.holdMs });
  try {
    const metrics = new Metrics(scripts, options.maxAttempts);
    const report = (): void => onProgress?.(metrics.progress(events.length));

    // The store: the barrier, the jobs it holds back, and backpressure.
    const store = new BarrierStore<WebhookEvent>({
      key: (event) => event.userId,
      jobId: (event) => event.id,
      // After a retried event is aborted, admit the user's next events one at
      // a time until one of them succeeds, is filtered or aborts (the drain
      // limit; the production router runs with 1).
      concurrencyLimit: 1,
      highWaterMark: options.highWaterMark,
    });
    const pressure = store.pressure$.subscribe((full) => {
      if (full) metrics.pressureEvents++;
    });

    // The source: like a database query, it returns up to `demand` events
    // in id order, and `null` once there are no more. `pull` asks only while
    // the store is below its high-water mark.
    let cursor = 0;
    const nextBatch = async (demand: number): Promise<readonly WebhookEvent[] | null> => {
      metrics.sample(store.stats());
      if (cursor >= events.length) return null;
      const batch = events.slice(cursor, cursor + demand);
      cursor += batch.length;
      return batch;
    };

    // One attempt: POST the event; the answer's status says the outcome. A
    // retryable answer rejects, which orderedDelivery counts as a failed
    // attempt and keeps as the error of an aborted result. The context's
    // signal aborts past attemptTimeout (the attempt then counts as failed,
    // with an AttemptTimeoutError) and when the pipeline is torn down.
    const deliver = async (event: WebhookEvent, { attempt, signal }: DeliveryContext): Promise<DeliveryOutcome> => {
      const started = performance.now();
      metrics.attemptStarted(event, attempt, started);
      metrics.sample(store.stats());
      try {
        const body: DeliveryRequest = { userId: event.userId, id: event.id, attempt };
        const response = await fetch(receiver.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal,
        });
        await response.arrayBuffer(); // read the body so the connection is reused
        const outcome = outcomeOf(response.status);
        if (outcome === 'failed') throw new Error(`HTTP ${response.status} from ${receiver.url}`);
        return outcome;
      } finally {
        metrics.requestEnded(performance.now() - started, signal.reason instanceof AttemptTimeoutError);
        report();
      }
    };

    const started = performance.now();
    try {
      await new Promise<void>((resolve, reject) => {
        pull(nextBatch, store)
          .pipe(
            orderedDelivery(store, {
              deliver,
              concurrency: options.concurrency,
              maxAttempts: options.maxAttempts,
              retryDelay,
              attemptTimeout: options.timeoutMs,
            }),
          )
          .subscribe({
            next: (result) => {
              metrics.result(result, performance.now());
              metrics.sample(store.stats());
              report();
            },
            error: reject,
            complete: resolve,
          });
      });
    } finally {
      pressure.unsubscribe();
    }
    const durationMs = performance.now() - started;
    report();

    const after = store.stats();
    const drained: Check = {
      name: 'the store holds no jobs after completion',
      ok: after.total === 0 && after.queued === 0,
      detail: `${after.held} held, ${after.retrying} retrying, ${after.admitted} admitted, ${after.queued} outcomes not synced`,
    };
    const seen = receiver.report();
    const checks = [...seen.checks, metrics.resultsCheck(), drained];
    const expected = { succeeded: 0, aborted: 0, filtered: 0, attempts: 0, timeouts: 0 };
    for (const script of scripts.values()) {
      const prediction = predict(script.steps, options.maxAttempts);
      expected[prediction.state]++;
      expected.attempts += prediction.attempts;
      expected.timeouts += script.steps.slice(0, prediction.attempts).filter((step) => step === 'timeout').length;
    }
    return {
      options,
      events: events.length,
      succeeded: metrics.succeeded,
      aborted: metrics.aborted,
      filtered: metrics.filtered,
      attempts: metrics.attempts,
      retries: metrics.attempts - events.length,
      timeouts: metrics.timeouts,
      expected,
      durationMs: round(durationMs),
      throughput: round(events.length / (durationMs / 1000)),
      latencyMs: {
        eventP50: round(metrics.eventLatencies.percentile(50)),
        eventP99: round(metrics.eventLatencies.percentile(99)),
        requestP50: round(metrics.requestLatencies.percentile(50)),
        requestP99: round(metrics.requestLatencies.percentile(99)),
        requestMax: round(metrics.requestLatencies.max),
      },
      store: {
        peakHeld: metrics.peakHeld,
        peakInStore: metrics.peakInStore,
        highWaterMark: options.highWaterMark,
        pressureEvents: metrics.pressureEvents,
        recordsLeft: after.records,
      },
      receiver: { requests: seen.requests, accepted: seen.accepted },
      checks,
      ok: checks.every((check) => check.ok),
    };
  } finally {
    await receiver.close();
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
