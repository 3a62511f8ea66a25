/** The durable run's summary as a table for people (`--json` prints the DurableSummary object instead). */
import { count, ms } from '../webhook/report.js';
import type { DurableSummary } from './run.js';

/** Renders the summary: the figures, the workers, the takeover, one line per check, the verdict. */
export function formatDurableSummary(summary: DurableSummary): string {
  const { options: o, durable: d, expected, takeover } = summary;
  const versus = (actual: number, predicted: number): string =>
    actual === predicted ? `${count(actual)}` : `${count(actual)}  (scripts predict ${count(predicted)})`;
  const rows: [string, string][] = [
    ['events', `${count(summary.events)}  (${count(o.users)} users × ${count(o.events)})`],
    ['succeeded', versus(summary.succeeded, expected.succeeded)],
    ['aborted', versus(summary.aborted, expected.aborted)],
    ['filtered', versus(summary.filtered, expected.filtered)],
    ['attempts', `${versus(summary.attempts, expected.attempts)}  (the table's attempts column)`],
    ['duration', `${ms(summary.durationMs)}  (first attempt → last outcome committed)`],
    ['throughput', `${count(Math.round(summary.throughput))} events/s`],
    ['receiver', `${count(summary.receiver.requests)} requests, ${count(summary.receiver.accepted)} accepted (2xx), ${count(summary.receiver.repeats)} repeated`],
    ['unanswered', `${count(summary.unanswered.timeouts)} timed out (${count(summary.unanswered.unscripted)} not scripted to), ${count(summary.unanswered.cancelled)} cancelled by a lost partition`],
    ...summary.workers.map((w): [string, string] => [
      w.id,
      `${count(w.attempts)} attempts, ${count(w.results)} results${w.killed ? ', killed with SIGKILL' : ''} (${w.exit})`,
    ]),
  ];
  if (takeover !== null) {
    const reowned = takeover.reownedMs === null ? 'not all owned again' : `owned by the others after ${ms(takeover.reownedMs)}`;
    const first = takeover.firstDeliveryMs === null ? 'nothing was left in them' : `first delivery from them after ${ms(takeover.firstDeliveryMs)}`;
    rows.push(['takeover', `${takeover.worker} killed at ${count(takeover.atEvents)} events; its ${count(takeover.partitions)} partitions ${reowned}, ${first} (lease ${ms(d.lease)})`]);
  }
  if (summary.leaseLosses > 0) {
    rows.push(['lease lost', `${count(summary.leaseLosses)}×: a worker's heartbeat was late by more than the lease (${ms(d.lease)}), so it stopped and the others took its partitions over`]);
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = [
    `durable webhook delivery: ${d.workers} worker process${d.workers === 1 ? '' : 'es'}${d.killOne ? ', one killed mid-run' : ''}, PostgreSQL ${summary.database === 'embedded' ? '(embedded)' : 'at DATABASE_URL'}`,
    `concurrency ${o.concurrency} per worker, max attempts ${o.maxAttempts}, fail rate ${o.failRate}, seed ${o.seed}, timeout ${o.timeoutMs} ms`,
    '',
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    '',
    'verification',
    ...summary.checks.map((check) => `  ${check.ok ? 'PASS' : 'FAIL'}  ${check.name}: ${check.detail}`),
    ...(summary.unanswered.unscripted > 0
      ? [
          '',
          `note: ${count(summary.unanswered.unscripted)} request(s) timed out that the scripts answer in time: the machine was too busy`,
          `for a ${o.timeoutMs} ms timeout, and such an attempt counts as failed though the receiver took it. Try a larger --timeout.`,
        ]
      : []),
    '',
    summary.ok ? 'all checks passed' : `${summary.checks.filter((check) => !check.ok).length} check(s) FAILED`,
  ];
  return lines.join('\n');
}
