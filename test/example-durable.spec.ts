import { describe, expect, it } from 'vitest';
import { DURABLE_DEFAULTS } from '../examples/durable/options.js';
import { AtLeastOnceReceiver } from '../examples/durable/receiver.js';
import { ownershipSettled, runDurableWebhookDelivery, type DurableSummary } from '../examples/durable/run.js';
import { parseCommandLine, UsageError } from '../examples/webhook-delivery.js';
import { generateWorkload, predict, type EventScript } from '../examples/webhook/scripts.js';

describe('the durable webhook example (npm start -- --durable), end to end on a real PostgreSQL', () => {
  // 500 events; seed 7 at fail rate 0.3 gives retries, timeouts, exhausted attempts, 400s and 204s.
  const options = { users: 20, events: 25, seed: 7, failRate: 0.3, maxAttempts: 3, concurrency: 4, timeoutMs: 2_000, holdMs: 3_000 };
  const durable = { workers: 3, killOne: true, lease: 1_000 };
  const predicted = { succeeded: 0, aborted: 0, filtered: 0, attempts: 0 };
  for (const { steps } of generateWorkload(options).scripts.values()) {
    const prediction = predict(steps, options.maxAttempts);
    predicted[prediction.state]++;
    predicted.attempts += prediction.attempts;
  }
  let summary: DurableSummary;

  it('with 3 workers, one killed with SIGKILL mid-run, passes every check of the receiver and of the table', async () => {
    summary = await runDurableWebhookDelivery(options, durable);
    for (const check of summary.checks) expect(check, check.detail).toMatchObject({ ok: true });
    expect(summary.checks.map((check) => check.name)).toEqual([
      'accepted events arrived in ascending id order, per user',
      'nothing was delivered after its final outcome',
      'no event was delivered while an earlier event of its user was unfinished',
      'every script was consumed exactly, attempt by attempt',
      "every repeat is of its event's latest attempt, before any later event of its user, at most one per takeover",
      'one result per event from the workers, as its script predicts',
      'every row of the table is terminal',
      "every row's state and attempts are as scripted, attempts plus at most one per takeover",
      'every worker ended as planned: the killed one by SIGKILL, the others by close()',
      "the killed worker's partitions were taken over",
    ]);
    expect(summary.ok).toBe(true);
    // About 15 s on an idle 2-core machine; room for a loaded one.
  }, 120_000);

  it('ends with the states the scripts predict, in the table', () => {
    expect(summary.events).toBe(500);
    expect({ succeeded: summary.succeeded, aborted: summary.aborted, filtered: summary.filtered }).toEqual({
      succeeded: predicted.succeeded,
      aborted: predicted.aborted,
      filtered: predicted.filtered,
    });
    expect(summary.expected).toEqual(predicted);
    // Attempts survive the kill: the table counts each scripted attempt once, plus at most one per takeover.
    expect(summary.attempts).toBeGreaterThanOrEqual(predicted.attempts);
    expect(summary.attempts).toBeLessThanOrEqual(predicted.attempts + summary.receiver.repeats);
  });

  it('kills one worker a third of the way through and measures the takeover, which waits the lease', () => {
    const killed = summary.workers.filter((worker) => worker.killed);
    expect(killed).toHaveLength(1);
    expect(killed[0]!.exit).toBe('SIGKILL');
    expect(summary.workers.filter((worker) => !worker.killed).map((worker) => worker.exit)).toEqual(['exit 0', 'exit 0']);
    const takeover = summary.takeover!;
    expect(takeover.worker).toBe(killed[0]!.id);
    expect(takeover.atEvents).toBeGreaterThanOrEqual(Math.ceil(500 / 3));
    expect(takeover.atEvents).toBeLessThan(500);
    expect(takeover.partitions).toBeGreaterThan(0);
    expect(takeover.reownedMs).not.toBeNull();
    // A partition taken from a dead owner is delivered from only after `lease` (clocks of two processes: 50 ms slack).
    if (takeover.firstDeliveryMs !== null) expect(takeover.firstDeliveryMs).toBeGreaterThanOrEqual(durable.lease - 50);
  });
});

describe('when the durable example kills a worker: once ownership is settled', () => {
  const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

  it('is settled when each partition is announced once and nobody is over its fair share', () => {
    expect(ownershipSettled([range(0, 22), range(22, 43), range(43, 64)], 64)).toBe(true);
  });

  it('is not settled while a hand-over is under way: the giver has not yet announced the partition it released', () => {
    // Partition 21 went from the first worker to the third; the first's new list is still on its way.
    expect(ownershipSettled([range(0, 22), range(22, 43), [21, ...range(43, 64)]], 64)).toBe(false);
  });

  it('is not settled while a worker is over its fair share (it is about to release some) or a partition has no owner', () => {
    expect(ownershipSettled([range(0, 30), range(30, 50), range(50, 64)], 64)).toBe(false);
    expect(ownershipSettled([range(0, 22), range(22, 43), range(43, 63)], 64)).toBe(false);
  });
});

