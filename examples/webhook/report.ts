/** The summary as a table for people (`--json` prints the Summary object instead). */
import type { Summary } from './run.js';

/** A count with thousands separators. */
export const count = (value: number): string => value.toLocaleString('en-US');
/** Milliseconds, one decimal at most. */
export const ms = (value: number): string => `${value.toLocaleString('en-US', { maximumFractionDigits: 1 })} ms`;

/** Renders the summary: the figures, then one line per check, then the verdict. */
export function formatSummary(summary: Summary): string {
  const { options: o, expected, latencyMs: latency, store } = summary;
  const versus = (actual: number, predicted: number): string =>
    actual === predicted ? `${count(actual)}` : `${count(actual)}  (scripts predict ${count(predicted)})`;
  const rows: [string, string][] = [
    ['events', `${count(summary.events)}  (${count(o.users)} users × ${count(o.events)})`],
    ['succeeded', versus(summary.succeeded, expected.succeeded)],
    ['aborted', versus(summary.aborted, expected.aborted)],
    ['filtered', versus(summary.filtered, expected.filtered)],
    ['attempts', versus(summary.attempts, expected.attempts)],
    ['retries', count(summary.retries)],
    ['timeouts', versus(summary.timeouts, expected.timeouts)],
    ['duration', ms(summary.durationMs)],
    ['throughput', `${count(Math.round(summary.throughput))} events/s`],
    ['event latency', `p50 ${ms(latency.eventP50)}, p99 ${ms(latency.eventP99)}  (first attempt → final outcome)`],
    ['request latency', `p50 ${ms(latency.requestP50)}, p99 ${ms(latency.requestP99)}, max ${ms(latency.requestMax)}  (one answered HTTP request)`],
    ['peak held jobs', `${count(store.peakHeld)} held; ${count(store.peakInStore)} in the store (high-water mark ${count(store.highWaterMark)}, reached ${count(store.pressureEvents)}×)`],
    ['receiver', `${count(summary.receiver.requests)} requests, ${count(summary.receiver.accepted)} accepted (2xx)`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = [
    `webhook delivery: concurrency ${o.concurrency}, max attempts ${o.maxAttempts}, fail rate ${o.failRate}, seed ${o.seed}, timeout ${o.timeoutMs} ms`,
    '',
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    '',
    'verification',
    ...summary.checks.map((check) => `  ${check.ok ? 'PASS' : 'FAIL'}  ${check.name}: ${check.detail}`),
    ...(summary.timeouts > expected.timeouts
      ? [
          '',
          `note: ${count(summary.timeouts - expected.timeouts)} request(s) timed out that the scripts answer in time: the machine was too busy`,
          `for a ${o.timeoutMs} ms timeout. Such a request may still reach the receiver after the client gave up and retried,`,
          `which the receiver rightly reports as a duplicate delivery. Try a larger --timeout or a lower --concurrency.`,
        ]
      : []),
    '',
    summary.ok ? 'all checks passed' : `${summary.checks.filter((check) => !check.ok).length} check(s) FAILED`,
  ];
  return lines.join('\n');
}
