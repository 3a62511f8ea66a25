/**
 * What the client side measures while delivering: counts, latencies, the
 * store's peak occupancy, and a check of every result against its script.
 */
import * as hdr from 'hdr-histogram-js';
import type { BarrierStoreStats, DeliveryResult } from '../../src/index.js';
import type { Check } from './receiver.js';
import { predict, type EventScript, type WebhookEvent } from './scripts.js';

/** Live counts, for a progress display. */
export interface Progress {
  /** Events in the run. */
  readonly total: number;
  /** Events with a terminal result. */
  readonly done: number;
  readonly succeeded: number;
  readonly aborted: number;
  readonly filtered: number;
  /** Calls of `deliver` (HTTP requests sent). */
  readonly attempts: number;
  /** Attempts beyond each event's first. */
  readonly retries: number;
  /** Jobs in the store now: held + retrying + admitted. */
  readonly inStore: number;
}

/**
 * Latencies in ms, kept in an HDR histogram (hdr-histogram-js, its pure
 * JavaScript build): constant memory however long the run, percentiles to
 * three significant digits. Values are recorded in microseconds, since the
 * histogram counts integers and loopback requests take well under a
 * millisecond.
 */
export class LatencyHistogram {
  private readonly histogram = hdr.build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, autoResize: true, useWebAssembly: false });

  record(ms: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  /** How many values were recorded. */
  get count(): number {
    return this.histogram.totalCount;
  }

  /** The value below which `p` percent of the recorded values fall, in ms; 0 when empty. */
  percentile(p: number): number {
    return this.count === 0 ? 0 : this.histogram.getValueAtPercentile(p) / 1000;
  }

  /** The largest value recorded, in ms; 0 when empty. */
  get max(): number {
    return this.count === 0 ? 0 : this.histogram.maxValue / 1000;
  }
}

export class Metrics {
  succeeded = 0;
  aborted = 0;
  filtered = 0;
  attempts = 0;
  timeouts = 0;
  peakHeld = 0;
  peakInStore = 0;
  pressureEvents = 0;
  inStore = 0;
  /** First attempt → terminal result, per event, in ms. */
  readonly eventLatencies = new LatencyHistogram();
  /** One HTTP request that got an answer, sent → answer read, in ms (timeouts are counted apart). */
  readonly requestLatencies = new LatencyHistogram();
  private readonly firstAttemptAt = new Map<number, number>();
  private readonly resultSeen = new Set<number>();
  private readonly lastResultOf = new Map<string, number>();
  private readonly mismatches: string[] = [];
  private mismatchCount = 0;

  constructor(
    private readonly scripts: ReadonlyMap<number, EventScript>,
    private readonly maxAttempts: number,
  ) {}

  /** Samples the store's occupancy for the peaks. */
  sample(stats: BarrierStoreStats): void {
    this.inStore = stats.total;
    if (stats.held > this.peakHeld) this.peakHeld = stats.held;
    if (stats.total > this.peakInStore) this.peakInStore = stats.total;
  }

  attemptStarted(event: WebhookEvent, attempt: number, at: number): void {
    this.attempts++;
    if (attempt === 1) this.firstAttemptAt.set(event.id, at);
  }

  /** A request got its answer after `ms`, or timed out. */
  requestEnded(ms: number, timedOut: boolean): void {
    if (timedOut) this.timeouts++;
    else this.requestLatencies.record(ms);
  }

  /** Counts a terminal result and checks it: once per event, ascending per user, as its script predicts. */
  result(result: DeliveryResult<WebhookEvent>, at: number): void {
    this[result.state]++;
    const { jobId, key } = result;
    const first = this.firstAttemptAt.get(jobId);
    if (first !== undefined) this.eventLatencies.record(at - first);
    this.firstAttemptAt.delete(jobId);
    if (this.resultSeen.has(jobId)) this.mismatch(`event ${jobId} got a second result`);
    this.resultSeen.add(jobId);
    const last = this.lastResultOf.get(key) ?? 0;
    if (jobId <= last) this.mismatch(`${key} event ${jobId} finished after event ${last}`);
    else this.lastResultOf.set(key, jobId);
    const script = this.scripts.get(jobId);
    if (script === undefined) return this.mismatch(`a result for unknown event ${jobId}`);
    const expected = predict(script.steps, this.maxAttempts);
    if (result.state !== expected.state || result.attempts !== expected.attempts) {
      this.mismatch(
        `${key} event ${jobId} ${result.state} after ${result.attempts} attempt(s), ` +
          `its script ${JSON.stringify(script.steps)} predicts ${expected.state} after ${expected.attempts}`,
      );
    }
  }

  progress(total: number): Progress {
    const done = this.succeeded + this.aborted + this.filtered;
    return {
      total,
      done,
      succeeded: this.succeeded,
      aborted: this.aborted,
      filtered: this.filtered,
      attempts: this.attempts,
      retries: this.attempts - this.firstAttempts(),
      inStore: this.inStore,
    };
  }

  /** The client-side check of the results, once delivery has completed. */
  resultsCheck(): Check {
    const missing = [...this.scripts.keys()].filter((id) => !this.resultSeen.has(id));
    const examples = [...this.mismatches, ...missing.map((id) => `event ${id} got no result`)].slice(0, 5);
    const violations = this.mismatchCount + missing.length;
    const name = 'one result per event, ascending per user, as its script predicts';
    if (violations === 0) return { name, ok: true, detail: `${this.resultSeen.size} results` };
    const more = violations > examples.length ? `; and ${violations - examples.length} more` : '';
    return { name, ok: false, detail: `${violations} violation(s): ${examples.join('; ')}${more}` };
  }

  /** Events that had a first attempt (retries are the attempts beyond these). */
  private firstAttempts(): number {
    return this.firstAttemptAt.size + this.eventLatencies.count;
  }

  private mismatch(message: string): void {
    this.mismatchCount++;
    if (this.mismatches.length < 5) this.mismatches.push(message);
  }
}