describe('the --durable flags', () => {
  it('--durable --workers 3 --kill-one asks for 3 workers and a kill, with the default lease', () => {
    const command = parseCommandLine(['--durable', '--workers', '3', '--kill-one']);
    expect(command).toMatchObject({ help: false, durable: { workers: 3, killOne: true, lease: DURABLE_DEFAULTS.lease } });
  });

  it('--durable alone runs the default number of workers and kills none', () => {
    expect(parseCommandLine(['--durable'])).toMatchObject({ durable: { workers: DURABLE_DEFAULTS.workers, killOne: false } });
  });

  it('without --durable the run is the in-memory one', () => {
    expect(parseCommandLine([])).not.toHaveProperty('durable');
  });

  it.each([
    [['--workers', '2'], '--workers and --kill-one need --durable'],
    [['--kill-one'], '--workers and --kill-one need --durable'],
    [['--durable', '--workers', '1', '--kill-one'], '--kill-one needs at least 2 workers'],
    [['--durable', '--workers', '0'], '--workers must be an integer from 1 to 16, got 0'],
    [['--durable', '--workers', 'many'], '--workers must be a whole number written in digits, got "many"'],
  ])('rejects %j naming the flag', (args, message) => {
    expect(() => parseCommandLine(args)).toThrow(UsageError);
    expect(() => parseCommandLine(args)).toThrow(message);
  });
});

describe('the at-least-once receiver of the durable example', () => {
  // user-1: event 1 fails once then succeeds; event 2 succeeds.
  const scripts = new Map<number, EventScript>([
    [1, { userId: 'user-1', id: 1, steps: [500, 200] }],
    [2, { userId: 'user-1', id: 2, steps: [200] }],
  ]);

  /** Sends the attempts in order; returns the statuses and the report for `takeovers`. */
  async function receive(attempts: readonly (readonly [number, number])[], takeovers: number) {
    const receiver = await AtLeastOnceReceiver.start({ scripts, maxAttempts: 3, holdMs: 1_000 });
    try {
      const statuses: number[] = [];
      for (const [id, attempt] of attempts) {
        const response = await fetch(receiver.url, { method: 'POST', body: JSON.stringify({ userId: 'user-1', id, attempt }) });
        statuses.push(response.status);
      }
      const report = receiver.report(takeovers);
      return { statuses, report, failed: report.checks.filter((check) => !check.ok).map((check) => check.detail) };
    } finally {
      await receiver.close();
    }
  }

  it('answers a repeated attempt as it answered it the first time, and accepts repeats a takeover explains', async () => {
    const { statuses, report, failed } = await receive([[1, 1], [1, 1], [1, 2], [2, 1], [2, 1]], 1);
    expect(statuses).toEqual([500, 500, 200, 200, 200]);
    expect(failed).toEqual([]);
    expect(report).toMatchObject({ requests: 5, accepted: 2, repeats: 2 });
  });

  it('reports a repeat of an attempt older than the latest', async () => {
    const { failed } = await receive([[1, 1], [1, 2], [1, 1], [2, 1]], 1);
    expect(failed).toEqual([expect.stringContaining('user-1 event 1 attempt 1 repeated after attempt 2')]);
  });

  it('reports a repeat that comes after a later event of its user', async () => {
    const { failed } = await receive([[1, 1], [1, 2], [2, 1], [1, 2]], 1);
    expect(failed).toEqual([expect.stringContaining('user-1 event 1 attempt 2 repeated after event 2 of its user')]);
  });

  it('reports more repeats of an event than there were takeovers', async () => {
    const twice: (readonly [number, number])[] = [[1, 1], [1, 2], [1, 2], [1, 2], [2, 1]];
    expect((await receive(twice, 2)).failed).toEqual([]);
    expect((await receive(twice, 1)).failed).toEqual([expect.stringContaining('event 1 was repeated 2 time(s) in 1 takeover(s)')]);
    expect((await receive([[1, 1], [1, 1], [1, 2], [2, 1]], 0)).failed).toEqual([expect.stringContaining('in 0 takeover(s)')]);
  });

  it('still reports an attempt never sent and a new attempt after the final one', async () => {
    expect((await receive([[1, 1], [2, 1]], 1)).failed).toEqual([
      expect.stringContaining('event 2 (attempt 1) arrived while event 1 was unfinished'),
      expect.stringContaining('user-1 event 1 got 1 of its 2 attempts'),
    ]);
    expect((await receive([[1, 1], [1, 2], [1, 3], [2, 1]], 0)).failed).toEqual([expect.stringContaining('arrived as attempt 3; its script allows 2')]);
  });
});
